//! The event store port: the source of truth.
//!
//! # Layout
//!
//! - `memory.rs`: a store (and checkpoints) in memory, for tests and tools.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

mod import;
mod memory;

pub use import::{ImportEvents, check_import};
pub use memory::InMemoryEventStore;

/// An event about to be appended: its payload is already encoded (Avro) and carries the
/// id of the schema it was written with.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_id: u32,
    pub payload: Vec<u8>,
    pub occurred_at: DateTime<Utc>,
    /// The order the event is about (or the SKU, for stock levels set by hand).
    pub correlation_id: String,
    /// The event that caused this one, if any.
    pub causation_id: Option<Uuid>,
    /// Who recorded it, and through what: `api`, `payment`, `orders`, ….
    pub actor: String,
    /// The W3C `traceparent` of the work that recorded it (see [`crate::trace_context`]),
    /// so whoever handles the event later continues the order's trace.
    pub trace_context: Option<String>,
}

/// An event as recorded, with its place in its stream and in the global order.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// Global position: strictly increasing in commit order, starting at 1.
    pub position: u64,
    pub stream_id: String,
    /// Version within the stream, starting at 1.
    pub version: u64,
    pub recorded_at: DateTime<Utc>,
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_id: u32,
    pub payload: Vec<u8>,
    pub occurred_at: DateTime<Utc>,
    pub correlation_id: String,
    pub causation_id: Option<Uuid>,
    pub actor: String,
    /// The W3C `traceparent` it was recorded under, if any.
    pub trace_context: Option<String>,
}

/// What the writer believes the stream's current version is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// No check.
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream's last event must have this version.
    Exact(u64),
}

impl ExpectedVersion {
    /// The expectation matching a stream read up to `version` (0 = empty).
    pub fn after(version: u64) -> Self {
        if version == 0 {
            ExpectedVersion::NoStream
        } else {
            ExpectedVersion::Exact(version)
        }
    }

    pub fn matches(self, actual: u64) -> bool {
        match self {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => actual == 0,
            ExpectedVersion::Exact(v) => v == actual,
        }
    }
}

impl fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpectedVersion::Any => f.write_str("any version"),
            ExpectedVersion::NoStream => f.write_str("no stream"),
            ExpectedVersion::Exact(v) => write!(f, "version {v}"),
        }
    }
}

/// Events for one stream, with the writer's expectation.
#[derive(Debug, Clone, PartialEq)]
pub struct AppendRequest {
    pub stream_id: String,
    pub expected: ExpectedVersion,
    pub events: Vec<NewEvent>,
}

/// Where one stream's appended events landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// Version of the last event appended (unchanged if no events were given).
    pub version: u64,
    /// Global position of the last event appended (0 if none).
    pub position: u64,
}

/// Moves a store's watched head to the highest position in `appended`, for
/// [`EventStore::wait_for_append`]-style followers: never back (appends that finish out of
/// order must not lower it), and waking the followers only when it moved.
pub fn advance_head(head: &tokio::sync::watch::Sender<u64>, appended: &[Appended]) {
    if let Some(last) = appended.iter().map(|a| a.position).max() {
        head.send_if_modified(|head| {
            let moved = last > *head;
            *head = (*head).max(last);
            moved
        });
    }
}

/// Which part of a stream to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StreamQuery {
    /// Only events with a version greater than this.
    pub after_version: u64,
    /// Only events up to and including this version.
    pub up_to_version: Option<u64>,
    /// Only events that occurred at or before this time.
    pub until: Option<DateTime<Utc>>,
}

impl StreamQuery {
    pub fn all() -> Self {
        Self::default()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("stream {stream_id} expected {expected} but is at version {actual}")]
    WrongExpectedVersion {
        stream_id: String,
        expected: ExpectedVersion,
        actual: u64,
    },
    #[error("event {0} was already recorded")]
    DuplicateEvent(Uuid),
    #[error("the event store is unavailable: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the event store holds corrupt data: {0}")]
    Corrupt(String),
    /// Events to import that do not continue the store (see [`ImportEvents`]): nothing of
    /// them was written, and trying again will not help.
    #[error("cannot import: {0}")]
    ImportRefused(String),
}

impl StoreError {
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::WrongExpectedVersion { .. })
    }
}

/// Append-only storage of event streams, with a global order.
#[async_trait]
pub trait EventStore: Send + Sync + fmt::Debug {
    /// Appends to one or more streams atomically: either every request is recorded or
    /// none is. A failed expectation is [`StoreError::WrongExpectedVersion`].
    async fn append(&self, requests: Vec<AppendRequest>) -> Result<Vec<Appended>, StoreError>;

    /// Reads part of one stream, in version order.
    async fn read_stream(
        &self,
        stream_id: &str,
        query: StreamQuery,
    ) -> Result<Vec<StoredEvent>, StoreError>;

    /// Reads up to `limit` events with a global position greater than `after`, in order.
    /// Never skips an event that becomes visible later at a lower position.
    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError>;

    /// Every event with this correlation id (every service's events about one order), in
    /// global order.
    async fn read_correlated(&self, correlation_id: &str) -> Result<Vec<StoredEvent>, StoreError>;

    /// What a caller holding an earlier [`read_correlated`](Self::read_correlated) of this
    /// correlation id, whose last event was at position `seen`, does not have yet: at
    /// least every event of the correlation id visible now and not then, in global order.
    /// It may also return events the caller has, and callers merge by position. The
    /// default reads them all, which is right wherever an event can become visible after
    /// one at a higher position (PostgreSQL's positions, say); an adapter whose positions
    /// become visible strictly in order returns only those after `seen`.
    async fn read_correlated_since(
        &self,
        correlation_id: &str,
        seen: u64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let _ = seen;
        self.read_correlated(correlation_id).await
    }

    /// The global position of the last recorded event (0 when empty).
    async fn head_position(&self) -> Result<u64, StoreError>;

    /// Returns once an event past global position `after` may have been appended, or
    /// after `timeout` at the latest. Followers of the store (the relay, projections)
    /// call it when a read from `after` came back empty; an adapter that knows of its own
    /// appends returns at once for an append that committed before the call (none is
    /// missed between the read and the wait), and the timeout bounds the wait for appends
    /// by other processes.
    async fn wait_for_append(&self, after: u64, timeout: std::time::Duration) {
        let _ = after;
        tokio::time::sleep(timeout).await;
    }
}

/// Named positions that survive restarts (the relay's, a projection's).
#[async_trait]
pub trait Checkpoints: Send + Sync + fmt::Debug {
    async fn load(&self, name: &str) -> Result<Option<u64>, StoreError>;
    async fn save(&self, name: &str, position: u64) -> Result<(), StoreError>;
}
