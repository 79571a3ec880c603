//! The lag sampler: every few seconds, how far behind each consumer group is on each of
//! its topics (records, and the age of its oldest unhandled record), and how far the
//! relay and the projections are behind the event store's head (events, and the age of
//! the oldest event each has not handled), set as gauges. Every process samples every
//! group and reader, so any one process's `/metrics` shows the whole pipeline's lag. It
//! reads the groups through the process's [`GroupsView`], so that the API's process asks
//! the bus no more often for it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use orderflow_core::bus::{EventBus, GroupLag};
use orderflow_core::read_model::ReadModel;
use orderflow_core::store::{Checkpoints, EventStore};
use tokio_util::sync::CancellationToken;

use crate::pipeline::GroupsView;

use super::{LAG_RECORDS, LAG_SECONDS, READER_LAG_EVENTS, READER_LAG_SECONDS};

/// What the sampler reads.
#[derive(Debug, Clone)]
pub struct Sampler {
    pub bus: Arc<dyn EventBus>,
    /// The process's view of the groups (the API's too, where it runs).
    pub groups: Arc<GroupsView>,
    pub store: Arc<dyn EventStore>,
    pub checkpoints: Arc<dyn Checkpoints>,
    pub read_model: Arc<dyn ReadModel>,
}

impl Sampler {
    /// How often it samples by default.
    pub const EVERY: Duration = Duration::from_secs(5);

    /// Samples every `every` until `shutdown` is cancelled. A source that cannot be
    /// read is logged and tried again at the next sample; its gauges keep their values.
    pub async fn run(self, every: Duration, shutdown: CancellationToken) {
        while !shutdown.is_cancelled() {
            self.sample().await;
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(every) => {}
            }
        }
    }

    /// Samples once.
    pub async fn sample(&self) {
        let now = Utc::now();
        match self.groups.groups(self.bus.as_ref()).await {
            Ok(groups) => record_groups(&groups, now),
            Err(e) => tracing::debug!(error = %e, "sampling consumer lag failed"),
        }
        if let Err(e) = self.sample_readers(now).await {
            tracing::debug!(error = %e, "sampling the event store's readers failed");
        }
    }

    async fn sample_readers(
        &self,
        now: DateTime<Utc>,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let head = self.store.head_position().await?;
        let relay = self
            .checkpoints
            .load(crate::relay::CHECKPOINT)
            .await?
            .unwrap_or(0);
        let projections = self.read_model.position().await?;
        for (reader, position) in [("relay", relay), ("projections", projections)] {
            let behind = head.saturating_sub(position);
            let oldest = match behind {
                0 => None,
                _ => self
                    .store
                    .read_all(position, 1)
                    .await?
                    .first()
                    .map(|e| e.recorded_at),
            };
            metrics::gauge!(READER_LAG_EVENTS, "reader" => reader).set(behind as f64);
            metrics::gauge!(READER_LAG_SECONDS, "reader" => reader).set(age(oldest, now));
        }
        Ok(())
    }
}

/// Seconds from `oldest` to `now`; 0 without one (or for one in the future).
fn age(oldest: Option<DateTime<Utc>>, now: DateTime<Utc>) -> f64 {
    oldest.map_or(0.0, |t| (now - t).num_milliseconds().max(0) as f64 / 1000.0)
}

/// Sets each group's lag gauges, per topic.
pub fn record_groups(groups: &[GroupLag], now: DateTime<Utc>) {
    for group in groups {
        let mut topics: BTreeMap<&str, (u64, Option<DateTime<Utc>>)> = BTreeMap::new();
        for p in &group.partitions {
            let (lag, oldest) = topics.entry(p.topic.as_str()).or_default();
            *lag += p.lag;
            *oldest = match (*oldest, p.oldest_unhandled.filter(|_| p.lag > 0)) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        for (topic, (lag, oldest)) in topics {
            let labels = super::consumer_labels(&group.group, topic);
            metrics::gauge!(LAG_RECORDS, &labels).set(lag as f64);
            metrics::gauge!(LAG_SECONDS, &labels).set(age(oldest, now));
        }
    }
}
