//! Wire shapes back to domain events, through the domain's parsers.

use orderflow_domain::events::*;
use orderflow_domain::{
    Currency, CustomerId, DomainError, Money, OrderId, OrderLine, OrderLines, Personal, Quantity,
    Sku, StockLine, Timestamp,
};

use super::*;

/// Decodes an event of type `event_type` from a deserializer-like source: `read` is
/// asked for the wire struct the type uses.
pub fn from_wire<R: WireSource>(event_type: &str, read: R) -> Result<Event, CodecError> {
    let order = |s: String| OrderId::parse(s).map_err(CodecError::Invalid);
    let money = |m: i64| Money::from_minor(m).map_err(CodecError::Invalid);
    let event: Event = match event_type {
        "OrderCreated" => {
            let w: OrderCreatedV3 = read.read()?;
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
            let customer_id = CustomerId::parse(w.customer_id).map_err(CodecError::Invalid)?;
            OrderCreated {
                order_id: order(w.order_id)?,
                shipping_address: w
                    .shipping_address
                    .map(|bytes| personal_from_wire(&customer_id, bytes))
                    .transpose()?,
                customer_id,
                lines,
                timestamp: Timestamp(w.timestamp),
                currency: Currency::parse(w.currency).map_err(CodecError::Invalid)?,
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
        "StepFailed" => {
            let w: StepFailedV1 = read.read()?;
            let negative = |what: &'static str| {
                CodecError::Invalid(DomainError::InvalidValue {
                    what,
                    reason: "must not be negative".into(),
                })
            };
            StepFailed {
                order_id: order(w.order_id)?,
                step: w.step,
                event_type: w.event_type,
                reason: w.reason,
                topic: w.topic,
                partition: u32::try_from(w.partition).map_err(|_| negative("partition"))?,
                offset: u64::try_from(w.offset).map_err(|_| negative("offset"))?,
                at: Timestamp(w.at),
            }
            .into()
        }
        "CustomerForgotten" => {
            let w: CustomerForgottenV1 = read.read()?;
            CustomerForgotten {
                customer_id: CustomerId::parse(w.customer_id).map_err(CodecError::Invalid)?,
                reason: w.reason,
                by: w.by,
                keys_destroyed: u32::try_from(w.keys_destroyed).map_err(|_| {
                    CodecError::Invalid(DomainError::InvalidValue {
                        what: "keysDestroyed",
                        reason: "must not be negative".into(),
                    })
                })?,
                at: Timestamp(w.at),
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

fn kind_from_wire(kind: NotificationKindV1) -> NotificationKind {
    match kind {
        NotificationKindV1::OrderReceived => NotificationKind::OrderReceived,
        NotificationKindV1::OrderShipped => NotificationKind::OrderShipped,
        NotificationKindV1::OrderCancelled => NotificationKind::OrderCancelled,
    }
}

/// A personal value as read: sealed (opened later, by a codec with the key store), or a
/// plaintext string from a writer before v3, which is the subject's as written.
fn personal_from_wire(subject: &CustomerId, bytes: Vec<u8>) -> Result<Personal, CodecError> {
    if bytes.starts_with(&crate::keys::seal::MAGIC) {
        return Ok(Personal::Sealed(bytes));
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        CodecError::Invalid(DomainError::InvalidValue {
            what: "shippingAddress",
            reason: "neither sealed nor text".into(),
        })
    })?;
    Ok(Personal::clear(subject, text))
}
