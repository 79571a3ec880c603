//! What every service is given: the ports, and helpers to load aggregates and record
//! their decisions.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use orderflow_core::bus::BusError;
use orderflow_core::codec::{CodecError, EventCodec};
use orderflow_core::store::{
    AppendRequest, EventStore, ExpectedVersion, NewEvent, StoreError, StoredEvent, StreamQuery,
};
use orderflow_domain::{Aggregate, DomainError, Event, streams};
use tracing::Instrument as _;
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
    /// A bug: an append listed an event under a stream it does not belong to.
    #[error("{event_type} does not belong to stream {stream}")]
    WrongStream {
        event_type: &'static str,
        stream: String,
    },
    /// A bug: a decision has events for a stream it gave no expected version for.
    #[error("no expected version was given for stream {stream}")]
    Unversioned { stream: String },
    #[error(transparent)]
    Mail(#[from] orderflow_core::mail::MailError),
    #[error(transparent)]
    Payment(#[from] orderflow_core::payment::ProviderError),
    #[error(transparent)]
    Keys(#[from] orderflow_core::keys::KeyError),
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
            ServiceError::Codec(e) => e.is_transient(),
            ServiceError::Domain(_) => false,
            ServiceError::WrongStream { .. } | ServiceError::Unversioned { .. } => false,
            ServiceError::Bus(e) => matches!(e, BusError::Unavailable(_)),
            ServiceError::Mail(e) => e.is_transient(),
            ServiceError::Payment(e) => e.is_transient(),
            ServiceError::Keys(e) => e.is_transient(),
        }
    }

    /// Whether going on makes no sense: storage that is damaged (the event store, the
    /// read models or the bus). A consumer or the relay stops rather than retry or set
    /// aside every record after it.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            ServiceError::Store(StoreError::Corrupt(_)) | ServiceError::Bus(BusError::Corrupt(_))
        )
    }
}

/// An aggregate as read from its stream: the state, the version it was read at (the
/// version to append after), and the global position of its last event.
#[derive(Debug)]
pub struct Loaded<A> {
    pub aggregate: A,
    pub version: u64,
    /// 0 when the stream has no events.
    pub position: u64,
}

impl<A> Loaded<A> {
    /// What appending after this read expects of the stream.
    pub fn expected(&self) -> ExpectedVersion {
        ExpectedVersion::after(self.version)
    }
}

/// Events to append to one stream, at the version the writer expects it to be.
#[derive(Debug, Clone)]
pub struct StreamAppend {
    pub stream: String,
    pub expected: ExpectedVersion,
    pub events: Vec<Event>,
}

impl StreamAppend {
    /// The appends of a decision that touches several streams: each stream `read` lists,
    /// at the version it gives, with the events that belong to it. An event of a stream
    /// that is not listed is refused, never appended unchecked.
    pub fn split(
        read: Vec<(String, ExpectedVersion)>,
        events: Vec<Event>,
    ) -> Result<Vec<StreamAppend>, ServiceError> {
        let mut appends: Vec<StreamAppend> = read
            .into_iter()
            .map(|(stream, expected)| StreamAppend {
                stream,
                expected,
                events: Vec::new(),
            })
            .collect();
        for event in events {
            let stream = streams::stream_of(&event);
            match appends.iter_mut().find(|a| a.stream == stream) {
                Some(append) => append.events.push(event),
                None => return Err(ServiceError::Unversioned { stream }),
            }
        }
        Ok(appends)
    }
}

mod correlated;

use correlated::CorrelatedCache;
pub use correlated::{Correlated, Decoded};

mod execute;

