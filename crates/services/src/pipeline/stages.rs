//! The pipeline's stages as orders see them: for each step an order can wait for, how
//! many orders wait there, the oldest of them, and how many orders passed the step in
//! the last minute.
//!
//! Who waits where is read per order from the event store (the facts the order
//! process decides on), for the read model's open orders, oldest first, up to
//! [`EXAMINED`], and for the orders that became final among the last [`RECENT`] events
//! (an email may still be due for them). The last minute is counted from those recent
//! events: each step's outcome events recorded in the last minute. Both bounds are said
//! in the answer (`complete`).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use orderflow_core::read_model::ReadModel;
use orderflow_domain::waiting::Step;
use orderflow_domain::{EventType, OrderId};

use super::order_steps;
use crate::context::{Recorder, ServiceError};

/// How many open orders are examined at most.
pub const EXAMINED: usize = 500;
/// How many of the latest events are read for the last minute and recent final orders.
pub const RECENT: usize = 10_000;

/// One stage: the orders waiting for a step.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    pub step: Step,
    pub orders: u64,
    /// The longest waiting order (by creation) and when it was created.
    pub oldest: Option<(String, DateTime<Utc>)>,
    /// Orders that passed the step in the last minute (its outcome events).
    pub last_minute: u64,
}

/// Every stage, and whether everything was examined.
#[derive(Debug, Clone, PartialEq)]
pub struct Stages {
    pub stages: Vec<Stage>,
    /// False when there were more open orders than [`EXAMINED`], or the last minute
    /// held more than [`RECENT`] events: the counts are then lower bounds.
    pub complete: bool,
}

/// The event types that take an order past `step`.
fn outcomes(step: Step) -> &'static [EventType] {
    match step {
        Step::Payment => &[
            EventType::PaymentReceived,
            EventType::PaymentDeclined,
            EventType::PaymentSkipped,
        ],
        Step::Stock => &[EventType::StockReserved, EventType::StockUnavailable],
        Step::Confirmation => &[
            EventType::OrderConfirmed,
            EventType::OrderCancelled,
            EventType::OrderShipped,
        ],
        Step::Shipment => &[EventType::ShipmentDispatched],
        Step::Email => &[EventType::NotificationSent, EventType::NotificationFailed],
    }
}

/// See the module doc.
pub async fn stages(
    recorder: &Recorder,
    read_model: &dyn ReadModel,
    now: DateTime<Utc>,
) -> Result<Stages, ServiceError> {
    let mut open = read_model.open_orders(EXAMINED + 1).await?;
    let mut complete = open.len() <= EXAMINED;
    open.truncate(EXAMINED);

    let head = recorder.store.head_position().await?;
    let recent = recorder
        .store
        .read_all(head.saturating_sub(RECENT as u64), RECENT)
        .await?;
    let minute_ago = now - Duration::minutes(1);
    if recent.len() == RECENT && recent.first().is_some_and(|e| e.recorded_at >= minute_ago) {
        complete = false;
    }
    let mut per_type: BTreeMap<&str, u64> = BTreeMap::new();
    let mut finals: BTreeSet<String> = BTreeSet::new();
    for e in &recent {
        if e.recorded_at >= minute_ago {
            *per_type.entry(e.event_type.as_str()).or_default() += 1;
        }
        if ["OrderShipped", "OrderCancelled"].contains(&e.event_type.as_str()) {
            finals.insert(e.correlation_id.clone());
        }
    }

    let mut examine: Vec<(String, Option<DateTime<Utc>>)> = open
        .iter()
        .map(|o| (o.order_id.clone(), Some(o.created_at)))
        .collect();
    let known: BTreeSet<&str> = open.iter().map(|o| o.order_id.as_str()).collect();
    examine.extend(
        finals
            .iter()
            .filter(|id| !known.contains(id.as_str()))
            .map(|id| (id.clone(), None)),
    );
    let mut stages: Vec<Stage> = Step::ALL
        .iter()
        .map(|&step| Stage {
            step,
            orders: 0,
            oldest: None,
            last_minute: outcomes(step)
                .iter()
                .map(|t| per_type.get(t.name()).copied().unwrap_or(0))
                .sum(),
        })
        .collect();
    for (id, created) in examine {
        let Ok(order_id) = OrderId::parse(id.clone()) else {
            continue;
        };
        let (steps, first) = order_steps(recorder, &order_id).await?;
        let Some(created) = created.or(first) else {
            continue;
        };
        for step in steps {
            let stage = &mut stages[Step::ALL.iter().position(|s| *s == step).unwrap_or(0)];
            stage.orders += 1;
            if stage.oldest.as_ref().is_none_or(|(_, at)| created < *at) {
                stage.oldest = Some((id.clone(), created));
            }
        }
    }
    Ok(Stages { stages, complete })
}
