//! Domain events to their wire shapes.

use orderflow_domain::events::*;
use orderflow_domain::{Personal, Quantity, StockLine};

use super::*;

/// Converts a domain event to its wire shape.
pub fn to_wire(event: &Event) -> Wire {
    match event {
        Event::OrderCreated(e) => Wire::OrderCreated(OrderCreatedV3 {
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
            shipping_address: e.shipping_address.as_ref().and_then(personal_to_wire),
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
        Event::StepFailed(e) => Wire::StepFailed(StepFailedV1 {
            order_id: e.order_id.to_string(),
            step: e.step.clone(),
            event_type: e.event_type.clone(),
            reason: e.reason.clone(),
            topic: e.topic.clone(),
            // Kafka's partitions are an int32, its offsets an int64.
            partition: i32::try_from(e.partition).unwrap_or(i32::MAX),
            offset: i64::try_from(e.offset).unwrap_or(i64::MAX),
            at: e.at.0,
        }),
        Event::CustomerForgotten(e) => Wire::CustomerForgotten(CustomerForgottenV1 {
            customer_id: e.customer_id.to_string(),
            reason: e.reason.clone(),
            by: e.by.clone(),
            keys_destroyed: i32::try_from(e.keys_destroyed).unwrap_or(i32::MAX),
            at: e.at.0,
        }),
    }
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

fn kind_to_wire(kind: NotificationKind) -> NotificationKindV1 {
    match kind {
        NotificationKind::OrderReceived => NotificationKindV1::OrderReceived,
        NotificationKind::OrderShipped => NotificationKindV1::OrderShipped,
        NotificationKind::OrderCancelled => NotificationKindV1::OrderCancelled,
    }
}

/// A personal value as written: its sealed bytes. A clear value reaches here only for
/// display (`to_json`): the codec refuses to encode one.
fn personal_to_wire(value: &Personal) -> Option<Vec<u8>> {
    match value {
        Personal::Sealed(bytes) => Some(bytes.clone()),
        Personal::Clear { text, .. } => Some(text.clone().into_bytes()),
        Personal::Erased => None,
    }
}
