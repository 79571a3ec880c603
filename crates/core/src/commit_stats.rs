//! What a group-commit writer counts about its own commits: how many groups it
//! committed, how many writes (append calls) they carried, and how long each commit took.
//!
//! Atomics only: a writer pays a few relaxed additions per group, and anyone may read a
//! [`GroupCommitStats`] snapshot at any time. The fields are named as the Prometheus
//! metrics they will feed (under a prefix such as `orderflow_event_store_`):
//!
//! - `group_commits_total` (counter): groups whose commit was attempted, failed ones
//!   included; `group_commit_failures_total` (counter) counts the failed ones;
//! - `group_commit_writes_total` (counter): writes in those groups, so
//!   `writes / commits` is the mean group size;
//! - `group_commit_seconds` (histogram, buckets [`COMMIT_SECONDS_BUCKETS`]): from
//!   beginning the group's transaction to its commit returning.
//!
//! A snapshot taken while a group is being recorded may count it in some fields and not
//! yet in others; a snapshot taken while the writer is idle is exact.
//!
//! Each group is also recorded through the `metrics` facade (a no-op without a
//! recorder), as [`GROUP_COMMIT_WRITES`] and [`GROUP_COMMIT_SECONDS`] histograms and the
//! [`GROUP_COMMIT_FAILURES`] counter, which the binary serves at `/metrics`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the commit-time histogram's buckets, as Prometheus `le`
/// labels; a last, unbounded bucket holds the rest.
pub const COMMIT_SECONDS_BUCKETS: [f64; 16] = [
    0.000_05, 0.000_1, 0.000_2, 0.000_5, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0,
    2.0, 5.0,
];

/// Histogram: writes per group committed (appends, and whatever else the writer
/// carries).
pub const GROUP_COMMIT_WRITES: &str = "orderflow_event_store_group_commit_writes";
/// Histogram: seconds from beginning a group's transaction to its commit returning.
pub const GROUP_COMMIT_SECONDS: &str = "orderflow_event_store_group_commit_seconds";
/// Counter: groups whose commit failed.
pub const GROUP_COMMIT_FAILURES: &str = "orderflow_event_store_group_commit_failures_total";

/// Upper bounds of the group-size histogram's buckets (writes per group).
pub const GROUP_WRITES_BUCKETS: [f64; 11] = [
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
];

const BUCKETS: usize = COMMIT_SECONDS_BUCKETS.len() + 1;

/// The live counters, kept by the writer.
#[derive(Debug, Default)]
pub struct GroupCommitCounters {
    commits_total: AtomicU64,
    failures_total: AtomicU64,
    writes_total: AtomicU64,
    seconds_sum_nanos: AtomicU64,
    /// Commits per bucket (not cumulative; the snapshot keeps it so too).
    seconds_buckets: [AtomicU64; BUCKETS],
}

impl GroupCommitCounters {
    /// Counts one group of `writes` writes whose commit took `took`.
    pub fn record(&self, writes: usize, took: Duration, committed: bool) {
        self.commits_total.fetch_add(1, Ordering::Relaxed);
        if !committed {
            self.failures_total.fetch_add(1, Ordering::Relaxed);
        }
        self.writes_total
            .fetch_add(writes as u64, Ordering::Relaxed);
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.seconds_sum_nanos.fetch_add(nanos, Ordering::Relaxed);
        let seconds = took.as_secs_f64();
        let bucket = COMMIT_SECONDS_BUCKETS
            .iter()
            .position(|&le| seconds <= le)
            .unwrap_or(BUCKETS - 1);
        self.seconds_buckets[bucket].fetch_add(1, Ordering::Relaxed);
        metrics::histogram!(GROUP_COMMIT_WRITES).record(writes as f64);
        metrics::histogram!(GROUP_COMMIT_SECONDS).record(seconds);
        if !committed {
            metrics::counter!(GROUP_COMMIT_FAILURES).increment(1);
        }
    }

    pub fn snapshot(&self) -> GroupCommitStats {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        GroupCommitStats {
            commits_total: get(&self.commits_total),
            failures_total: get(&self.failures_total),
            writes_total: get(&self.writes_total),
            commit_seconds_sum: get(&self.seconds_sum_nanos) as f64 / 1e9,
            commit_seconds_counts: self.seconds_buckets.each_ref().map(get),
        }
    }
}

/// A snapshot of [`GroupCommitCounters`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct GroupCommitStats {
    pub commits_total: u64,
    pub failures_total: u64,
    pub writes_total: u64,
    pub commit_seconds_sum: f64,
    /// Commits per bucket of [`COMMIT_SECONDS_BUCKETS`] (not cumulative), then those
    /// that took longer than the last bound.
    pub commit_seconds_counts: [u64; BUCKETS],
}

