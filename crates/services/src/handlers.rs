//! The bus-driven services. Each loads the aggregates it needs from the event store,
//! lets the domain decide, and appends the outcome; none calls another service. A record
//! one of the order's services gives up on is recorded on the order
//! (`step_failed.rs`).

pub mod analytics;
pub mod inventory;
pub mod notification;
pub mod order_process;
pub mod payment;
pub mod shipping;
pub mod step_failed;

use chrono::Utc;
use uuid::Uuid;

use crate::consumer::{Delivery, Group};
use crate::context::Cause;

/// Every consumer group of the services, as each declares it (for tools such as
/// `replay`).
pub const GROUPS: [Group; 6] = [
    analytics::GROUP,
    inventory::GROUP,
    notification::GROUP,
    order_process::GROUP,
    payment::GROUP,
    shipping::GROUP,
];

/// The consumer group of this name, if it is one of orderflow's.
pub fn group(name: &str) -> Option<Group> {
    GROUPS.into_iter().find(|g| g.name == name)
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
