//! Read-model ports: the query side of CQRS. A read model is the stored query side (order
//! and stock summaries, analytics); projections compute its rows from events and hand them
//! over in batches, each committed atomically with the position it reached, so
//! a crash can neither apply an event twice nor skip one. Analytics reads the bus, and
//! commits its offsets with its counts the same way (the offsets live with the sink).
//! A rebuild makes them again beside the live ones ([`generations`]).

pub mod generations;

use std::collections::BTreeMap;
use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use orderflow_domain::{CustomerId, Personal};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::bus::Offset;
use crate::keys::seal::MAGIC;
use crate::store::StoreError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderLineSummary {
    pub sku: String,
    pub quantity: u32,
    pub unit_price_cents: i64,
}

/// An order as the read side shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderSummary {
    pub order_id: String,
    pub customer_id: String,
    pub status: String,
    pub items: Vec<OrderLineSummary>,
    pub total_cents: i64,
    pub currency: String,
    /// As the event store holds it: sealed under the customer's key, never in the clear
    /// (but for an order recorded before addresses were sealed). Readers with the key
    /// store open it ([`crate::keys::seal::open_personal`]); once the customer is
    /// forgotten it opens as erased.
    pub shipping_address: Option<Personal>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub cancel_reason: Option<String>,
    pub tracking_number: Option<String>,
    /// Steps about the order that failed for good, and why (an email that could not
    /// be sent).
    pub failures: Vec<String>,
}

/// A shipping address as a read model stores it: the sealed bytes, or the text of one
/// recorded before addresses were sealed; nothing for an erased one.
pub fn address_to_stored(address: &Personal) -> Option<&[u8]> {
    match address {
        Personal::Sealed(bytes) => Some(bytes),
        Personal::Clear { text, .. } => Some(text.as_bytes()),
        Personal::Erased => None,
    }
}

/// A shipping address a read model stored for `customer_id`'s order, read back.
pub fn address_from_stored(customer_id: &str, bytes: Vec<u8>) -> Result<Personal, StoreError> {
    if bytes.starts_with(&MAGIC) {
        return Ok(Personal::Sealed(bytes));
    }
    let corrupt = |what: &str| {
        StoreError::Corrupt(format!(
            "the shipping address of an order of {customer_id}: {what}"
        ))
    };
    let text = String::from_utf8(bytes).map_err(|_| corrupt("neither sealed nor text"))?;
    let subject = CustomerId::parse(customer_id).map_err(|_| corrupt("no customer id"))?;
    Ok(Personal::Clear { subject, text })
}

/// One SKU's stock as the read side shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockSummary {
    pub sku: String,
    pub available: u64,
    pub reserved: u64,
}

/// Which orders [`ReadModel::list_orders`] lists; every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderQuery {
    pub status: Option<String>,
    pub customer_id: Option<String>,
    /// Created at or after.
    pub created_from: Option<DateTime<Utc>>,
    /// Created before.
    pub created_to: Option<DateTime<Utc>>,
    /// Not shipped or cancelled, and unchanged since before this moment (stuck).
    pub unchanged_since: Option<DateTime<Utc>>,
    /// Only orders after this one in the list's order (newest first): the last one of
    /// the page before.
    pub after: Option<OrderCursor>,
    pub limit: usize,
}

/// A place in the list of orders, newest first: an order's creation time and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderCursor {
    pub created_at: DateTime<Utc>,
    pub order_id: String,
}

/// Summaries changed by a run of events, and the global position the run ended at: the
/// summaries are whole (each as it stands at `position`), so a batch may be stored over
/// read models anywhere between where its run started and `position`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadModelBatch {
    pub orders: Vec<OrderSummary>,
    pub stock: Vec<StockSummary>,
    /// Customers forgotten in the batch: every order of theirs loses its shipping
    /// address, in the same transaction, after the summaries are stored.
    pub forgotten: Vec<String>,
    pub position: u64,
}

