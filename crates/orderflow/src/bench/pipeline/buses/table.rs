//! The bus comparison's lines: one table row per bus and rate, the target at its rate,
//! and each hop's time next to the embedded bus's.

use std::time::Duration;

use super::{Bus, Row, Sustained};
use crate::bench::BenchArgs;
use crate::bench::pipeline::cpu::Split;
use crate::bench::pipeline::hops::Hops;
use crate::bench::pipeline::open_loop::Latencies;

/// The Kafka latency target: p99 accepted → shipped within the producer's `linger.ms`
/// plus this of the embedded bus's, at [`TARGET_RATE`].
const TARGET_EXTRA_MS: f64 = 15.0;
const TARGET_RATE: u64 = 500;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub fn header(args: &BenchArgs, url: &str, linger_ms: f64) -> anyhow::Result<()> {
    out!(
        "\nbus comparison: the whole pipeline on the embedded bus, then on Kafka ({url}, \
         linger.ms {linger_ms}), each after {} orders of sustained load; then an open loop \
         of {} s at each of {:?} orders/s, time-ordered ids; latency from each order's 202 \
         to the GET that saw SHIPPED (every {} ms or less often); each child's data dir \
         is under the pipeline runs' directory above, the brokers' files where their \
         cluster keeps them",
        args.orders,
        args.latency_seconds,
        args.rates,
        args.poll_ms
    );
    Ok(())
}

/// A line as each run ends, for whoever watches a long bench.
pub fn progress(row: &Row) -> anyhow::Result<()> {
    out!(
        "  done: {} at {}/s, p99 {:.1} ms",
        row.bus.name(),
        row.rate,
        ms(row.run.since_accepted.at(0.99))
    );
    Ok(())
}

/// The cores each part of the machine used, or why not.
fn cpu(split: Option<&Split>) -> String {
    match split {
        Some(s) => format!(
            "{:>8.2} {:>8} {:>6.2} {:>6.2} {:>10.2}",
            s.pipeline,
            s.brokers.map_or("-".to_owned(), |b| format!("{b:.2}")),
            s.bench,
            s.other,
            ms(s.pipeline_per_order)
        ),
        None => "(no /proc: not measured)".to_owned(),
    }
}

/// How far Kafka's p99 is above the embedded bus's, and whether that meets the target.
pub fn target(embedded_p99: Duration, kafka_p99: Duration, linger_ms: f64) -> (f64, bool) {
    let extra = ms(kafka_p99) - ms(embedded_p99);
    (extra, extra <= linger_ms + TARGET_EXTRA_MS)
}

pub fn print(sustained: &[Sustained], rows: &[Row], linger_ms: f64) -> anyhow::Result<()> {
    for s in sustained {
        out!(
            "  sustained, clock at all work done: {:<8} {:>6.0} orders/s",
            s.bus.name(),
            s.orders_per_second
        );
    }
    out!(
        "  {:>5} {:<8} {:>10} {:>9} | accepted -> shipped, ms: {:>7} {:>7} {:>7} {:>7} | cores: {:>8} {:>8} {:>6} {:>6} | {:>10}",
        "rate",
        "bus",
        "accepted/s",
        "shipped/s",
        "p50",
        "p99",
        "p99.9",
        "max",
        "pipeline",
        "brokers",
        "bench",
        "other",
        "CPU/order"
    );
    for row in rows {
        let l = &row.run.since_accepted;
        out!(
            "  {:>5} {:<8} {:>10.1} {:>9.1} |                          {:>7.1} {:>7.1} {:>7.1} {:>7.1} |        {} ms",
            row.rate,
            row.bus.name(),
            row.run.accepted_rate,
            row.run.achieved,
            ms(l.at(0.5)),
            ms(l.at(0.99)),
            ms(l.at(0.999)),
            ms(l.max()),
            cpu(row.cpu.as_ref())
        );
    }
    out!(
        "  (cores: CPU seconds per second during the open loop, of {} on this machine; \
         pipeline = the orderflow child; brokers = the --broker-pids; bench = this load \
         generator and watcher; other = the machine's busy time minus those{})",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        if rows
            .iter()
            .any(|r| r.cpu.is_some_and(|c| c.brokers.is_none()))
        {
            ", which holds the brokers when no --broker-pids are given"
        } else {
            ""
        }
    );
    let at = |rate: u64, bus: Bus| rows.iter().find(|r| r.rate == rate && r.bus == bus);
    if let (Some(e), Some(k)) = (at(TARGET_RATE, Bus::Embedded), at(TARGET_RATE, Bus::Kafka)) {
        let p99 = |r: &Row| r.run.since_accepted.at(0.99);
        let (extra, met) = target(p99(e), p99(k), linger_ms);
        out!(
            "  target at {TARGET_RATE}/s: Kafka's p99 within linger.ms {linger_ms} + {TARGET_EXTRA_MS} ms \
             of the embedded bus's: {:.1} against {:.1} ms, {extra:+.1} ms: {}",
            ms(p99(k)),
            ms(p99(e)),
            if met { "met" } else { "NOT met" }
        );
    }
    // Each bus ran every rate in the order given: the embedded rows give it once.
    let rates = rows
        .iter()
        .filter(|r| r.bus == Bus::Embedded)
        .map(|r| r.rate);
    for rate in rates {
        if let (Some(e), Some(k)) = (at(rate, Bus::Embedded), at(rate, Bus::Kafka)) {
            hops(rate, &e.hops, &k.hops)?;
        }
    }
    Ok(())
}

/// p50 and p99 in ms.
fn pair(l: &Latencies) -> String {
    format!("{:>6.1} {:>6.1}", ms(l.at(0.5)), ms(l.at(0.99)))
}

fn hops(rate: u64, embedded: &Hops, kafka: &Hops) -> anyhow::Result<()> {
    out!(
        "  hops at {rate}/s (store clock, cause recorded -> effect recorded; {} and {} orders' histories), ms: embedded p50 p99 | kafka p50 p99",
        embedded.orders,
        kafka.orders
    );
    for (name, k) in &kafka.hops {
        let e = embedded.hops.iter().find(|(n, _)| n == name);
        out!(
            "    {name:<44} {} | {}",
            e.map_or(format!("{:>13}", "-"), |(_, e)| pair(e)),
            pair(k)
        );
    }
    out!(
        "    {:<44} {} | {}",
        "the whole chain",
        pair(&embedded.total),
        pair(&kafka.total)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_meets_the_target_up_to_linger_plus_15_ms_above_the_embedded_bus() -> Result<(), String>
    {
        let ms = Duration::from_millis;
        let cases = [
            (ms(40), ms(55), 0.0, true),
            (ms(40), ms(56), 0.0, false),
            (ms(40), ms(60), 5.0, true),
            (ms(40), ms(30), 0.0, true),
        ];
        for (embedded, kafka, linger, met) in cases {
            let (extra, judged) = target(embedded, kafka, linger);
            if judged != met {
                return Err(format!(
                    "embedded {embedded:?}, kafka {kafka:?}, linger {linger}: {extra:+} ms judged {judged}"
                ));
            }
        }
        Ok(())
    }
}
