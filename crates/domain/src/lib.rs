//! The orderflow domain, pure: value objects parsed at the edges, the events of the
//! pipeline, and aggregates that `decide` on commands and `apply` events. No I/O, no
//! async, no clock: time comes in with the command.
//!
//! # Layout
//!
//! - `events.rs`: every event of the pipeline, one enum, and `EventType`, its types.
//! - `failed_steps.rs`: the steps about one order that were given up on, each once.
//! - `inventory.rs`: the reservation of an order's stock and each SKU's stock level.
//! - `notification.rs`: the emails sent (or failed for good) about an order.
//! - `order.rs`: the order aggregate and its life cycle.
//! - `payment.rs`: the payment of an order: charge, skip, refund.
//! - `process.rs`: the order process: the next command an order's facts call for.
//! - `reactions.rs`: what each service is asked to do by an event it reads (shared by
//!   the handlers and `orderflow verify`).
//! - `shipment.rs`: the shipment of a confirmed order.
//! - `streams.rs`: the stream each event is appended to, and the bus `Topic` it is
//!   published on (`topic_of`, exhaustive over event types).
//! - `testing.rs`: given/when/then for aggregates (`testing` feature).
//! - `waiting.rs`: what an order is waiting for: the pipeline's steps still missing.
//! - `values.rs`: value objects parsed at the edges (ids, money, quantities, lines).

pub mod events;
pub mod failed_steps;
pub mod inventory;
pub mod notification;
pub mod order;
pub mod payment;
pub mod process;
pub mod reactions;
pub mod shipment;
pub mod streams;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod values;
pub mod waiting;

pub use events::{Event, EventType};
pub use streams::{Topic, topic_of, topic_of_type};
pub use values::{
    Currency, CustomerId, Money, OrderId, OrderLine, OrderLines, Personal, Quantity, Sku,
    StockLine, Timestamp,
};

/// A consistency boundary: decides on commands against its state, and folds events into it.
pub trait Aggregate: Default {
    type Command;

    /// All business rules live here. Returns the events to record; an empty list means the
    /// command was already carried out (commands are idempotent where that makes sense).
    fn decide(&self, command: Self::Command) -> Result<Vec<Event>, DomainError>;

    /// Folds one event into the state; events are facts, so this never fails. Events of
    /// other aggregates are ignored.
    fn apply(&mut self, event: &Event);

    /// The state after the given events.
    fn from_events<'a>(events: impl IntoIterator<Item = &'a Event>) -> Self {
        let mut state = Self::default();
        events.into_iter().for_each(|e| state.apply(e));
        state
    }
}

/// Why a command was refused, or why a value could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("invalid {what}: {reason}")]
    InvalidValue { what: &'static str, reason: String },
    #[error("an order needs at least one item")]
    NoItems,
    #[error("the order does not exist")]
    OrderNotFound,
    #[error("the order already exists")]
    OrderAlreadyExists,
    #[error("the order is cancelled")]
    OrderCancelled,
    #[error("the order has already shipped")]
    OrderAlreadyShipped,
    #[error("the order is not confirmed (payment and stock) yet")]
    OrderNotConfirmed,
    #[error("no payment was taken, so there is nothing to refund")]
    NothingToRefund,
}
