//! Debugging by replay: one order's history, step by step, each event with the state of
//! the aggregate it changed (`orderflow replay-order`).
//!
//! Every event about the order (all its streams: order, payment, reservation, the SKUs
//! it took stock from, shipment, notification, steps) is read in global order. After
//! each one, the aggregate of its stream is shown as the current code folds it, with
//! the fields the event changed marked. A SKU's stream also holds other orders' events:
//! its state is folded from the whole stream, so it shows the stock as it was.
//!
//! # Layout
//!
//! - `state.rs`: the aggregate of any stream, and its fields as a person reads them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use orderflow_core::codec::{EventCodec, to_json};
use orderflow_core::store::{EventStore, StoreError, StoredEvent, StreamQuery};
use uuid::Uuid;

mod state;

pub use state::{Field, State, diff};

/// One event of an order's history, and the state it left its aggregate in.
#[derive(Debug, Clone)]
pub struct Step {
    pub position: u64,
    pub stream: String,
    pub version: u64,
    /// When it happened: what `--at` and the API's `as_of` go by.
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    pub event_type: String,
    pub event_id: Uuid,
    pub actor: String,
    /// The event that caused it (none for an API request).
    pub causation_id: Option<Uuid>,
    /// The event's data in its wire shape, or why it does not decode.
    pub data: Result<serde_json::Value, String>,
    /// The fields of the stream's aggregate after the event, those it changed marked;
    /// empty for a stream no aggregate of this build holds.
    pub state: Vec<Field>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("no events about order {order_id}{}", at.map(|t| format!(" at or before {}", t.to_rfc3339())).unwrap_or_default())]
    NotFound {
        order_id: String,
        at: Option<DateTime<Utc>>,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Every event about `order_id` that occurred at or before `at` (all of them without
/// it), in global order, each with the state of its stream's aggregate after it.
pub async fn replay_order(
    store: &dyn EventStore,
    codec: &EventCodec,
    order_id: &str,
    at: Option<DateTime<Utc>>,
) -> Result<Vec<Step>, ReplayError> {
    let events: Vec<StoredEvent> = store
        .read_correlated(order_id)
        .await?
        .into_iter()
        .filter(|e| at.is_none_or(|at| e.occurred_at <= at))
        .collect();
    if events.is_empty() {
        return Err(ReplayError::NotFound {
            order_id: order_id.to_owned(),
            at,
        });
    }
    // The versions of each stream whose state a step shows: before and after its event.
    let mut wanted: BTreeMap<&str, BTreeSet<u64>> = BTreeMap::new();
    for e in &events {
        let versions = wanted.entry(&e.stream_id).or_default();
        versions.insert(e.version - 1);
        versions.insert(e.version);
    }
    let mut fields: HashMap<(&str, u64), Vec<(&'static str, String)>> = HashMap::new();
    for (stream, versions) in &wanted {
        for (version, state) in fold_stream(store, codec, stream, versions).await? {
            fields.insert((stream, version), state);
        }
    }
    let mut steps = Vec::with_capacity(events.len());
    for e in &events {
        let data = codec
            .decode(e.schema_id, &e.payload)
            .await
            .map(|event| to_json(&event))
            .map_err(|err| err.to_string());
        let state = match (
            fields.get(&(e.stream_id.as_str(), e.version - 1)),
            fields.get(&(e.stream_id.as_str(), e.version)),
        ) {
            (Some(before), Some(after)) => diff(before, after),
            _ => Vec::new(),
        };
        steps.push(Step {
            position: e.position,
            stream: e.stream_id.clone(),
            version: e.version,
            occurred_at: e.occurred_at,
            recorded_at: e.recorded_at,
            event_type: e.event_type.clone(),
            event_id: e.event_id,
            actor: e.actor.clone(),
            causation_id: e.causation_id,
            data,
            state,
        });
    }
    Ok(steps)
}

/// The fields of `stream`'s aggregate at each of `versions`, folded from its first
/// event; nothing for a stream no aggregate of this build holds. An event that does not
/// decode is left out of the fold (its step says why).
async fn fold_stream(
    store: &dyn EventStore,
    codec: &EventCodec,
    stream: &str,
    versions: &BTreeSet<u64>,
) -> Result<Vec<(u64, Vec<(&'static str, String)>)>, StoreError> {
    let Some(mut state) = State::of_stream(stream) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::with_capacity(versions.len());
    if versions.contains(&0) {
        out.push((0, state.fields()));
    }
    let query = StreamQuery {
        up_to_version: versions.last().copied(),
        ..StreamQuery::all()
    };
    for e in store.read_stream(stream, query).await? {
        if let Ok(event) = codec.decode(e.schema_id, &e.payload).await {
            state.apply(&event);
        }
        if versions.contains(&e.version) {
            out.push((e.version, state.fields()));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
