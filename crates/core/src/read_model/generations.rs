//! Read-model generations: a rebuild makes the chosen read models again from the first
//! event, in a *next* generation beside the live one (which keeps answering and keeps
//! following new events), then swaps it in, in one transaction, once it has caught up.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{AnalyticsChange, ReadModel};
use crate::store::StoreError;

/// A read model a rebuild makes again.
///
/// The order summaries, the customers' order lists (the same rows, by customer) and the
/// stock summaries are one projection of the event store with one position, so they are
/// made again together; analytics has its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rebuilt {
    /// Orders, customers' orders and stock.
    Views,
    /// Orders per status and revenue per day.
    Analytics,
}

impl Rebuilt {
    /// The names an operator may give, and what each makes again.
    pub const NAMES: [(&'static str, Rebuilt); 4] = [
        ("orders", Rebuilt::Views),
        ("stock", Rebuilt::Views),
        ("customer-orders", Rebuilt::Views),
        ("analytics", Rebuilt::Analytics),
    ];

    /// The read model a name stands for.
    pub fn parse(name: &str) -> Result<Self, String> {
        Self::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, r)| *r)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::NAMES.iter().map(|(n, _)| *n).collect();
                format!(
                    "no read model is called {name:?}: choose among {}",
                    names.join(", ")
                )
            })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Rebuilt::Views => "views (orders, customer-orders, stock)",
            Rebuilt::Analytics => "analytics",
        }
    }
}

/// How far a rebuild has come, kept beside the live read models so that any process
/// (the API's `/pipeline`) can show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RebuildProgress {
    pub models: Vec<Rebuilt>,
    /// The global position the new generation has reached.
    pub done: u64,
    /// The event store's head when the rebuild last looked.
    pub total: u64,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When it was swapped in, or given up.
    pub finished_at: Option<DateTime<Utc>>,
    /// `swapped`, or why it was given up.
    pub outcome: Option<String>,
}

/// What an attempt to swap the next generation in found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Swap {
    /// The next generation is live; the old one is gone.
    Swapped,
    /// The live generation has seen events the next one has not: catch up and try again.
    Behind(String),
}

/// The next generation's read models, written like the live ones.
#[derive(Debug, Clone)]
pub struct NextGeneration {
    pub views: Arc<dyn ReadModel>,
    pub analytics: Arc<dyn CountEvents>,
}

/// Analytics counted straight from the event store, as a rebuild does: no bus offsets.
#[async_trait]
pub trait CountEvents: Send + Sync + fmt::Debug {
    /// In one transaction: applies each event's changes unless the event was counted
    /// before.
    async fn count_events(
        &self,
        events: Vec<(Uuid, Vec<AnalyticsChange>)>,
    ) -> Result<(), StoreError>;
}

/// Where the live read models and a next generation of them live.
#[async_trait]
pub trait ReadModelGenerations: Send + Sync + fmt::Debug {
    /// An empty next generation beside the live read models; an unfinished one left
    /// before is dropped.
    async fn begin(&self) -> Result<NextGeneration, StoreError>;
    /// In one transaction, if the next generation has caught up with the live one (the
    /// views at least at the live position, analytics having counted every event the
    /// live analytics counted): puts the next generation of `models` in place of the live
    /// one, which is dropped. Analytics keeps the live bus offsets, so its consumer goes
    /// on where it was, skipping the events the rebuild already counted. Readers see the
    /// old generation or the new one, never a mixture.
    async fn swap(&self, models: &[Rebuilt]) -> Result<Swap, StoreError>;
    /// Drops the next generation.
    async fn discard(&self) -> Result<(), StoreError>;
    async fn record_progress(&self, progress: &RebuildProgress) -> Result<(), StoreError>;
    /// The last rebuild's progress, if any ran.
    async fn progress(&self) -> Result<Option<RebuildProgress>, StoreError>;
}
