//! The bus-driven services. Each loads the aggregates it needs from the event store,
//! lets the domain decide, and appends the outcome; none calls another service.

pub mod analytics;
pub mod inventory;
pub mod notification;
pub mod order_process;
pub mod payment;
pub mod shipping;

use chrono::Utc;
use uuid::Uuid;

use crate::consumer::Delivery;
use crate::context::Cause;

/// Every consumer group with the topics it reads (for tools such as `replay`).
pub const SUBSCRIPTIONS: [(&str, &[&str]); 6] = [
    (analytics::GROUP, analytics::TOPICS),
    (inventory::GROUP, inventory::TOPICS),
    (notification::GROUP, notification::TOPICS),
    (order_process::GROUP, order_process::TOPICS),
    (payment::GROUP, payment::TOPICS),
    (shipping::GROUP, shipping::TOPICS),
];

/// The topics a consumer group reads, if it is one of orderflow's.
pub fn topics_of(group: &str) -> Option<&'static [&'static str]> {
    SUBSCRIPTIONS
        .iter()
        .find(|(g, _)| *g == group)
        .map(|(_, topics)| *topics)
}

/// The cause of events recorded while handling a delivery.
fn cause_of(delivery: &Delivery, actor: &'static str) -> Cause<'static> {
    Cause {
        causation_id: delivery.event_id,
        actor,
        now: Utc::now(),
    }
}

/// A stable id derived from a name, for things that must not change on a retry.
fn stable_id(name: &str) -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_OID, name.as_bytes())
}