/// The order and stock summaries, with the position they reflect.
#[async_trait]
pub trait ReadModel: Send + Sync + fmt::Debug {
    /// Stores the summaries and the new position in one transaction, unless the read
    /// models are already at or past the batch's position (a rebuild swapped in while
    /// the batch was made): then it changes nothing.
    async fn apply(&self, batch: ReadModelBatch) -> Result<(), StoreError>;
    /// The global position every summary reflects (0 before any event).
    async fn position(&self) -> Result<u64, StoreError>;
    async fn order(&self, order_id: &str) -> Result<Option<OrderSummary>, StoreError>;
    /// The summaries of these orders that exist, in any order.
    async fn orders(&self, order_ids: &[String]) -> Result<Vec<OrderSummary>, StoreError>;
    async fn customer_orders(&self, customer_id: &str) -> Result<Vec<OrderSummary>, StoreError>;
    /// The orders `query` selects, newest first (by creation, then by id, descending),
    /// at most `query.limit`.
    async fn list_orders(&self, query: &OrderQuery) -> Result<Vec<OrderSummary>, StoreError>;
    /// Orders not yet shipped or cancelled, oldest first (by creation), at most `limit`.
    async fn open_orders(&self, limit: usize) -> Result<Vec<OrderSummary>, StoreError>;
    async fn stock(&self, sku: &str) -> Result<Option<StockSummary>, StoreError>;
    /// The summaries of these SKUs that exist, in any order.
    async fn stocks(&self, skus: &[String]) -> Result<Vec<StockSummary>, StoreError>;
}

/// What one event changes in the analytics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnalyticsChange {
    /// The order now has this status.
    OrderStatus { order_id: String, status: String },
    /// Revenue of a UTC day (YYYY-MM-DD) moves by this many cents (refunds are negative).
    Revenue { day: String, delta_cents: i64 },
}

/// Orders per status and revenue per day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalyticsSummary {
    pub orders_by_status: BTreeMap<String, u64>,
    pub revenue_cents_by_day: BTreeMap<String, i64>,
}

/// One bus record as analytics applies it: where it sits on the bus, the event it
/// carries, and what that changes (nothing, for an event analytics does not count: its
/// partition's offset moves on all the same).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalyticsRecord {
    pub topic: String,
    pub partition: u32,
    pub offset: u64,
    pub event_id: Uuid,
    pub changes: Vec<AnalyticsChange>,
}

/// How far analytics has read the bus: the bus it read ([`EventBus::identity`], `None`
/// when that bus cannot tell) and, per partition, the next offset to apply.
///
/// [`EventBus::identity`]: crate::bus::EventBus::identity
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnalyticsOffsets {
    pub bus: Option<String>,
    pub next: Vec<Offset>,
}

/// Analytics storage: the counts and the bus offsets they reflect, committed together,
/// so that counts and position are always each other's (a store restored or made again
/// knows exactly where on the bus to resume). Deduplicated twice: a record below its
/// partition's stored offset is skipped, and so is an event recorded before.
/// Its events can also be counted straight from the event store ([`CountEvents`]): what
/// a rebuild and a backfill do.
///
/// [`CountEvents`]: generations::CountEvents
#[async_trait]
pub trait AnalyticsStore: generations::CountEvents + Send + Sync + fmt::Debug {
    /// In one transaction: applies the record's changes, unless its partition's stored
    /// offset is already past it or its event was recorded before (a replay, a
    /// redelivery), and moves that offset past it. A partition's records must come in
    /// offset order. Returns whether its changes were applied.
    async fn record(&self, record: AnalyticsRecord) -> Result<bool, StoreError>;
    /// Where analytics stands on the bus.
    async fn offsets(&self) -> Result<AnalyticsOffsets, StoreError>;
    /// Reads `bus` from its start from now on: forgets the offsets stored for another
    /// bus and records this one's identity, keeping the counts and the events seen, so
    /// that a bus carrying the same events again counts none of them twice.
    async fn start_on_bus(&self, bus: Option<String>) -> Result<(), StoreError>;
    async fn summary(&self) -> Result<AnalyticsSummary, StoreError>;
}
