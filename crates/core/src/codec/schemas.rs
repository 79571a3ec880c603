//! The schemas of the event contract, compiled in from `schemas/`: the current ones,
//! their history, and the legacy types read through upcasters.

use std::sync::LazyLock;

use apache_avro::Schema;
use orderflow_domain::EventType;

/// The `.avsc` files of the repository, compiled in: the current reader and writer schemas.
pub const SCHEMA_FILES: &[(EventType, &str)] = &[
    (
        EventType::OrderCreated,
        include_str!("../../../../schemas/OrderCreated.avsc"),
    ),
    (
        EventType::OrderConfirmed,
        include_str!("../../../../schemas/OrderConfirmed.avsc"),
    ),
    (
        EventType::OrderCancelled,
        include_str!("../../../../schemas/OrderCancelled.avsc"),
    ),
    (
        EventType::OrderShipped,
        include_str!("../../../../schemas/OrderShipped.avsc"),
    ),
    (
        EventType::PaymentReceived,
        include_str!("../../../../schemas/PaymentReceived.avsc"),
    ),
    (
        EventType::PaymentDeclined,
        include_str!("../../../../schemas/PaymentDeclined.avsc"),
    ),
    (
        EventType::PaymentRefunded,
        include_str!("../../../../schemas/PaymentRefunded.avsc"),
    ),
    (
        EventType::StockLevelSet,
        include_str!("../../../../schemas/StockLevelSet.avsc"),
    ),
    (
        EventType::StockAllocated,
        include_str!("../../../../schemas/StockAllocated.avsc"),
    ),
    (
        EventType::StockDeallocated,
        include_str!("../../../../schemas/StockDeallocated.avsc"),
    ),
    (
        EventType::StockReserved,
        include_str!("../../../../schemas/StockReserved.avsc"),
    ),
    (
        EventType::StockUnavailable,
        include_str!("../../../../schemas/StockUnavailable.avsc"),
    ),
    (
        EventType::StockReleased,
        include_str!("../../../../schemas/StockReleased.avsc"),
    ),
    (
        EventType::StockShipped,
        include_str!("../../../../schemas/StockShipped.avsc"),
    ),
    (
        EventType::StockFulfilled,
        include_str!("../../../../schemas/StockFulfilled.avsc"),
    ),
    (
        EventType::ShipmentDispatched,
        include_str!("../../../../schemas/ShipmentDispatched.avsc"),
    ),
    (
        EventType::NotificationSent,
        include_str!("../../../../schemas/NotificationSent.avsc"),
    ),
    // Added last: types are registered in this order, so the ids earlier types get in a
    // new registry stay as they were.
    (
        EventType::PaymentSkipped,
        include_str!("../../../../schemas/PaymentSkipped.avsc"),
    ),
    (
        EventType::NotificationFailed,
        include_str!("../../../../schemas/NotificationFailed.avsc"),
    ),
    (
        EventType::StepFailed,
        include_str!("../../../../schemas/StepFailed.avsc"),
    ),
    (
        EventType::CustomerForgotten,
        include_str!("../../../../schemas/CustomerForgotten.avsc"),
    ),
];

/// Earlier versions of the schemas, oldest first: registered before the current ones so
/// the registry holds the whole history.
pub const HISTORY_FILES: &[(EventType, &str)] = &[
    (
        EventType::OrderCreated,
        include_str!("../../../../schemas/history/OrderCreated.v1.avsc"),
    ),
    (
        EventType::OrderCreated,
        include_str!("../../../../schemas/history/OrderCreated.v2.avsc"),
    ),
];

/// Schemas of event types that are no longer written, read through upcasters.
pub const LEGACY_FILES: &[(&str, &str)] = &[(
    "OrderPlaced",
    include_str!("../../../../schemas/legacy/OrderPlaced.avsc"),
)];

pub(super) static SCHEMAS: LazyLock<Vec<(EventType, Schema)>> = LazyLock::new(|| {
    SCHEMA_FILES
        .iter()
        .map(|(name, text)| {
            let schema = Schema::parse_str(text)
                .unwrap_or_else(|e| panic!("schemas/{name}.avsc is not valid Avro: {e}"));
            (*name, schema)
        })
        .collect()
});
