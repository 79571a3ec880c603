//! What the append benchmarks say about the store's own group commits, from the counters
//! its writer keeps ([`orderflow_core::commit_stats`]), and how they say whether a
//! target was met. Only measured figures: no bound is printed that was not measured.

use std::time::Duration;

use orderflow_core::commit_stats::GroupCommitStats;

/// One line on the groups a run committed in `wall` time.
pub fn describe(stats: &GroupCommitStats, wall: Duration) -> String {
    let (Some(size), Some(mean)) = (stats.mean_group_size(), stats.mean_commit_seconds()) else {
        return "no group commits counted".into();
    };
    let p99 = match stats.commit_seconds_quantile_at_most(0.99) {
        Some(bound) if bound.is_finite() => format!("p99 <= {}", millis(bound)),
        _ => "p99 beyond the histogram's last bucket".into(),
    };
    let busy = stats.commit_seconds_sum / wall.as_secs_f64().max(f64::MIN_POSITIVE);
    let failed = match stats.failures_total {
        0 => String::new(),
        n => format!(", {n} failed"),
    };
    format!(
        "{} commits of {size:.1} appends on average{failed}; commit {} mean, {p99}; \
         committing {:.0}% of the time",
        stats.commits_total,
        millis(mean),
        busy * 100.0
    )
}

fn millis(seconds: f64) -> String {
    format!("{:.2} ms", seconds * 1e3)
}

/// `ratio` to `baseline` against its `target`, in words.
pub fn verdict(ratio: f64, baseline: &str, target: f64) -> String {
    let met = if ratio >= target { "met" } else { "NOT met" };
    format!("{ratio:.2}x {baseline} (target >= {target}x: {met})")
}

/// Rows per transaction for a baseline shaped like the store's groups: their mean size,
/// rounded, at least one.
pub fn like_for_like(stats: &GroupCommitStats) -> usize {
    stats
        .mean_group_size()
        .map_or(1, |size| (size.round() as usize).max(1))
}

/// Two intervals' counts together.
pub fn sum(a: &GroupCommitStats, b: &GroupCommitStats) -> GroupCommitStats {
    GroupCommitStats {
        commits_total: a.commits_total + b.commits_total,
        failures_total: a.failures_total + b.failures_total,
        writes_total: a.writes_total + b.writes_total,
        commit_seconds_sum: a.commit_seconds_sum + b.commit_seconds_sum,
        commit_seconds_counts: std::array::from_fn(|i| {
            a.commit_seconds_counts[i] + b.commit_seconds_counts[i]
        }),
    }
}

/// Events (or rows) and the time they took, summed over rounds.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    pub count: usize,
    pub took: Duration,
}

impl Tally {
    pub fn add(&mut self, (count, took): (usize, Duration)) {
        self.count += count;
        self.took += took;
    }

    pub fn rate(&self) -> f64 {
        self.count as f64 / self.took.as_secs_f64()
    }
}
