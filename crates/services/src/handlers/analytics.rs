//! Analytics: orders per status and revenue per day, from the bus. A new analytics
//! group starts from the beginning of history: what the bus's retention deleted is
//! counted from the event store first (a backfill), then the retained records.
//!
//! Its counts and its position commit together in its store: each record's changes
//! with its partition's next offset, so a partition's records are handled in offset
//! order and a record below the stored offset is skipped. Before it joins the group,
//! [`align`](position::align) moves the group's offsets back to the store's when the
//! store is behind them (made again, or restored from an older copy), so the store
//! gets every record it lacks, once.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use orderflow_core::bus::Offset;
use orderflow_core::read_model::{AnalyticsChange, AnalyticsRecord, AnalyticsStore};
use orderflow_domain::Event;
use orderflow_domain::order::OrderStatus;

use super::stable_id;
use crate::consumer::{Delivery, Group, Handler, Origin, Parked};
use crate::context::ServiceError;
use orderflow_domain::Topic;

/// The consumer group, and the topics it reads.
pub const GROUP: Group = Group {
    name: "analytics",
    topics: &[Topic::Orders, Topic::Payments],
};

#[derive(Debug)]
pub struct AnalyticsService {
    pub store: Arc<dyn AnalyticsStore>,
}

/// What an event changes in the analytics.
pub fn changes(event: &Event, delivery: &Delivery) -> Vec<AnalyticsChange> {
    changes_at(event, delivery.occurred_at)
}

/// What an event that occurred at `occurred_at` changes in the analytics.
pub fn changes_at(event: &Event, occurred_at: DateTime<Utc>) -> Vec<AnalyticsChange> {
    let status = |order_id: &orderflow_domain::OrderId, status: OrderStatus| {
        vec![AnalyticsChange::OrderStatus {
            order_id: order_id.to_string(),
            status: status.as_str().to_owned(),
        }]
    };
    let day = occurred_at.format("%Y-%m-%d").to_string();
    match event {
        Event::OrderCreated(e) => status(&e.order_id, OrderStatus::Pending),
        Event::OrderConfirmed(e) => status(&e.order_id, OrderStatus::Confirmed),
        Event::OrderShipped(e) => status(&e.order_id, OrderStatus::Shipped),
        Event::OrderCancelled(e) => status(&e.order_id, OrderStatus::Cancelled),
        Event::PaymentReceived(e) => vec![AnalyticsChange::Revenue {
            day,
            delta_cents: e.amount.minor(),
        }],
        Event::PaymentRefunded(e) => vec![AnalyticsChange::Revenue {
            day,
            delta_cents: -e.amount.minor(),
        }],
        _ => vec![],
    }
}

#[async_trait]
impl Handler for AnalyticsService {
    fn group(&self) -> Group {
        GROUP
    }

    /// The store keeps one next offset per partition.
    fn in_partition_order(&self) -> bool {
        true
    }

    async fn handle(&self, event: &Event, delivery: &Delivery) -> Result<(), ServiceError> {
        self.record(event, delivery, changes(event, delivery)).await
    }

    /// A record set aside counts nothing, and its partition's offset moves past it as
    /// the group's does: a store left before it would look behind its group at start.
    async fn parked(&self, parked: &Parked<'_>) -> Result<(), ServiceError> {
        self.record(parked.event, parked.delivery, vec![]).await
    }

    /// Its store says where it resumes: the offsets committed with its counts.
    async fn resumes_at(&self) -> Result<Option<Vec<Offset>>, ServiceError> {
        Ok(Some(self.store.offsets().await?.next))
    }

    async fn backfill(&self, event: &Event, delivery: &Delivery) -> Result<(), ServiceError> {
        self.count(event, delivery).await
    }

    /// A backfilled partition resumes where its retained records begin: stored with
    /// the counts, so that the next start does not backfill it again.
    async fn backfilled(&self, partitions: &[Offset]) -> Result<(), ServiceError> {
        for p in partitions.iter().filter(|p| p.offset > 0) {
            self.store
                .record(AnalyticsRecord {
                    topic: p.topic.clone(),
                    partition: p.partition,
                    offset: p.offset - 1,
                    event_id: stable_id(&format!("backfilled {p:?}")),
                    changes: vec![],
                })
                .await?;
        }
        Ok(())
    }

    /// The same for a record that could not be read: no event, nothing counted.
    async fn unreadable(&self, origin: &Origin) -> Result<(), ServiceError> {
        self.store
            .record(AnalyticsRecord {
                topic: origin.topic.clone(),
                partition: origin.partition,
                offset: origin.offset,
                event_id: stable_id(&format!("unreadable {origin:?}")),
                changes: vec![],
            })
            .await?;
        Ok(())
    }
}

impl AnalyticsService {
    /// An event read from the event store rather than the bus (a backfill): counted
    /// once by its id, the bus offsets left alone.
    async fn count(&self, event: &Event, delivery: &Delivery) -> Result<(), ServiceError> {
        let event_id = delivery
            .event_id
            .unwrap_or_else(|| stable_id(&format!("{event:?}")));
        self.store
            .count_events(vec![(event_id, changes(event, delivery))])
            .await?;
        Ok(())
    }

    async fn record(
        &self,
        event: &Event,
        delivery: &Delivery,
        changes: Vec<AnalyticsChange>,
    ) -> Result<(), ServiceError> {
        // Records from outside the relay may lack an event id: derive one from content.
        let event_id = delivery
            .event_id
            .unwrap_or_else(|| stable_id(&format!("{event:?}")));
        let origin = &delivery.origin;
        self.store
            .record(AnalyticsRecord {
                topic: origin.topic.clone(),
                partition: origin.partition,
                offset: origin.offset,
                event_id,
                changes,
            })
            .await?;
        Ok(())
    }
}

pub mod as_of;
pub mod position;

#[cfg(test)]
mod tests;
