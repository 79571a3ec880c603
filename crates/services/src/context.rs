//! What every service is given: the ports, and helpers to load aggregates and record
//! their decisions.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use orderflow_core::bus::BusError;
use orderflow_core::codec::{CodecError, EventCodec};
use orderflow_core::store::{
    AppendRequest, EventStore, ExpectedVersion, NewEvent, StoreError, StoredEvent, StreamQuery,
};
use orderflow_domain::{Aggregate, DomainError, Event, streams};
use uuid::Uuid;

/// Why handling a command or an event failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Codec(#[from] CodecError),
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error(transparent)]
    Mail(#[from] orderflow_core::mail::MailError),
    #[error(transparent)]
    Payment(#[from] orderflow_core::payment::ProviderError),
}

impl ServiceError {
    /// Whether trying again later may succeed (as opposed to a poison event, which is
    /// set aside). Each source says which of its failures pass.
    pub fn is_transient(&self) -> bool {
        match self {
            ServiceError::Store(e) => matches!(
                e,
                StoreError::Unavailable(_) | StoreError::WrongExpectedVersion { .. }
            ),
            ServiceError::Codec(CodecError::Registry(e)) => e.is_transient(),
            ServiceError::Codec(_) | ServiceError::Domain(_) => false,
            ServiceError::Bus(e) => matches!(e, BusError::Unavailable(_)),
            ServiceError::Mail(e) => e.is_transient(),
            ServiceError::Payment(e) => e.is_transient(),
        }
    }

    /// Whether going on makes no sense: storage that is damaged. A consumer stops (and
    /// with it the process) rather than retry or set aside every record after it.
    pub fn is_fatal(&self) -> bool {
        matches!(self, ServiceError::Store(StoreError::Corrupt(_)))
    }
}

/// An aggregate loaded from its stream, with the version it was read at.
#[derive(Debug)]
pub struct Loaded<A> {
    pub state: A,
    pub version: u64,
    pub events: Vec<(StoredEvent, Event)>,
}

mod correlated;

use correlated::CorrelatedCache;
pub use correlated::{Correlated, Decoded, Folded};

/// The event store with its codec, and the orders read through it last (shared by its
/// clones: wiring gives every service of a process one recorder).
#[derive(Debug, Clone)]
pub struct Recorder {
    pub store: Arc<dyn EventStore>,
    pub codec: Arc<EventCodec>,
    correlated: Arc<CorrelatedCache>,
}

/// What caused a recorded event: the event id and who acted.
#[derive(Debug, Clone, Copy)]
pub struct Cause<'a> {
    pub causation_id: Option<Uuid>,
    pub actor: &'a str,
    pub now: DateTime<Utc>,
}

impl Recorder {
    pub fn new(store: Arc<dyn EventStore>, codec: Arc<EventCodec>) -> Self {
        Self {
            store,
            codec,
            correlated: Arc::new(CorrelatedCache::new()),
        }
    }

    /// Reads and decodes part of a stream.
    pub async fn read(
        &self,
        stream_id: &str,
        query: StreamQuery,
    ) -> Result<Vec<(StoredEvent, Event)>, ServiceError> {
        let stored = self.store.read_stream(stream_id, query).await?;
        let mut out = Vec::with_capacity(stored.len());
        for e in stored {
            let event = self.codec.decode(e.schema_id, &e.payload).await?;
            out.push((e, event));
        }
        Ok(out)
    }

    /// Loads an aggregate from its whole stream.
    pub async fn load<A: Aggregate>(&self, stream_id: &str) -> Result<Loaded<A>, ServiceError> {
        self.load_with(stream_id, StreamQuery::all()).await
    }

    pub async fn load_with<A: Aggregate>(
        &self,
        stream_id: &str,
        query: StreamQuery,
    ) -> Result<Loaded<A>, ServiceError> {
        let events = self.read(stream_id, query).await?;
        let state = A::from_events(events.iter().map(|(_, e)| e));
        let version = events.last().map_or(0, |(s, _)| s.version);
        Ok(Loaded {
            state,
            version,
            events,
        })
    }

