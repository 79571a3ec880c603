//! Carrying out a command on one aggregate: load, decide, append at the version read,
//! and all of it again on a concurrency conflict (cqrs-es's `execute`).

use std::time::Duration;

use orderflow_domain::{Aggregate, Event};

use super::{Cause, Correlated, Loaded, Recorder, ServiceError};

/// How many times a command is tried again after a concurrency conflict before the
/// conflict is returned.
pub const CONFLICT_RETRIES: u32 = 50;

/// Counts the tries after a conflict, and pauses before each.
#[derive(Debug, Default)]
pub(super) struct ConflictRetries {
    tries: u32,
}

impl ConflictRetries {
    /// Whether to try again after `result`: it failed with a conflict and the limit is
    /// not reached. Pauses a little first, with jitter, so hot streams do not livelock.
    pub(super) async fn again<T>(&mut self, result: &Result<T, ServiceError>) -> bool {
        let conflict = matches!(result, Err(ServiceError::Store(e)) if e.is_conflict());
        if !conflict || self.tries >= CONFLICT_RETRIES {
            return false;
        }
        self.tries += 1;
        let jitter = rand::random_range(0..=self.tries.min(10) as u64);
        tokio::time::sleep(Duration::from_millis(jitter)).await;
        true
    }
}

impl Recorder {
    /// Carries out a command on the aggregate of `stream`, one of the streams of the
    /// order `order_id`: reads the order's events, lets `decide` look at the aggregate
    /// as loaded and at the rest of the order (and call out, say, to a provider), and
    /// appends the events it returns (none: nothing to do) at the version the aggregate
    /// was read at. On a conflict (someone appended first), all of it runs again on a
    /// fresh read, up to [`CONFLICT_RETRIES`] times. Returns the stream's position after
    /// it: its last event's, appended now or before.
    pub async fn execute<A, F, Fut>(
        &self,
        order_id: &str,
        stream: &str,
        cause: Cause<'_>,
        mut decide: F,
    ) -> Result<u64, ServiceError>
    where
        A: Aggregate,
        F: FnMut(Loaded<A>, Correlated) -> Fut,
        Fut: Future<Output = Result<Vec<Event>, ServiceError>>,
    {
        let mut retries = ConflictRetries::default();
        loop {
            let result = async {
                let order = self.read_correlated(order_id).await?;
                let loaded = order.load::<A>(stream);
                let (expected, position) = (loaded.expected(), loaded.position);
                let events = decide(loaded, order).await?;
                let appended = self.append(stream, expected, &events, cause).await?;
                Ok(appended.max(position))
            }
            .await;
            if !retries.again(&result).await {
                return result;
            }
        }
    }
}

#[cfg(test)]
mod tests;