impl GroupCommitStats {
    /// What happened between `earlier` (a snapshot of the same counters) and this one.
    pub fn since(&self, earlier: &Self) -> Self {
        Self {
            commits_total: self.commits_total - earlier.commits_total,
            failures_total: self.failures_total - earlier.failures_total,
            writes_total: self.writes_total - earlier.writes_total,
            commit_seconds_sum: self.commit_seconds_sum - earlier.commit_seconds_sum,
            commit_seconds_counts: std::array::from_fn(|i| {
                self.commit_seconds_counts[i] - earlier.commit_seconds_counts[i]
            }),
        }
    }

    /// Writes per group, on average; `None` before the first commit.
    pub fn mean_group_size(&self) -> Option<f64> {
        (self.commits_total > 0).then(|| self.writes_total as f64 / self.commits_total as f64)
    }

    /// Seconds per commit, on average; `None` before the first commit.
    pub fn mean_commit_seconds(&self) -> Option<f64> {
        (self.commits_total > 0).then(|| self.commit_seconds_sum / self.commits_total as f64)
    }

    /// A bound the `q` quantile of commit times does not exceed: the upper bound of the
    /// bucket it falls in (infinite past the last). `None` before the first commit.
    pub fn commit_seconds_quantile_at_most(&self, q: f64) -> Option<f64> {
        if self.commits_total == 0 {
            return None;
        }
        let rank = (q.clamp(0.0, 1.0) * self.commits_total as f64)
            .ceil()
            .max(1.0) as u64;
        let mut seen = 0;
        for (i, count) in self.commit_seconds_counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Some(
                    COMMIT_SECONDS_BUCKETS
                        .get(i)
                        .copied()
                        .unwrap_or(f64::INFINITY),
                );
            }
        }
        Some(f64::INFINITY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn groups_add_up_to_their_writes_and_their_mean_size() -> Result<(), &'static str> {
        let counters = GroupCommitCounters::default();
        counters.record(3, ms(1), true);
        counters.record(5, ms(3), true);
        counters.record(1, ms(2), false);
        let stats = counters.snapshot();
        assert_eq!(
            (
                stats.commits_total,
                stats.writes_total,
                stats.failures_total
            ),
            (3, 9, 1)
        );
        assert_eq!(stats.mean_group_size(), Some(3.0));
        assert_eq!(stats.commit_seconds_counts.iter().sum::<u64>(), 3);
        let mean = stats.mean_commit_seconds().ok_or("no mean")?;
        assert!((mean - 0.002).abs() < 1e-9, "{mean}");
        Ok(())
    }

    #[test]
    fn the_p99_bound_is_the_bucket_its_commit_fell_in() {
        let counters = GroupCommitCounters::default();
        for _ in 0..99 {
            counters.record(1, Duration::from_micros(300), true);
        }
        counters.record(1, ms(40), true);
        let stats = counters.snapshot();
        assert_eq!(stats.commit_seconds_quantile_at_most(0.99), Some(0.000_5));
        assert_eq!(stats.commit_seconds_quantile_at_most(1.0), Some(0.05));
        counters.record(1, Duration::from_secs(9), true);
        assert_eq!(
            counters.snapshot().commit_seconds_quantile_at_most(1.0),
            Some(f64::INFINITY)
        );
    }

    #[test]
    fn an_interval_counts_only_what_happened_in_it() {
        let counters = GroupCommitCounters::default();
        counters.record(10, ms(1), true);
        let before = counters.snapshot();
        counters.record(4, ms(1), true);
        counters.record(2, ms(1), true);
        let interval = counters.snapshot().since(&before);
        assert_eq!((interval.commits_total, interval.writes_total), (2, 6));
        assert_eq!(interval.mean_group_size(), Some(3.0));
    }

    #[test]
    fn each_group_is_recorded_as_metrics_too() {
        use metrics_util::debugging::{DebugValue, DebuggingRecorder};
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::with_local_recorder(&recorder, || {
            let counters = GroupCommitCounters::default();
            counters.record(3, ms(2), true);
            counters.record(5, ms(4), false);
        });
        let mut writes = Vec::new();
        let mut failures = 0;
        for (key, _, _, value) in snapshotter.snapshot().into_vec() {
            match (key.key().name(), value) {
                (GROUP_COMMIT_WRITES, DebugValue::Histogram(v)) => {
                    writes = v.iter().map(|w| w.into_inner()).collect()
                }
                (GROUP_COMMIT_FAILURES, DebugValue::Counter(n)) => failures = n,
                _ => {}
            }
        }
        assert_eq!((writes, failures), (vec![3.0, 5.0], 1));
    }

    #[test]
    fn no_commit_has_no_mean_and_no_quantile() {
        let stats = GroupCommitCounters::default().snapshot();
        assert_eq!(stats.mean_group_size(), None);
        assert_eq!(stats.mean_commit_seconds(), None);
        assert_eq!(stats.commit_seconds_quantile_at_most(0.99), None);
    }
}
