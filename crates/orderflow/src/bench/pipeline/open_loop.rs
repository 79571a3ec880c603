//! An open-loop load generator: requests go out on a fixed schedule whatever the
//! system answers, and each latency counts from the request's *intended* send time.
//! A closed loop (send, wait for the answer, send the next) stops sending while the
//! system stalls, so a stall of one second shows up as one slow request instead of
//! every request that should have gone out during it ("coordinated omission"); a
//! generator that falls behind its own schedule would hide it the same way.

use std::future::Future;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::task::JoinSet;

/// When each of `count` requests at `rate` per second is meant to go out, from the
/// start of the run.
pub fn schedule(rate: f64, count: usize) -> Vec<Duration> {
    (0..count)
        .map(|i| Duration::from_secs_f64(i as f64 / rate))
        .collect()
}

/// Starts `send(i, intended)` at `start + schedule[i]` for every `i`, without waiting
/// for any earlier send to finish (if this task is late, the late ones go out at once,
/// and their latency still counts from `intended`). Hands back the sends, running.
pub async fn fire<T, F, Fut>(start: Instant, schedule: &[Duration], mut send: F) -> JoinSet<T>
where
    F: FnMut(usize, Instant) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let mut sends = JoinSet::new();
    for (i, offset) in schedule.iter().enumerate() {
        let intended = start + *offset;
        tokio::time::sleep_until(intended.into()).await;
        sends.spawn(send(i, intended));
    }
    sends
}

/// One request's times, from the start of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    /// When the schedule meant it to go out.
    pub intended: Duration,
    /// When it went out (later than `intended` when the generator fell behind).
    pub sent: Duration,
    /// When the client had the answer it waited for.
    pub done: Duration,
}

impl Answer {
    /// From the intended send to the answer: a request that went out late (because
    /// the generator, its machine or its connections stalled) counts its wait.
    pub fn latency(&self) -> Duration {
        self.done.saturating_sub(self.intended)
    }

    /// How far behind its schedule it went out.
    pub fn behind(&self) -> Duration {
        self.sent.saturating_sub(self.intended)
    }
}

/// Latencies in microseconds, from 1 µs to an hour at 3 significant digits.
#[derive(Debug, Clone)]
pub struct Latencies {
    histogram: Histogram<u64>,
}

impl Default for Latencies {
    fn default() -> Self {
        Self {
            histogram: Histogram::new_with_bounds(1, 3_600_000_000, 3)
                .expect("valid histogram bounds"),
        }
    }
}

impl Latencies {
    /// Records an answer's latency, from its intended send.
    pub fn record(&mut self, answer: &Answer) {
        self.record_duration(answer.latency());
    }

    /// Records a latency measured some other way (such as one GET's round trip).
    pub fn record_duration(&mut self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.histogram.saturating_record(micros.max(1));
    }

    pub fn count(&self) -> u64 {
        self.histogram.len()
    }

    /// The latency at quantile `q` (0.5 for the median).
    pub fn at(&self, q: f64) -> Duration {
        Duration::from_micros(self.histogram.value_at_quantile(q))
    }

    pub fn max(&self) -> Duration {
        Duration::from_micros(self.histogram.max())
    }

