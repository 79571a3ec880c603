//! Rebuilding read models without downtime: the chosen read models are made again from
//! the first event in a next generation beside the live ones, which keep answering and
//! keep following new events. Once the next generation has caught up with the event
//! store's head it is swapped in, in one transaction, and the old one dropped; should the
//! live one have moved on meanwhile, the rebuild reads what came since and tries again.
//!
//! A rebuild only writes read models: it runs no handler, so no side effect (a charge,
//! an email) can fire, and it times no order in the metrics.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use orderflow_core::codec::EventCodec;
use orderflow_core::read_model::generations::{
    ReadModelGenerations, RebuildProgress, Rebuilt, Swap,
};
use orderflow_core::store::{EventStore, StoreError};
use tokio_util::sync::CancellationToken;

use crate::consumer::retry_transient;
use crate::context::ServiceError;
use crate::handlers::analytics::changes_at;
use crate::projections::{build_decoded, decode};

const BATCH: usize = 1000;
/// How often progress is stored for `/pipeline` (the terminal is told of every batch).
const RECORD_EVERY: Duration = Duration::from_millis(500);
/// A rebuild not heard of for this long is taken for dead (its process stopped): another
/// may start.
pub const PRESUMED_DEAD_AFTER: Duration = Duration::from_secs(30);

/// Whether `progress` tells of a rebuild still running at `now`.
pub fn is_running(progress: &RebuildProgress, now: chrono::DateTime<Utc>) -> bool {
    progress.finished_at.is_none()
        && (now - progress.updated_at).to_std().unwrap_or_default() < PRESUMED_DEAD_AFTER
}

/// Swaps tried after catching up before giving up: the live read models keep counting
/// events the store does not hold (analytics read from another store's bus).
const MAX_SWAP_ATTEMPTS: u32 = 1000;

/// Why a rebuild was given up (the live read models stay as they were).
#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    #[error("the rebuild was stopped")]
    Stopped,
    #[error(
        "a rebuild started at {started_at} is running ({done} of {total} events): wait for \
         it to finish"
    )]
    AlreadyRunning {
        started_at: chrono::DateTime<Utc>,
        done: u64,
        total: u64,
    },
    #[error("the rebuild caught up with the event store {attempts} times but {why}")]
    NeverCaughtUp { attempts: u32, why: String },
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<StoreError> for RebuildError {
    fn from(e: StoreError) -> Self {
        RebuildError::Service(e.into())
    }
}

/// What a rebuild needs: the event store to read, the codec, and the read models'
/// generations.
#[derive(Debug, Clone)]
pub struct Rebuild {
    pub store: Arc<dyn EventStore>,
    pub codec: Arc<EventCodec>,
    pub generations: Arc<dyn ReadModelGenerations>,
}

/// How a rebuild went.
#[derive(Debug, Clone, PartialEq)]
pub struct RebuildReport {
    pub models: Vec<Rebuilt>,
    /// Events read into the new generation.
    pub events: u64,
    /// The position the new generation had reached when it went live.
    pub position: u64,
    pub elapsed: Duration,
    /// Swaps tried (more than one when the live read models moved on meanwhile).
    pub swap_attempts: u32,
    /// How long the successful swap took.
    pub swap: Duration,
}

impl Rebuild {
    /// Makes `models` again and swaps them in; `progress` hears of every batch. On an
    /// error or at `shutdown` the next generation is dropped and the live one stays.
    pub async fn run(
        &self,
        models: &[Rebuilt],
        mut progress: impl FnMut(&RebuildProgress) + Send,
        shutdown: &CancellationToken,
    ) -> Result<RebuildReport, RebuildError> {
        let mut models = models.to_vec();
        models.sort();
        models.dedup();
        // One at a time: two would write the same next generation.
        if let Some(other) = self.generations.progress().await?
            && is_running(&other, Utc::now())
        {
            return Err(RebuildError::AlreadyRunning {
                started_at: other.started_at,
                done: other.done,
                total: other.total,
            });
        }
        let started = Instant::now();
        let now = Utc::now();
        let mut state = RebuildProgress {
            models: models.clone(),
            done: 0,
            total: self.store.head_position().await?,
            started_at: now,
            updated_at: now,
            finished_at: None,
            outcome: None,
        };
        self.generations.record_progress(&state).await?;
        let outcome = self
            .rebuild(&mut state, &mut progress, started, shutdown)
            .await;
        state.finished_at = Some(Utc::now());
        state.updated_at = Utc::now();
        state.outcome = Some(match &outcome {
            Ok(_) => "swapped".into(),
            Err(e) => format!("given up: {e}"),
        });
        if outcome.is_err()
            && let Err(e) = self.generations.discard().await
        {
            tracing::warn!(error = %e, "the next generation could not be dropped");
        }
        if let Err(e) = self.generations.record_progress(&state).await {
            tracing::warn!(error = %e, "the rebuild's outcome could not be recorded");
        }
        progress(&state);
        outcome
    }

