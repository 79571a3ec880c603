//! Every fact the pipeline records. One enum, so that the codec, the relay and the
//! read models speak about the same closed set of event types.

use crate::values::{
    Currency, CustomerId, Money, OrderId, OrderLines, Personal, Quantity, Sku, StockLine, Timestamp,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderCreated {
    pub order_id: OrderId,
    pub customer_id: CustomerId,
    pub lines: OrderLines,
    pub timestamp: Timestamp,
    /// Since `OrderCreated` v2; orders written before it are in the default currency.
    pub currency: Currency,
    /// Since `OrderCreated` v2; personal data, sealed under the customer's key since v3.
    pub shipping_address: Option<Personal>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderConfirmed {
    pub order_id: OrderId,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderCancelled {
    pub order_id: OrderId,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderShipped {
    pub order_id: OrderId,
    pub tracking_number: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentReceived {
    pub order_id: OrderId,
    pub amount: Money,
    pub transaction_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentDeclined {
    pub order_id: OrderId,
    pub amount: Money,
    pub reason: String,
}

/// Payment did not charge the order: it was cancelled before payment got to it, so no
/// money was taken (and none will be refunded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentSkipped {
    pub order_id: OrderId,
    /// What would have been charged.
    pub amount: Money,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRefunded {
    pub order_id: OrderId,
    pub amount: Money,
    pub transaction_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockLevelSet {
    pub sku: Sku,
    pub available: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockAllocated {
    pub sku: Sku,
    pub order_id: OrderId,
    pub quantity: Quantity,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockDeallocated {
    pub sku: Sku,
    pub order_id: OrderId,
    pub quantity: Quantity,
}

/// Reserved units of a SKU left the warehouse with a shipped order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockShipped {
    pub sku: Sku,
    pub order_id: OrderId,
    pub quantity: Quantity,
}

/// An order's reserved stock was shipped: the reservation is done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockFulfilled {
    pub order_id: OrderId,
    pub items: Vec<StockLine>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockReserved {
    pub order_id: OrderId,
    pub items: Vec<StockLine>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockUnavailable {
    pub order_id: OrderId,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockReleased {
    pub order_id: OrderId,
    pub items: Vec<StockLine>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipmentDispatched {
    pub order_id: OrderId,
    pub tracking_number: String,
}

/// Which email a notification was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NotificationKind {
    OrderReceived,
    OrderShipped,
    OrderCancelled,
}

impl NotificationKind {
    pub const ALL: [NotificationKind; 3] = [
        NotificationKind::OrderReceived,
        NotificationKind::OrderShipped,
        NotificationKind::OrderCancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::OrderReceived => "ORDER_RECEIVED",
            NotificationKind::OrderShipped => "ORDER_SHIPPED",
            NotificationKind::OrderCancelled => "ORDER_CANCELLED",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationSent {
    pub order_id: OrderId,
    pub kind: NotificationKind,
    pub recipient: String,
    pub message_id: String,
}

/// An email could not be sent and never will be (the address is not one, the mail
/// server refused it for good): recorded instead of being retried forever.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationFailed {
    pub order_id: OrderId,
    pub kind: NotificationKind,
    pub recipient: String,
    pub reason: String,
}

/// A step of the pipeline about an order was given up on: the record that asked for it
/// was set aside on its topic's dead-letter queue (`<topic>.dlq`), because handling it
/// failed for good or kept failing past the retry bound. The order stays as it was; this
/// says which step did not happen and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepFailed {
    pub order_id: OrderId,
    /// The service whose step it was, by its consumer group: `payment`.
    pub step: String,
    /// The type of the event it was handling: `OrderCreated`.
    pub event_type: String,
    pub reason: String,
    /// Where the record set aside was read (its copy on `<topic>.dlq` says so too).
    pub topic: String,
    pub partition: u32,
    pub offset: u64,
    /// When it was given up on.
    pub at: Timestamp,
}

/// A customer's personal data was forgotten (GDPR Art. 17): the keys it was sealed
/// under were destroyed, so every copy of it, wherever it went, reads as erased. Every
/// other fact of their orders stays, for the audit trail and the books.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerForgotten {
    pub customer_id: CustomerId,
    /// Why, as the operator gave it: the request it answers.
    pub reason: String,
    /// Who forgot them: the operator's token name, or the command line's user.
    pub by: String,
    /// The keys destroyed now (0 if they were forgotten before).
    pub keys_destroyed: u32,
    pub at: Timestamp,
}

macro_rules! events {
    ($($variant:ident),* $(,)?) => {
        /// Any event of the system.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum Event {
            $($variant($variant),)*
        }

        /// The type of an event, without its data.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum EventType {
            $($variant,)*
        }

        impl EventType {
            /// Every event type, in the order of [`Event::TYPES`].
            pub const ALL: &'static [EventType] = &[$(EventType::$variant),*];

            /// The type's name, as used in envelopes and schema names.
            pub fn name(self) -> &'static str {
                match self {
                    $(EventType::$variant => stringify!($variant),)*
                }
            }

            /// The event type of this name, if there is one.
            pub fn parse(name: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|t| t.name() == name)
            }
        }

        impl Event {
            /// Every event type name, as used in envelopes and schema names.
            pub const TYPES: &'static [&'static str] = &[$(stringify!($variant)),*];

            /// The event's type.
            pub fn event_type(&self) -> EventType {
                match self {
                    $(Event::$variant(_) => EventType::$variant,)*
                }
            }

            /// The event's type name.
            pub fn type_name(&self) -> &'static str {
                self.event_type().name()
            }
        }

        impl std::fmt::Display for EventType {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }

        $(impl From<$variant> for Event {
            fn from(e: $variant) -> Self {
                Event::$variant(e)
            }
        })*
    };
}

events!(
    OrderCreated,
    OrderConfirmed,
    OrderCancelled,
    OrderShipped,
    PaymentReceived,
    PaymentDeclined,
    PaymentRefunded,
    PaymentSkipped,
    StockLevelSet,
    StockAllocated,
    StockDeallocated,
    StockReserved,
    StockUnavailable,
    StockReleased,
    StockShipped,
    StockFulfilled,
    ShipmentDispatched,
    NotificationSent,
    NotificationFailed,
    StepFailed,
    CustomerForgotten,
);

impl Event {
    /// The id every event is correlated with and keyed by: the order, or the SKU for
    /// stock-level changes that concern no order.
    pub fn correlation_key(&self) -> &str {
        match self {
            Event::OrderCreated(e) => e.order_id.as_str(),
            Event::OrderConfirmed(e) => e.order_id.as_str(),
            Event::OrderCancelled(e) => e.order_id.as_str(),
            Event::OrderShipped(e) => e.order_id.as_str(),
            Event::PaymentReceived(e) => e.order_id.as_str(),
            Event::PaymentDeclined(e) => e.order_id.as_str(),
            Event::PaymentRefunded(e) => e.order_id.as_str(),
            Event::PaymentSkipped(e) => e.order_id.as_str(),
            Event::StockLevelSet(e) => e.sku.as_str(),
            Event::StockAllocated(e) => e.order_id.as_str(),
            Event::StockDeallocated(e) => e.order_id.as_str(),
            Event::StockReserved(e) => e.order_id.as_str(),
            Event::StockUnavailable(e) => e.order_id.as_str(),
            Event::StockReleased(e) => e.order_id.as_str(),
            Event::StockShipped(e) => e.order_id.as_str(),
            Event::StockFulfilled(e) => e.order_id.as_str(),
            Event::ShipmentDispatched(e) => e.order_id.as_str(),
            Event::NotificationSent(e) => e.order_id.as_str(),
            Event::NotificationFailed(e) => e.order_id.as_str(),
            Event::StepFailed(e) => e.order_id.as_str(),
            Event::CustomerForgotten(e) => e.customer_id.as_str(),
        }
    }

    /// The order this event is about, if any.
    pub fn order_id(&self) -> Option<&str> {
        match self {
            Event::StockLevelSet(_) | Event::CustomerForgotten(_) => None,
            other => Some(other.correlation_key()),
        }
    }

    /// Its personal data: the fields `"pii": true` marks in its schema, which are sealed
    /// before it is written and opened when it is read.
    pub fn personal(&self) -> Vec<&Personal> {
        match self {
            Event::OrderCreated(e) => e.shipping_address.iter().collect(),
            _ => Vec::new(),
        }
    }

    /// Its personal data, to seal or open in place.
    pub fn personal_mut(&mut self) -> Vec<&mut Personal> {
        match self {
            Event::OrderCreated(e) => e.shipping_address.iter_mut().collect(),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