    /// How many latencies were at least `bound`.
    pub fn at_least(&self, bound: Duration) -> u64 {
        let micros = u64::try_from(bound.as_micros()).unwrap_or(u64::MAX);
        self.histogram.len() - self.histogram.count_between(0, micros.saturating_sub(1))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    #[test]
    fn a_schedule_spaces_n_sends_one_interval_apart_from_zero() -> Result<(), String> {
        let sends = schedule(200.0, 5);
        if sends != [ms(0), ms(5), ms(10), ms(15), ms(20)] {
            return Err(format!("5 sends at 200/s: {sends:?}"));
        }
        let second = schedule(100.0, 1000);
        match second.last() {
            Some(last) if last.as_secs_f64() == 9.99 => Ok(()),
            last => Err(format!("the 1000th send at 100/s goes out at {last:?}")),
        }
    }

    /// A machine that answers in 1 ms but stalls, load generator and system alike,
    /// from `stall_from` to `stall_until`: what is due meanwhile goes out at the end of
    /// the stall and is answered 1 ms later.
    fn stalled(intended: Duration, stall_from: Duration, stall_until: Duration) -> Answer {
        let sent = if (stall_from..stall_until).contains(&intended) {
            stall_until
        } else {
            intended
        };
        Answer {
            intended,
            sent,
            done: sent + ms(1),
        }
    }

    #[test]
    fn a_one_second_stall_at_100_per_second_shows_up_as_100_latencies_up_to_a_second()
    -> Result<(), String> {
        let mut latencies = Latencies::default();
        for intended in schedule(100.0, 300) {
            latencies.record(&stalled(intended, ms(1000), ms(2000)));
        }
        let slow = latencies.at_least(ms(5));
        let over_half_a_second = latencies.at_least(ms(500));
        let max = latencies.max();
        // The stall's 100 requests wait 1001, 991, … 11 ms, spread evenly up to 1 s:
        // 51 of them (1001 down to 501 ms) half a second or more.
        if latencies.count() != 300 || slow != 100 || over_half_a_second != 51 {
            return Err(format!(
                "{} latencies, {slow} of 5 ms or more, {over_half_a_second} of 500 ms or more",
                latencies.count()
            ));
        }
        if !(ms(1000)..ms(1002)).contains(&max) {
            return Err(format!("the longest wait was {max:?}"));
        }
        let p99 = latencies.at(0.99);
        if p99 < ms(900) {
            return Err(format!(
                "a third of the requests waited through the stall, yet p99 is {p99:?}"
            ));
        }
        Ok(())
    }

    #[test]
    fn a_latency_counts_from_the_intended_send_not_from_a_late_one() -> Result<(), String> {
        // Meant to go out at 100 ms, sent late at 400 ms, answered at 401 ms.
        let late = Answer {
            intended: ms(100),
            sent: ms(400),
            done: ms(401),
        };
        let mut latencies = Latencies::default();
        latencies.record(&late);
        match (late.behind(), latencies.max()) {
            (behind, max) if behind == ms(300) && (ms(300)..ms(302)).contains(&max) => Ok(()),
            (behind, max) => Err(format!(
                "recorded {max:?} ({behind:?} behind), not the 301 ms since it was due"
            )),
        }
    }

    // Paused time: the schedule's sleeps and the guard's timeout pass at once when
    // nothing else can run, so the test is as fast, and as sure, on a loaded machine.
    #[tokio::test(start_paused = true)]
    async fn every_send_goes_out_before_any_answer_comes_back() -> Result<(), String> {
        const SENDS: usize = 20;
        let started = Arc::new(AtomicUsize::new(0));
        let (all_started, watch) = tokio::sync::watch::channel(false);
        let sends = fire(Instant::now(), &schedule(10_000.0, SENDS), |_, _| {
            let started = started.clone();
            let all_started = all_started.clone();
            let mut watch = watch.clone();
            async move {
                if started.fetch_add(1, Ordering::SeqCst) + 1 == SENDS {
                    all_started.send_replace(true);
                }
                // The answer comes only once every request went out: a generator that
                // waited for answers would wait here until the guard gives up.
                let waited =
                    tokio::time::timeout(Duration::from_secs(10), watch.wait_for(|all| *all));
                waited.await.is_ok_and(|seen| seen.is_ok())
            }
        })
        .await;
        let answers = sends.join_all().await;
        match answers.iter().filter(|answered| **answered).count() {
            SENDS => Ok(()),
            n => Err(format!(
                "only {n} of {SENDS} sends were answered: the generator waited for answers"
            )),
        }
    }
}
