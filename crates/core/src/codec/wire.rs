//! The Avro shapes of the events, field for field as in `schemas/*.avsc`, and their
//! conversions to and from the domain. Decoding goes through the domain's parsers, so an
//! event that decodes is valid.

use orderflow_domain::events::*;
use orderflow_domain::{
    Currency, CustomerId, DomainError, Money, OrderId, OrderLine, OrderLines, Quantity, Sku,
    StockLine, Timestamp,
};
use serde::{Deserialize, Serialize};

use super::CodecError;

/// Defines a wire struct whose serde name is its Avro record name (the schema-aware
/// deserializer checks it).
macro_rules! record {
    ($name:ident = $avro:literal { $($field:ident : $ty:ty),* $(,)? }) => {
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(rename = $avro, rename_all = "camelCase")]
        pub struct $name {
            $(pub $field: $ty,)*
        }
    };
}

record!(OrderItemV1 = "OrderItem" { sku: String, quantity: i32, unit_price: f64 });
record!(OrderCreatedV1 = "OrderCreated" {
    order_id: String,
    customer_id: String,
    items: Vec<OrderItemV1>,
    total_amount: f64,
    timestamp: i64,
});
record!(OrderCreatedV2 = "OrderCreated" {
    order_id: String,
    customer_id: String,
    items: Vec<OrderItemV1>,
    total_amount: f64,
    timestamp: i64,
    currency: String,
    shipping_address: Option<String>,
});
record!(OrderConfirmedV1 = "OrderConfirmed" { order_id: String });
record!(OrderCancelledV1 = "OrderCancelled" { order_id: String, reason: String });
record!(OrderShippedV1 = "OrderShipped" { order_id: String, tracking_number: String });
record!(PaymentReceivedV1 = "PaymentReceived" {
    order_id: String,
    amount_cents: i64,
    transaction_id: String,
});
record!(PaymentDeclinedV1 = "PaymentDeclined" { order_id: String, amount_cents: i64, reason: String });
record!(PaymentRefundedV1 = "PaymentRefunded" {
    order_id: String,
    amount_cents: i64,
    transaction_id: String,
});
record!(PaymentSkippedV1 = "PaymentSkipped" { order_id: String, amount_cents: i64, reason: String });
record!(StockLevelSetV1 = "StockLevelSet" { sku: String, available: i64 });
record!(StockAllocatedV1 = "StockAllocated" { sku: String, order_id: String, quantity: i32 });
record!(StockDeallocatedV1 = "StockDeallocated" { sku: String, order_id: String, quantity: i32 });
record!(StockLineV1 = "StockLine" { sku: String, quantity: i32 });
record!(StockReservedV1 = "StockReserved" { order_id: String, items: Vec<StockLineV1> });
record!(StockUnavailableV1 = "StockUnavailable" { order_id: String, reason: String });
record!(StockReleasedV1 = "StockReleased" { order_id: String, items: Vec<StockLineV1> });
record!(StockShippedV1 = "StockShipped" { sku: String, order_id: String, quantity: i32 });
record!(StockFulfilledV1 = "StockFulfilled" { order_id: String, items: Vec<StockLineV1> });
record!(ShipmentDispatchedV1 = "ShipmentDispatched" { order_id: String, tracking_number: String });
record!(NotificationSentV1 = "NotificationSent" {
    order_id: String,
    kind: NotificationKindV1,
    recipient: String,
    message_id: String,
});
record!(NotificationFailedV1 = "NotificationFailed" {
    order_id: String,
    kind: NotificationKindV1,
    recipient: String,
    reason: String,
});

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename = "NotificationKind", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NotificationKindV1 {
    OrderReceived,
    OrderShipped,
    OrderCancelled,
}

/// One event in its wire shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Wire {
    OrderCreated(OrderCreatedV2),
    OrderConfirmed(OrderConfirmedV1),
    OrderCancelled(OrderCancelledV1),
    OrderShipped(OrderShippedV1),
    PaymentReceived(PaymentReceivedV1),
    PaymentDeclined(PaymentDeclinedV1),
    PaymentRefunded(PaymentRefundedV1),
    PaymentSkipped(PaymentSkippedV1),
    StockLevelSet(StockLevelSetV1),
    StockAllocated(StockAllocatedV1),
    StockDeallocated(StockDeallocatedV1),
    StockReserved(StockReservedV1),
    StockUnavailable(StockUnavailableV1),
    StockReleased(StockReleasedV1),
    StockShipped(StockShippedV1),
    StockFulfilled(StockFulfilledV1),
    ShipmentDispatched(ShipmentDispatchedV1),
    NotificationSent(NotificationSentV1),
    NotificationFailed(NotificationFailedV1),
}

