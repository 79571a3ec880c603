//! The order as the API shows it, rendered here only: from its read-model summary, or
//! folded from its events as of a moment; and the other answers about orders.

use chrono::{DateTime, Utc};
use orderflow_core::codec::{CodecError, to_json};
use orderflow_core::keys::KeyStore;
use orderflow_core::keys::seal;
use orderflow_core::read_model::OrderSummary;
use orderflow_core::store::StoredEvent;
use orderflow_domain::Event;
use orderflow_domain::Personal;
use orderflow_domain::order::OrderState;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

use super::waiting::WaitingBody;
use crate::context::ServiceError;
use crate::http::ApiError;
use crate::http::read_your_writes::ReadAt;

/// An order.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderBody {
    order_id: String,
    customer_id: String,
    /// `PENDING`, `CONFIRMED`, `PAID`, `SHIPPED`, `CANCELLED` or `FAILED`.
    status: String,
    items: Vec<ItemBody>,
    /// The sum of the lines, in major units (`39.98`).
    total_amount: f64,
    /// ISO 4217.
    currency: String,
    shipping_address: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    cancel_reason: Option<String>,
    tracking_number: Option<String>,
    /// Steps about the order that failed for good, and why; from the read model only
    /// (absent from an answer `as_of` a moment).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    failures: Option<Vec<String>>,
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ItemBody {
    sku: String,
    quantity: u32,
    /// In major units (`19.99`).
    unit_price: f64,
}

fn major(cents: i64) -> f64 {
    cents as f64 / 100.0
}

impl OrderBody {
    /// The order as the read model has it, with its address as opened by
    /// [`OrderBody::opened`].
    fn from_summary(summary: &OrderSummary, shipping_address: Option<String>) -> Self {
        Self {
            order_id: summary.order_id.clone(),
            customer_id: summary.customer_id.clone(),
            status: summary.status.clone(),
            items: summary
                .items
                .iter()
                .map(|i| ItemBody {
                    sku: i.sku.clone(),
                    quantity: i.quantity,
                    unit_price: major(i.unit_price_cents),
                })
                .collect(),
            total_amount: major(summary.total_cents),
            currency: summary.currency.clone(),
            shipping_address,
            created_at: summary.created_at,
            updated_at: summary.updated_at,
            cancel_reason: summary.cancel_reason.clone(),
            tracking_number: summary.tracking_number.clone(),
            failures: Some(summary.failures.clone()),
        }
    }

    /// The orders' summaries, their shipping addresses opened with the key store (as
    /// the read models keep them, sealed) or read as erased.
    pub async fn opened(
        keys: &dyn KeyStore,
        summaries: &[OrderSummary],
    ) -> Result<Vec<Self>, ApiError> {
        let mut bodies = Vec::with_capacity(summaries.len());
        for summary in summaries {
            let address = match &summary.shipping_address {
                Some(address) => seal::open_personal(keys, address.clone())
                    .await
                    .map_err(|e| ServiceError::Codec(CodecError::Keys(e)))?
                    .text()
                    .map(str::to_owned),
                None => None,
            };
            bodies.push(Self::from_summary(summary, address));
        }
        Ok(bodies)
    }

    /// The order folded from its events, the first `created` and the last `updated`.
    pub fn from_state(state: &OrderState, created: DateTime<Utc>, updated: DateTime<Utc>) -> Self {
        Self {
            order_id: state.order_id.as_str().to_owned(),
            customer_id: state.customer_id.as_str().to_owned(),
            status: state.status.as_str().to_owned(),
            items: state
                .lines
                .lines()
                .iter()
                .map(|l| ItemBody {
                    sku: l.sku.as_str().to_owned(),
                    quantity: l.quantity.get(),
                    unit_price: l.unit_price.to_major(),
                })
                .collect(),
            total_amount: state.lines.total().to_major(),
            currency: state.currency.as_str().to_owned(),
            shipping_address: state
                .shipping_address
                .as_ref()
                .and_then(Personal::text)
                .map(str::to_owned),
            created_at: created,
            updated_at: updated,
            cancel_reason: state.cancel_reason.clone(),
            tracking_number: state.tracking_number.clone(),
            failures: None,
        }
    }
}

