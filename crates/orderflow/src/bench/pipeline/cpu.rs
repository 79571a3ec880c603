//! Where the machine's CPU went during a run: the pipeline's process, the brokers (when
//! their pids are given), the bench itself (load generator and watcher), and every
//! other process, from Linux's `/proc/<pid>/stat` and `/proc/stat` read before and
//! after. Elsewhere nothing is measured.

use std::time::{Duration, Instant};

/// Linux fixes user-space clock ticks (`USER_HZ`) at 100 per second.
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU ticks used so far: by the machine (all cores), and by each process watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticks {
    /// Busy ticks of all cores together: everything but idle and I/O wait.
    pub machine: u64,
    pub pipeline: u64,
    /// The brokers' together, when their pids were given.
    pub brokers: Option<u64>,
    pub bench: u64,
}

/// One reading, with the time it was taken.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    at: Instant,
    ticks: Option<Ticks>,
}

/// Reads the ticks now; `pipeline` is the child's pid.
pub fn sample(pipeline: Option<u32>, brokers: &[u32]) -> Sample {
    let ticks = (|| {
        let process = |pid: &str| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| process_ticks(&s))
        };
        let brokers = if brokers.is_empty() {
            None
        } else {
            // A broker that has stopped counts nothing rather than hiding the others.
            Some(brokers.iter().filter_map(|p| process(&p.to_string())).sum())
        };
        Some(Ticks {
            machine: machine_busy(&std::fs::read_to_string("/proc/stat").ok()?)?,
            pipeline: process(&pipeline?.to_string())?,
            brokers,
            bench: process("self")?,
        })
    })();
    Sample {
        at: Instant::now(),
        ticks,
    }
}

/// Cores used on average (CPU seconds per second) between two readings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Split {
    pub pipeline: f64,
    pub brokers: Option<f64>,
    pub bench: f64,
    /// The machine's busy time minus the processes above: with no broker pids given,
    /// the brokers are in here with everything else that ran.
    pub other: f64,
    /// The pipeline's CPU per order.
    pub pipeline_per_order: Duration,
}

/// What was used between `before` and `after`, `orders` having gone through.
pub fn split(before: &Sample, after: &Sample, orders: usize) -> Option<Split> {
    let seconds = after.at.duration_since(before.at).as_secs_f64();
    split_ticks(before.ticks?, after.ticks?, seconds, orders)
}

fn split_ticks(before: Ticks, after: Ticks, seconds: f64, orders: usize) -> Option<Split> {
    if seconds <= 0.0 {
        return None;
    }
    let used = |a: u64, b: u64| b.saturating_sub(a);
    let machine = used(before.machine, after.machine);
    let pipeline = used(before.pipeline, after.pipeline);
    let bench = used(before.bench, after.bench);
    let brokers = match (before.brokers, after.brokers) {
        (Some(a), Some(b)) => Some(used(a, b)),
        _ => None,
    };
    let other = machine.saturating_sub(pipeline + bench + brokers.unwrap_or(0));
    let cores = |ticks: u64| ticks as f64 / TICKS_PER_SECOND / seconds;
    Some(Split {
        pipeline: cores(pipeline),
        brokers: brokers.map(cores),
        bench: cores(bench),
        other: cores(other),
        pipeline_per_order: Duration::from_secs_f64(
            pipeline as f64 / TICKS_PER_SECOND / orders.max(1) as f64,
        ),
    })
}

/// Busy ticks of all cores from `/proc/stat`'s `cpu` line: user, nice, system, irq,
/// softirq and steal (guest time is already inside user and nice; idle and iowait are
/// not busy).
fn machine_busy(stat: &str) -> Option<u64> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let field = |i: usize| fields.get(i).copied().unwrap_or(0);
    // user nice system idle iowait irq softirq steal
    fields.get(3)?;
    Some(field(0) + field(1) + field(2) + field(5) + field(6) + field(7))
}

/// utime + stime from a `/proc/<pid>/stat` line: the 14th and 15th fields, counted
/// after the command name, which is in parentheses and may hold spaces or `)`.
pub fn process_ticks(stat: &str) -> Option<u64> {
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_machine_is_busy_in_everything_but_idle_and_iowait() -> Result<(), String> {
        let stat = "cpu  1000 20 300 9000 400 5 6 7 50 0\ncpu0 500 10 150 4500 200 2 3 3 25 0\n";
        match machine_busy(stat) {
            Some(1338) => Ok(()),
            other => Err(format!("busy ticks {other:?}, not 1000+20+300+5+6+7")),
        }
    }

    #[test]
    fn a_stat_without_a_cpu_line_gives_nothing() -> Result<(), String> {
        match (machine_busy("intr 1 2 3\n"), machine_busy("cpu  1 2\n")) {
            (None, None) => Ok(()),
            other => Err(format!("read {other:?}")),
        }
    }

    #[test]
    fn process_ticks_are_user_plus_system_time_even_with_a_tricky_command_name()
    -> Result<(), String> {
        let stat = "4048 (of (x) y) S 4033 4048 4033 0 -1 4194560 9121 0 0 0 731 212 0 0 20 0 \
                    41 0 7765 1709826048 6170 18446744073709551615";
        match (process_ticks(stat), process_ticks("garbage")) {
            (Some(943), None) => Ok(()),
            other => Err(format!("read {other:?}")),
        }
    }

    fn ticks(machine: u64, pipeline: u64, brokers: Option<u64>, bench: u64) -> Ticks {
        Ticks {
            machine,
            pipeline,
            brokers,
            bench,
        }
    }

    #[test]
    fn the_rest_of_the_machine_is_its_busy_time_minus_the_processes_watched() -> Result<(), String>
    {
        // 10 s: the machine busy 15 core-seconds, the pipeline 8, the brokers 4, the
        // bench 1, so 2 went to other processes; 500 orders at 16 ms of pipeline CPU.
        let split = split_ticks(
            ticks(1000, 100, Some(50), 10),
            ticks(2500, 900, Some(450), 110),
            10.0,
            500,
        );
        let expected = Split {
            pipeline: 0.8,
            brokers: Some(0.4),
            bench: 0.1,
            other: 0.2,
            pipeline_per_order: Duration::from_millis(16),
        };
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        match split {
            Some(s)
                if close(s.pipeline, expected.pipeline)
                    && s.brokers
                        .zip(expected.brokers)
                        .is_some_and(|(a, b)| close(a, b))
                    && close(s.bench, expected.bench)
                    && close(s.other, expected.other)
                    && s.pipeline_per_order == expected.pipeline_per_order =>
            {
                Ok(())
            }
            other => Err(format!("{other:?}, expected {expected:?}")),
        }
    }

    #[test]
    fn without_broker_pids_the_brokers_count_among_the_other_processes() -> Result<(), String> {
        let split = split_ticks(
            ticks(1000, 100, None, 10),
            ticks(2500, 900, None, 110),
            10.0,
            500,
        );
        match split {
            Some(s) if s.brokers.is_none() && (s.other - 0.6).abs() < 1e-9 => Ok(()),
            other => Err(format!("{other:?}")),
        }
    }
}