fn quantity_to_wire(q: Quantity) -> i32 {
    // `Quantity::MAX` fits an Avro int.
    i32::try_from(q.get()).unwrap_or(i32::MAX)
}

fn lines_to_wire(items: &[StockLine]) -> Vec<StockLineV1> {
    items
        .iter()
        .map(|l| StockLineV1 {
            sku: l.sku.to_string(),
            quantity: quantity_to_wire(l.quantity),
        })
        .collect()
}

fn lines_from_wire(items: Vec<StockLineV1>) -> Result<Vec<StockLine>, DomainError> {
    items
        .into_iter()
        .map(|l| {
            Ok(StockLine {
                sku: Sku::parse(l.sku)?,
                quantity: Quantity::new(l.quantity.into())?,
            })
        })
        .collect()
}

/// Converts a domain event to its wire shape.
pub fn to_wire(event: &Event) -> Wire {
    match event {
        Event::OrderCreated(e) => Wire::OrderCreated(OrderCreatedV2 {
            order_id: e.order_id.to_string(),
            customer_id: e.customer_id.to_string(),
            items: e
                .lines
                .lines()
                .iter()
                .map(|l| OrderItemV1 {
                    sku: l.sku.to_string(),
                    quantity: quantity_to_wire(l.quantity),
                    unit_price: l.unit_price.to_major(),
                })
                .collect(),
            total_amount: e.lines.total().to_major(),
            timestamp: e.timestamp.0,
            currency: e.currency.as_str().to_owned(),
            shipping_address: e.shipping_address.clone(),
        }),
        Event::OrderConfirmed(e) => Wire::OrderConfirmed(OrderConfirmedV1 {
            order_id: e.order_id.to_string(),
        }),
        Event::OrderCancelled(e) => Wire::OrderCancelled(OrderCancelledV1 {
            order_id: e.order_id.to_string(),
            reason: e.reason.clone(),
        }),
        Event::OrderShipped(e) => Wire::OrderShipped(OrderShippedV1 {
            order_id: e.order_id.to_string(),
            tracking_number: e.tracking_number.clone(),
        }),
        Event::PaymentReceived(e) => Wire::PaymentReceived(PaymentReceivedV1 {
            order_id: e.order_id.to_string(),
            amount_cents: e.amount.minor(),
            transaction_id: e.transaction_id.clone(),
        }),
        Event::PaymentDeclined(e) => Wire::PaymentDeclined(PaymentDeclinedV1 {
            order_id: e.order_id.to_string(),
            amount_cents: e.amount.minor(),
            reason: e.reason.clone(),
        }),
        Event::PaymentRefunded(e) => Wire::PaymentRefunded(PaymentRefundedV1 {
            order_id: e.order_id.to_string(),
            amount_cents: e.amount.minor(),
            transaction_id: e.transaction_id.clone(),
        }),
        Event::PaymentSkipped(e) => Wire::PaymentSkipped(PaymentSkippedV1 {
            order_id: e.order_id.to_string(),
            amount_cents: e.amount.minor(),
            reason: e.reason.clone(),
        }),
        Event::StockLevelSet(e) => Wire::StockLevelSet(StockLevelSetV1 {
            sku: e.sku.to_string(),
            available: i64::try_from(e.available).unwrap_or(i64::MAX),
        }),
        Event::StockAllocated(e) => Wire::StockAllocated(StockAllocatedV1 {
            sku: e.sku.to_string(),
            order_id: e.order_id.to_string(),
            quantity: quantity_to_wire(e.quantity),
        }),
        Event::StockDeallocated(e) => Wire::StockDeallocated(StockDeallocatedV1 {
            sku: e.sku.to_string(),
            order_id: e.order_id.to_string(),
            quantity: quantity_to_wire(e.quantity),
        }),
        Event::StockReserved(e) => Wire::StockReserved(StockReservedV1 {
            order_id: e.order_id.to_string(),
            items: lines_to_wire(&e.items),
        }),
        Event::StockUnavailable(e) => Wire::StockUnavailable(StockUnavailableV1 {
            order_id: e.order_id.to_string(),
            reason: e.reason.clone(),
        }),
        Event::StockReleased(e) => Wire::StockReleased(StockReleasedV1 {
            order_id: e.order_id.to_string(),
            items: lines_to_wire(&e.items),
        }),
        Event::StockShipped(e) => Wire::StockShipped(StockShippedV1 {
            sku: e.sku.to_string(),
            order_id: e.order_id.to_string(),
            quantity: quantity_to_wire(e.quantity),
        }),
        Event::StockFulfilled(e) => Wire::StockFulfilled(StockFulfilledV1 {
            order_id: e.order_id.to_string(),
            items: lines_to_wire(&e.items),
        }),
        Event::ShipmentDispatched(e) => Wire::ShipmentDispatched(ShipmentDispatchedV1 {
            order_id: e.order_id.to_string(),
            tracking_number: e.tracking_number.clone(),
        }),
        Event::NotificationSent(e) => Wire::NotificationSent(NotificationSentV1 {
            order_id: e.order_id.to_string(),
            kind: kind_to_wire(e.kind),
            recipient: e.recipient.clone(),
            message_id: e.message_id.clone(),
        }),
        Event::NotificationFailed(e) => Wire::NotificationFailed(NotificationFailedV1 {
            order_id: e.order_id.to_string(),
            kind: kind_to_wire(e.kind),
            recipient: e.recipient.clone(),
            reason: e.reason.clone(),
        }),
    }
}