pub use execute::CONFLICT_RETRIES;
use execute::ConflictRetries;

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

    /// The codec events are encoded and decoded with.
    pub fn codec(&self) -> &Arc<EventCodec> {
        &self.codec
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
        let events = self.read(stream_id, StreamQuery::all()).await?;
        let last = events.last().map(|(stored, _)| stored);
        Ok(Loaded {
            aggregate: A::from_events(events.iter().map(|(_, e)| e)),
            version: last.map_or(0, |s| s.version),
            position: last.map_or(0, |s| s.position),
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

    /// Encodes events into envelopes, their personal data sealed under its subjects'
    /// keys first: it is never written in the clear.
    pub async fn envelopes(
        &self,
        events: &[Event],
        cause: Cause<'_>,
    ) -> Result<Vec<NewEvent>, ServiceError> {
        let mut envelopes = Vec::with_capacity(events.len());
        for event in events {
            let encoded = self.codec.encode_sealed(event).await?;
            envelopes.push(NewEvent {
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
                trace_context: crate::trace::current(),
            });
        }
        Ok(envelopes)
    }

    /// Appends events to `stream`, which must be at the `expected` version (there is
    /// no way to append without stating one: a writer that read the stream passes
    /// [`Loaded::expected`]). Every event must belong to `stream`. Returns the global
    /// position of the last event (0 when there were none).
    ///
    /// ```compile_fail
    /// # async fn unversioned(recorder: orderflow_services::context::Recorder,
    /// #     events: Vec<orderflow_domain::Event>,
    /// #     cause: orderflow_services::context::Cause<'_>) {
    /// // Refused by the compiler: which version is the stream expected at?
    /// recorder.append("order-1", &events, cause).await;
    /// # }
    /// ```
    pub async fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: &[Event],
        cause: Cause<'_>,
    ) -> Result<u64, ServiceError> {
        self.append_all(
            vec![StreamAppend {
                stream: stream.to_owned(),
                expected,
                events: events.to_vec(),
            }],
            cause,
        )
        .await
    }

    /// Appends to several streams atomically, each at its expected version; every
    /// event must belong to the stream it is listed with. Returns the global position
    /// of the last event (0 when there were none).
    pub async fn append_all(
        &self,
        appends: Vec<StreamAppend>,
        cause: Cause<'_>,
    ) -> Result<u64, ServiceError> {
        let mut requests = Vec::with_capacity(appends.len());
        for append in &appends {
            if append.events.is_empty() {
                continue;
            }
            if let Some(stray) = append
                .events
                .iter()
                .find(|e| streams::stream_of(e) != append.stream)
            {
                return Err(ServiceError::WrongStream {
                    event_type: stray.type_name(),
                    stream: append.stream.clone(),
                });
            }
            requests.push(AppendRequest {
                events: self.envelopes(&append.events, cause).await?,
                stream_id: append.stream.clone(),
                expected: append.expected,
            });
        }
        if requests.is_empty() {
            return Ok(0);
        }
        let start = std::time::Instant::now();
        let span = tracing::info_span!(
            "store.append",
            otel.kind = "client",
            streams = %requests.iter().map(|r| r.stream_id.as_str()).collect::<Vec<_>>().join(","),
            events = requests.iter().map(|r| r.events.len()).sum::<usize>(),
        );
        let appended = self.store.append(requests).instrument(span).await?;
        crate::metrics::appended(appends.iter().flat_map(|a| &a.events), start.elapsed());
        Ok(appended.iter().map(|a| a.position).max().unwrap_or(0))
    }
}

/// Reads for the HTTP API's queries, so that it need not reach into the store.
impl Recorder {
    /// The global position of the last event recorded (0 before any).
    pub async fn head_position(&self) -> Result<u64, StoreError> {
        self.store.head_position().await
    }

    /// Up to `limit` events after global position `after`, in order, decoded.
    pub async fn read_all(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(StoredEvent, Event)>, ServiceError> {
        let stored = self.store.read_all(after, limit).await?;
        let mut out = Vec::with_capacity(stored.len());
        for e in stored {
            let event = self.codec.decode(e.schema_id, &e.payload).await?;
            out.push((e, event));
        }
        Ok(out)
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
/// to the stream first), up to [`CONFLICT_RETRIES`] times: each retry re-reads the state,
/// so it decides on fresh facts. For commands on one aggregate,
/// [`Recorder::execute`] does all of it.
pub async fn retry_on_conflict<T, F, Fut>(mut attempt: F) -> Result<T, ServiceError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ServiceError>>,
{
    let mut retries = ConflictRetries::default();
    loop {
        let result = attempt().await;
        if !retries.again(&result).await {
            return result;
        }
    }
}

#[cfg(test)]
mod tests;