    /// Every event about one order (all its streams), decoded, in one read. An order
    /// read before is read again only from where that read ended, and only its new
    /// events are decoded.
    pub async fn read_correlated(&self, correlation_id: &str) -> Result<Correlated, ServiceError> {
        let known = self.correlated.get(correlation_id);
        let stored = match &known {
            Some(known) => {
                self.store
                    .read_correlated_since(correlation_id, known.last_position())
                    .await?
            }
            None => self.store.read_correlated(correlation_id).await?,
        };
        let known = known.unwrap_or_default();
        // An adapter may return events the earlier read had: merge by position.
        let mut new = stored
            .into_iter()
            .filter(|e| !known.has(e.position))
            .peekable();
        if new.peek().is_none() {
            return Ok(known);
        }
        let mut events = known.events().to_vec();
        let mut in_order = true;
        for e in new {
            let event = self.codec.decode(e.schema_id, &e.payload).await?;
            in_order &= events.last().is_none_or(|l| l.0.position < e.position);
            events.push(Arc::new((e, event)));
        }
        if !in_order {
            events.sort_unstable_by_key(|e| e.0.position);
        }
        let read = Correlated::from_sorted(events);
        self.correlated.put(correlation_id, &read);
        Ok(read)
    }

    /// Encodes events into envelopes.
    pub fn envelopes(
        &self,
        events: &[Event],
        cause: Cause<'_>,
    ) -> Result<Vec<NewEvent>, ServiceError> {
        events
            .iter()
            .map(|event| {
                let encoded = self.codec.encode(event)?;
                Ok(NewEvent {
                    // Time-ordered: new ids land at the end of the unique index on
                    // event ids instead of on a random page of it at every append.
                    event_id: Uuid::now_v7(),
                    event_type: encoded.event_type.to_owned(),
                    schema_id: encoded.schema_id,
                    payload: encoded.payload,
                    occurred_at: cause.now,
                    correlation_id: event.correlation_key().to_owned(),
                    causation_id: cause.causation_id,
                    actor: cause.actor.to_owned(),
                })
            })
            .collect()
    }

    /// Appends events, each to its own stream, atomically. `expected` gives the version
    /// each stream was read at; streams not listed are appended without a check.
    /// Returns the global position of the last event (0 when there were none).
    pub async fn record(
        &self,
        events: &[Event],
        expected: &[(&str, u64)],
        cause: Cause<'_>,
    ) -> Result<u64, ServiceError> {
        if events.is_empty() {
            return Ok(0);
        }
        let envelopes = self.envelopes(events, cause)?;
        let mut requests: Vec<AppendRequest> = Vec::new();
        for (event, envelope) in events.iter().zip(envelopes) {
            let stream_id = streams::stream_of(event);
            match requests.iter_mut().find(|r| r.stream_id == stream_id) {
                Some(r) => r.events.push(envelope),
                None => {
                    let expected = expected
                        .iter()
                        .find(|(s, _)| *s == stream_id)
                        .map_or(ExpectedVersion::Any, |(_, v)| ExpectedVersion::after(*v));
                    requests.push(AppendRequest {
                        stream_id,
                        expected,
                        events: vec![envelope],
                    });
                }
            }
        }
        let appended = self.store.append(requests).await?;
        Ok(appended.iter().map(|a| a.position).max().unwrap_or(0))
    }
}

/// Reads for the HTTP API's queries, so that it need not reach into the store.
impl Recorder {
    /// The global position of the last event recorded (0 before any).
    pub async fn head_position(&self) -> Result<u64, StoreError> {
        self.store.head_position().await
    }

    /// Every event about one order, in order, each with its decoding: an event that
    /// does not decode is shown as such rather than failing the whole read.
    pub async fn history(
        &self,
        correlation_id: &str,
    ) -> Result<Vec<(StoredEvent, Result<Event, CodecError>)>, StoreError> {
        let stored = self.store.read_correlated(correlation_id).await?;
        let mut out = Vec::with_capacity(stored.len());
        for e in stored {
            let event = self.codec.decode(e.schema_id, &e.payload).await;
            out.push((e, event));
        }
        Ok(out)
    }
}

/// Runs `attempt` again while it fails with a concurrency conflict (someone else appended
/// to the stream first): each retry re-reads the state, so it decides on fresh facts.
pub async fn retry_on_conflict<T, F, Fut>(mut attempt: F) -> Result<T, ServiceError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ServiceError>>,
{
    let mut tries = 0u32;
    loop {
        match attempt().await {
            Err(ServiceError::Store(e)) if e.is_conflict() && tries < 50 => {
                tries += 1;
                // Back off a little, with jitter, so hot streams do not livelock.
                let jitter = rand::random_range(0..=tries.min(10) as u64);
                tokio::time::sleep(Duration::from_millis(jitter)).await;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests;