/// Decodes an event of type `event_type` from a deserializer-like source: `read` is
/// asked for the wire struct the type uses.
pub fn from_wire<R: WireSource>(event_type: &str, read: R) -> Result<Event, CodecError> {
    let order = |s: String| OrderId::parse(s).map_err(CodecError::Invalid);
    let money = |m: i64| Money::from_minor(m).map_err(CodecError::Invalid);
    let event: Event = match event_type {
        "OrderCreated" => {
            let w: OrderCreatedV2 = read.read()?;
            let lines = w
                .items
                .into_iter()
                .map(|i| {
                    Ok(OrderLine {
                        sku: Sku::parse(i.sku)?,
                        quantity: Quantity::new(i.quantity.into())?,
                        unit_price: Money::from_major(i.unit_price)?,
                    })
                })
                .collect::<Result<Vec<_>, DomainError>>()
                .and_then(OrderLines::new)
                .map_err(CodecError::Invalid)?;
            OrderCreated {
                order_id: order(w.order_id)?,
                customer_id: CustomerId::parse(w.customer_id).map_err(CodecError::Invalid)?,
                lines,
                timestamp: Timestamp(w.timestamp),
                currency: Currency::parse(w.currency).map_err(CodecError::Invalid)?,
                shipping_address: w.shipping_address,
            }
            .into()
        }
        "OrderConfirmed" => {
            let w: OrderConfirmedV1 = read.read()?;
            OrderConfirmed {
                order_id: order(w.order_id)?,
            }
            .into()
        }
        "OrderCancelled" => {
            let w: OrderCancelledV1 = read.read()?;
            OrderCancelled {
                order_id: order(w.order_id)?,
                reason: w.reason,
            }
            .into()
        }
        "OrderShipped" => {
            let w: OrderShippedV1 = read.read()?;
            OrderShipped {
                order_id: order(w.order_id)?,
                tracking_number: w.tracking_number,
            }
            .into()
        }
        "PaymentReceived" => {
            let w: PaymentReceivedV1 = read.read()?;
            PaymentReceived {
                order_id: order(w.order_id)?,
                amount: money(w.amount_cents)?,
                transaction_id: w.transaction_id,
            }
            .into()
        }
        "PaymentDeclined" => {
            let w: PaymentDeclinedV1 = read.read()?;
            PaymentDeclined {
                order_id: order(w.order_id)?,
                amount: money(w.amount_cents)?,
                reason: w.reason,
            }
            .into()
        }
        "PaymentRefunded" => {
            let w: PaymentRefundedV1 = read.read()?;
            PaymentRefunded {
                order_id: order(w.order_id)?,
                amount: money(w.amount_cents)?,
                transaction_id: w.transaction_id,
            }
            .into()
        }
        "PaymentSkipped" => {
            let w: PaymentSkippedV1 = read.read()?;
            PaymentSkipped {
                order_id: order(w.order_id)?,
                amount: money(w.amount_cents)?,
                reason: w.reason,
            }
            .into()
        }
        "StockLevelSet" => {
            let w: StockLevelSetV1 = read.read()?;
            StockLevelSet {
                sku: Sku::parse(w.sku).map_err(CodecError::Invalid)?,
                available: u64::try_from(w.available).map_err(|_| {
                    CodecError::Invalid(DomainError::InvalidValue {
                        what: "available",
                        reason: format!("{} is negative", w.available),
                    })
                })?,
            }
            .into()
        }
        "StockAllocated" => {
            let w: StockAllocatedV1 = read.read()?;
            StockAllocated {
                sku: Sku::parse(w.sku).map_err(CodecError::Invalid)?,
                order_id: order(w.order_id)?,
                quantity: Quantity::new(w.quantity.into()).map_err(CodecError::Invalid)?,
            }
            .into()
        }
        "StockDeallocated" => {
            let w: StockDeallocatedV1 = read.read()?;
            StockDeallocated {
                sku: Sku::parse(w.sku).map_err(CodecError::Invalid)?,
                order_id: order(w.order_id)?,
                quantity: Quantity::new(w.quantity.into()).map_err(CodecError::Invalid)?,
            }
            .into()
        }
        "StockReserved" => {
            let w: StockReservedV1 = read.read()?;
            StockReserved {
                order_id: order(w.order_id)?,
                items: lines_from_wire(w.items).map_err(CodecError::Invalid)?,
            }
            .into()
        }
        "StockReleased" => {
            let w: StockReleasedV1 = read.read()?;
            StockReleased {
                order_id: order(w.order_id)?,
                items: lines_from_wire(w.items).map_err(CodecError::Invalid)?,
            }
            .into()
        }
        "StockShipped" => {
            let w: StockShippedV1 = read.read()?;
            StockShipped {
                sku: Sku::parse(w.sku).map_err(CodecError::Invalid)?,
                order_id: order(w.order_id)?,
                quantity: Quantity::new(w.quantity.into()).map_err(CodecError::Invalid)?,
            }
            .into()
        }
        "StockFulfilled" => {
            let w: StockFulfilledV1 = read.read()?;
            StockFulfilled {
                order_id: order(w.order_id)?,
                items: lines_from_wire(w.items).map_err(CodecError::Invalid)?,
            }
            .into()
        }
        "StockUnavailable" => {
            let w: StockUnavailableV1 = read.read()?;
            StockUnavailable {
                order_id: order(w.order_id)?,
                reason: w.reason,
            }
            .into()
        }
        "ShipmentDispatched" => {
            let w: ShipmentDispatchedV1 = read.read()?;
            ShipmentDispatched {
                order_id: order(w.order_id)?,
                tracking_number: w.tracking_number,
            }
            .into()
        }
        "NotificationSent" => {
            let w: NotificationSentV1 = read.read()?;
            NotificationSent {
                order_id: order(w.order_id)?,
                kind: kind_from_wire(w.kind),
                recipient: w.recipient,
                message_id: w.message_id,
            }
            .into()
        }
        "NotificationFailed" => {
            let w: NotificationFailedV1 = read.read()?;
            NotificationFailed {
                order_id: order(w.order_id)?,
                kind: kind_from_wire(w.kind),
                recipient: w.recipient,
                reason: w.reason,
            }
            .into()
        }
        other => {
            return Err(CodecError::UnknownType {
                id: 0,
                name: other.to_owned(),
            });
        }
    };
    Ok(event)
}

/// Where `from_wire` gets the wire struct from (Avro bytes, a resolved Avro value).
pub trait WireSource {
    fn read<T: serde::de::DeserializeOwned>(self) -> Result<T, CodecError>;
}

fn kind_to_wire(kind: NotificationKind) -> NotificationKindV1 {
    match kind {
        NotificationKind::OrderReceived => NotificationKindV1::OrderReceived,
        NotificationKind::OrderShipped => NotificationKindV1::OrderShipped,
        NotificationKind::OrderCancelled => NotificationKindV1::OrderCancelled,
    }
}

fn kind_from_wire(kind: NotificationKindV1) -> NotificationKind {
    match kind {
        NotificationKindV1::OrderReceived => NotificationKind::OrderReceived,
        NotificationKindV1::OrderShipped => NotificationKind::OrderShipped,
        NotificationKindV1::OrderCancelled => NotificationKind::OrderCancelled,
    }
}
