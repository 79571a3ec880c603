//! When the pipeline has done ALL the work for what it was given, as `GET /consumers`
//! shows it: every consumer group (payment, inventory, shipping, notification,
//! analytics, the order process) with no lag, and the relay and the projections at the
//! event store's head. The last email goes out before analytics and the projections
//! are done with that order, so a clock stopped there flatters the pipeline.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::child::Running;

/// What one `GET /consumers` answer says about the work left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    /// The event store's head position.
    pub head: u64,
    /// The lags summed: every group's, and the store readers' behind the head.
    pub lag: u64,
}

impl Snapshot {
    /// Reads a `GET /consumers` answer; `None` unless it has consumer groups, the
    /// relay and the projections, each with a lag.
    pub fn of(consumers: &Value) -> Option<Snapshot> {
        let groups = consumers["groups"].as_array().filter(|g| !g.is_empty())?;
        let readers = consumers["storeReaders"].as_array()?;
        let reader = |name: &str| readers.iter().find(|r| r["name"] == name);
        let (relay, projections) = (reader("relay")?, reader("projections")?);
        let mut lag = 0u64;
        for item in groups.iter().chain([relay, projections]) {
            lag = lag.saturating_add(item["lag"].as_u64()?);
        }
        Some(Snapshot {
            head: projections["head"].as_u64()?,
            lag,
        })
    }
}

/// Whether two answers in a row prove the work done: both without lag, and no event
/// appended between them. One answer is not enough: it reads the groups before the
/// head, so the relay may publish in between records that no group has read yet; the
/// second answer's groups then show them, and a consumer that appended shows in the
/// head.
pub fn all_done(earlier: Snapshot, later: Snapshot) -> bool {
    earlier.lag == 0 && later.lag == 0 && earlier.head == later.head
}

/// How often the wait asks `GET /consumers`: the resolution of the all-work-done clock
/// (on top of the services' own saving of their positions, every 100 ms when busy).
pub const ASK_EVERY: Duration = Duration::from_millis(10);

/// Waits until the pipeline has done all its work (see [`all_done`]); returns when the
/// answer that proved it arrived.
pub async fn wait_all_done(running: &Running, at_most: Duration) -> anyhow::Result<Instant> {
    let deadline = Instant::now() + at_most;
    let mut earlier: Option<Snapshot> = None;
    loop {
        let consumers = running.consumers().await?;
        let now = Snapshot::of(&consumers);
        if let (Some(earlier), Some(now)) = (earlier, now)
            && all_done(earlier, now)
        {
            return Ok(Instant::now());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the pipeline did not catch up within {at_most:?}: {consumers}"
        );
        earlier = now;
        tokio::time::sleep(ASK_EVERY).await;
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn consumers(group_lags: &[u64], relay: u64, projections: u64, head: u64) -> Value {
        json!({
            "groups": group_lags.iter().map(|lag| json!({ "group": "g", "lag": lag })).collect::<Vec<_>>(),
            "deadLetters": [],
            "storeReaders": [
                { "name": "relay", "position": relay, "head": head, "lag": head - relay },
                { "name": "projections", "position": projections, "head": head, "lag": head - projections },
            ],
        })
    }

    fn snapshot(value: &Value) -> Result<Snapshot, String> {
        Snapshot::of(value).ok_or_else(|| format!("no snapshot in {value}"))
    }

    #[test]
    fn work_is_done_when_two_answers_in_a_row_show_no_lag_and_the_same_head() -> Result<(), String>
    {
        let quiet = snapshot(&consumers(&[0, 0, 0], 90, 90, 90))?;
        if all_done(quiet, quiet) {
            Ok(())
        } else {
            Err(format!("{quiet:?} twice is not done"))
        }
    }

    #[test]
    fn projections_or_analytics_behind_mean_work_left_after_the_last_email() -> Result<(), String> {
        let projections_behind = snapshot(&consumers(&[0, 0, 0], 90, 85, 90))?;
        let analytics_behind = snapshot(&consumers(&[0, 4, 0], 90, 90, 90))?;
        let relay_behind = snapshot(&consumers(&[0, 0, 0], 89, 90, 90))?;
        for behind in [projections_behind, analytics_behind, relay_behind] {
            if all_done(behind, behind) {
                return Err(format!("{behind:?} counts as done"));
            }
        }
        Ok(())
    }

    #[test]
    fn a_head_that_moved_between_two_quiet_answers_means_work_in_flight() -> Result<(), String> {
        let first = snapshot(&consumers(&[0, 0], 90, 90, 90))?;
        let second = snapshot(&consumers(&[0, 0], 92, 92, 92))?;
        if all_done(first, second) {
            Err(format!("{first:?} then {second:?} counts as done"))
        } else {
            Ok(())
        }
    }

    #[test]
    fn an_answer_without_groups_or_store_readers_proves_nothing() -> Result<(), String> {
        let no_groups = consumers(&[], 90, 90, 90);
        let no_readers = json!({ "groups": [{ "group": "g", "lag": 0 }] });
        match (Snapshot::of(&no_groups), Snapshot::of(&no_readers)) {
            (None, None) => Ok(()),
            other => Err(format!("read as {other:?}")),
        }
    }
}