    async fn rebuild(
        &self,
        state: &mut RebuildProgress,
        progress: &mut (impl FnMut(&RebuildProgress) + Send),
        started: Instant,
        shutdown: &CancellationToken,
    ) -> Result<RebuildReport, RebuildError> {
        let models = state.models.clone();
        let next = self.generations.begin().await?;
        let (views, analytics) = (
            models.contains(&Rebuilt::Views),
            models.contains(&Rebuilt::Analytics),
        );
        let (mut position, mut events_read, mut attempts) = (0u64, 0u64, 0u32);
        let mut recorded = Instant::now();
        loop {
            if shutdown.is_cancelled() {
                return Err(RebuildError::Stopped);
            }
            let events = retry_transient(shutdown, "rebuild read", || async {
                Ok(self.store.read_all(position, BATCH).await?)
            })
            .await?;
            let Some(last) = events.last().map(|e| e.position) else {
                attempts += 1;
                let swap_started = Instant::now();
                match self.generations.swap(&models).await? {
                    Swap::Swapped => {
                        return Ok(RebuildReport {
                            models,
                            events: events_read,
                            position,
                            elapsed: started.elapsed(),
                            swap_attempts: attempts,
                            swap: swap_started.elapsed(),
                        });
                    }
                    Swap::Behind(why) if attempts < MAX_SWAP_ATTEMPTS => {
                        tracing::debug!(why, "the live read models moved on; catching up");
                        self.store
                            .wait_for_append(position, Duration::from_millis(20))
                            .await;
                        continue;
                    }
                    Swap::Behind(why) => {
                        return Err(RebuildError::NeverCaughtUp { attempts, why });
                    }
                }
            };
            let decoded = decode(&self.codec, &events).await;
            if views {
                let batch = build_decoded(&next.views, &decoded, last, None).await?;
                next.views.apply(batch).await?;
            }
            if analytics {
                let counted = decoded
                    .iter()
                    .map(|(stored, event)| (stored.event_id, changes_at(event, stored.occurred_at)))
                    .collect();
                next.analytics.count_events(counted).await?;
            }
            events_read += events.len() as u64;
            position = last;
            state.done = position;
            state.total = state.total.max(position);
            state.updated_at = Utc::now();
            if recorded.elapsed() >= RECORD_EVERY {
                state.total = self.store.head_position().await?.max(position);
                self.generations.record_progress(state).await?;
                recorded = Instant::now();
            }
            progress(state);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::Utc;
    use orderflow_core::codec::EventCodec;
    use orderflow_core::read_model::generations::{ReadModelGenerations, RebuildProgress, Rebuilt};
    use orderflow_core::registry::InMemoryRegistry;
    use orderflow_core::store::InMemoryEventStore;
    use orderflow_sqlite::{SqliteGenerations, SqliteReadModel};
    use tokio_util::sync::CancellationToken;

    use super::{Rebuild, RebuildError};

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn heard_of(seconds_ago: i64) -> RebuildProgress {
        let then = Utc::now() - chrono::Duration::seconds(seconds_ago);
        RebuildProgress {
            models: vec![Rebuilt::Views],
            done: 10,
            total: 100,
            started_at: then,
            updated_at: then,
            finished_at: None,
            outcome: None,
        }
    }

    #[tokio::test]
    async fn a_second_rebuild_is_refused_while_one_is_heard_of_and_not_after() -> TestResult {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("read.db");
        let generations = Arc::new(SqliteGenerations::new(SqliteReadModel::open(&path)?, &path));
        let rebuild = Rebuild {
            store: Arc::new(InMemoryEventStore::default()),
            codec: Arc::new(
                EventCodec::new(Arc::new(InMemoryRegistry::default()))
                    .await?
                    .with_keys(Arc::new(orderflow_core::keys::InMemoryKeyStore::default())),
            ),
            generations: generations.clone(),
        };
        let going_on = CancellationToken::new();
        let run = || rebuild.run(&[Rebuilt::Views], |_| {}, &going_on);
        generations.record_progress(&heard_of(1)).await?;
        assert!(matches!(
            run().await,
            Err(RebuildError::AlreadyRunning { done: 10, .. })
        ));
        // Not heard of for a minute: its process is gone, and a rebuild may start.
        generations.record_progress(&heard_of(60)).await?;
        let report = run().await?;
        assert_eq!(report.events, 0);
        Ok(())
    }
}