/// `GET /orders/{order_id}`: the order from the read model.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderRead {
    #[serde(flatten)]
    pub order: OrderBody,
    #[serde(flatten)]
    pub read_at: ReadAt,
    /// The steps the order still waits for, from the event store (empty once it is
    /// final and its emails are settled), each with how its consumer group stands.
    pub waiting_for: Vec<WaitingBody>,
}

/// `GET /orders/{order_id}`: from the read model, or as of a moment.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum OrderAnswer {
    Read(OrderRead),
    AsOf(OrderAsOf),
}

/// `GET /orders/{order_id}?as_of=`: the order as it was at a moment.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderAsOf {
    #[serde(flatten)]
    pub order: OrderBody,
    /// The moment asked for.
    pub as_of: DateTime<Utc>,
    /// The position of the order's last event until then.
    pub position: u64,
}

/// `GET /customers/{customer_id}/orders`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerOrders {
    pub customer_id: String,
    pub orders: Vec<OrderBody>,
    /// The cursor of the next page; null on the last one.
    pub next: Option<String>,
    #[serde(flatten)]
    pub read_at: ReadAt,
}

/// `GET /customers/{customer_id}/orders`: from the read model, or as of a moment.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum CustomerOrdersAnswer {
    Read(CustomerOrders),
    AsOf(CustomerOrdersAsOf),
}

/// `GET /customers/{customer_id}/orders?as_of=`: the customer's orders as they were.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerOrdersAsOf {
    pub customer_id: String,
    /// The orders that existed then, each as it was.
    pub orders: Vec<OrderBody>,
    /// The cursor of the next page (of the read model's list); null on the last one.
    pub next: Option<String>,
    /// The moment asked for.
    pub as_of: DateTime<Utc>,
}

/// The answer to a command on an order (`202`): placed or cancelled.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Accepted {
    pub order_id: String,
    /// `PENDING` once placed (or the order's status when an `Idempotency-Key` placed it
    /// before), `CANCELLED` once cancelled.
    pub status: String,
    /// The global position of the command's last event: a `min_position` to read it.
    pub position: u64,
}

/// `GET /orders/{order_id}/history`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct History {
    pub order_id: String,
    pub events: Vec<HistoryEvent>,
}

/// One event about an order, with its envelope.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEvent {
    event_id: Uuid,
    /// The event's name (`OrderCreated`).
    #[serde(rename = "type")]
    event_type: String,
    stream: String,
    version: u64,
    position: u64,
    occurred_at: DateTime<Utc>,
    recorded_at: DateTime<Utc>,
    causation_id: Option<Uuid>,
    actor: String,
    /// The trace the event was recorded in (the W3C trace id of the request that placed
    /// the order), when it has one.
    trace_id: Option<String>,
    schema_id: u32,
    /// The event's data as JSON (its members depend on `type`), or
    /// `{"undecodable": reason}` for an event this version cannot read.
    #[schema(value_type = Object)]
    data: Value,
}

impl HistoryEvent {
    pub fn new(stored: StoredEvent, decoded: Result<Event, CodecError>) -> Self {
        let data = match decoded {
            Ok(event) => to_json(&event),
            Err(err) => json!({ "undecodable": err.to_string() }),
        };
        Self {
            event_id: stored.event_id,
            event_type: stored.event_type,
            stream: stored.stream_id,
            version: stored.version,
            position: stored.position,
            occurred_at: stored.occurred_at,
            recorded_at: stored.recorded_at,
            causation_id: stored.causation_id,
            trace_id: stored
                .trace_context
                .as_deref()
                .and_then(orderflow_core::trace_context::trace_id)
                .map(str::to_owned),
            actor: stored.actor,
            schema_id: stored.schema_id,
            data,
        }
    }
}
