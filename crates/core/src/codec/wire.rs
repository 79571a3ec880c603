//! The Avro shapes of the events, field for field as in `schemas/*.avsc`; their
//! conversions from the domain (`to_wire`) and back (`from_wire`, through the domain's
//! parsers, so an event that decodes is valid).

use serde::{Deserialize, Serialize};

use super::CodecError;

mod from_wire;
mod to_wire;

pub use from_wire::from_wire;
pub use to_wire::to_wire;

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
/// `OrderCreated` v3: the shipping address is personal data, sealed under the customer's
/// key (`keys::seal`), so Avro `bytes`; a v2 writer's plaintext string resolves to bytes
/// (Avro promotes `string` to `bytes`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename = "OrderCreated", rename_all = "camelCase")]
pub struct OrderCreatedV3 {
    pub order_id: String,
    pub customer_id: String,
    pub items: Vec<OrderItemV1>,
    pub total_amount: f64,
    pub timestamp: i64,
    pub currency: String,
    #[serde(with = "apache_avro::serde::bytes_opt")]
    pub shipping_address: Option<Vec<u8>>,
}
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
record!(CustomerForgottenV1 = "CustomerForgotten" {
    customer_id: String,
    reason: String,
    by: String,
    keys_destroyed: i32,
    at: i64,
});
record!(StepFailedV1 = "StepFailed" {
    order_id: String,
    step: String,
    event_type: String,
    reason: String,
    topic: String,
    partition: i32,
    offset: i64,
    at: i64,
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
    OrderCreated(OrderCreatedV3),
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
    StepFailed(StepFailedV1),
    CustomerForgotten(CustomerForgottenV1),
}

/// Where `from_wire` gets the wire struct from (Avro bytes, a resolved Avro value).
pub trait WireSource {
    fn read<T: serde::de::DeserializeOwned>(self) -> Result<T, CodecError>;
}
