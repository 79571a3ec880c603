//! The consumer loop every bus-driven service runs: poll, decode, hand each event to an
//! idempotent handler, set aside what cannot be read, and commit only what was handled.
//! Records of one key are handled in order; different keys concurrently, so a key whose
//! record keeps failing holds back only that key.
//!
//! `consumer/backfill.rs` hands a group starting from the beginning the events whose
//! records the bus's retention deleted, from the event store, before it joins;
//! `consumer/attempt.rs` handles a record: first on its key's lane, then, if it fails
//! for now, off the lane; `consumer/queues.rs` holds the keys tried again off their
//! lanes, with the records waiting behind them, within [`MAX_BUFFERED`];
//! `consumer/progress.rs` says which offsets may be committed; `consumer/park.rs` sets
//! a record aside and tells the handler ([`Handler::parked`], or
//! [`Handler::unreadable`] for a record that could not be read).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use orderflow_core::bus::{EventBus, Offset, Record, StartFrom, Subscription};
use orderflow_core::codec::EventCodec;
use orderflow_core::store::EventStore;
use orderflow_domain::{Event, Topic};
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::context::ServiceError;

mod attempt;
mod backfill;
mod park;
mod progress;
mod queues;

pub use backfill::Backfilled;
pub use park::Parked;
use progress::Progress;
use queues::Queues;

/// Headers the relay puts on every record, and (from the bus port's
/// [`dead_letters::headers`](orderflow_core::bus::dead_letters::headers)) those of a
/// record set aside.
pub mod headers {
    pub use orderflow_core::bus::dead_letters::headers::{
        CONSUMER_GROUP, ERROR, ORIGINAL_OFFSET, ORIGINAL_PARTITION, ORIGINAL_TOPIC, REPLAY_GROUP,
    };
    pub const EVENT_ID: &str = "event-id";
    pub const EVENT_TYPE: &str = "event-type";
    pub const STREAM_ID: &str = "stream-id";
    pub const POSITION: &str = "position";
}

/// The envelope facts a handler gets with an event.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub event_id: Option<Uuid>,
    pub occurred_at: chrono::DateTime<chrono::Utc>,
    /// Where its record sits on the bus.
    pub origin: Origin,
}

impl Delivery {
    /// The delivery of `record`: its event id (header) and time, and where it sits.
    pub fn of(record: &Record) -> Self {
        Self {
            event_id: record
                .header(headers::EVENT_ID)
                .and_then(|v| std::str::from_utf8(v).ok())
                .and_then(|s| s.parse().ok()),
            occurred_at: record.timestamp,
            origin: Origin::of(record),
        }
    }
}

/// A record's place on the bus.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    pub topic: String,
    pub partition: u32,
    pub offset: u64,
}

impl Origin {
    pub fn of(record: &Record) -> Self {
        Self {
            topic: record.topic.clone(),
            partition: record.partition,
            offset: record.offset,
        }
    }
}

/// A consumer group: its name (also the service's) and the topics it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Group {
    pub name: &'static str,
    pub topics: &'static [Topic],
}

impl Group {
    /// The names of its topics on the bus.
    pub fn topic_names(&self) -> Vec<&'static str> {
        self.topics.iter().map(|t| t.name()).collect()
    }
}

/// A service reacting to events. Must be idempotent: delivery is at least once.
#[async_trait]
pub trait Handler: Send + Sync {
    /// The consumer group it reads in.
    fn group(&self) -> Group;
    /// Whether its records must be handled in their partition's order (a partition's
    /// records one after another, as if they had one key) rather than in each key's
    /// order: for a handler that stores how far it got per partition.
    fn in_partition_order(&self) -> bool {
        false
    }
    /// Handles one record's event. Its personal data comes sealed, as the record
    /// carries it (need-to-know: no service opens what it does not use); a handler that
    /// needs it reads the order's events from the store, where its recorder opens them
    /// (as notification does for the address it writes in an email).
    async fn handle(&self, event: &Event, delivery: &Delivery) -> Result<(), ServiceError>;

    /// Called once a record it could not handle is on the dead-letter topic: a service
    /// whose steps are an order's records it on the order (`StepFailed`, see
    /// `handlers/step_failed.rs`). The default records nothing. Idempotent: a record is
    /// set aside again if the consumer stops before committing it.
    async fn parked(&self, parked: &Parked<'_>) -> Result<(), ServiceError> {
        let _ = parked;
        Ok(())
    }

    /// Called once a record that could not be read at all is on the dead-letter topic
    /// (there is no event to tell [`Handler::parked`] about): for a handler that stores
    /// how far it got per partition. The default does nothing. Idempotent, as `parked`.
    async fn unreadable(&self, origin: &Origin) -> Result<(), ServiceError> {
        let _ = origin;
        Ok(())
    }

    /// Where it resumes on the bus, for a handler that keeps that itself with what it
    /// made of the records (analytics); `None`: where its group committed.
    async fn resumes_at(&self) -> Result<Option<Vec<Offset>>, ServiceError> {
        Ok(None)
    }

    /// An event whose record retention deleted, read from the event store for a group
    /// starting from the beginning (`consumer/backfill.rs`). Its delivery's origin is
    /// the partition it was on, at the offset where the retained records begin. Handled
    /// as any delivery by default.
    async fn backfill(&self, event: &Event, delivery: &Delivery) -> Result<(), ServiceError> {
        self.handle(event, delivery).await
    }

    /// The partitions just backfilled, each at the offset its retained records begin:
    /// for a handler that keeps where it resumes. The default does nothing.
    async fn backfilled(&self, partitions: &[Offset]) -> Result<(), ServiceError> {
        let _ = partitions;
        Ok(())
    }
}

/// Lanes: records are handled on this many at once, a key (or, for a handler that asks
/// for it, a partition) always on the same one. Records tried again are tried off the
/// lanes, at most as many at once; one waiting to be tried again holds nothing.
const LANES: usize = 64;
/// Records polled and not yet handled, at most: what a consumer holds in memory. Polling
/// pauses at it until records are handled; only records queued behind keys that keep
/// failing (waiting for their key to recover or be set aside) can keep it full.
pub const MAX_BUFFERED: usize = 4096;
const BATCH: usize = 512;
const POLL_WAIT: Duration = Duration::from_millis(100);
/// Longest time between offset commits while records keep coming.
const COMMIT_EVERY: Duration = Duration::from_millis(100);

/// How long a record's handling may keep failing for reasons that pass (a provider or
/// mail server down, the store unreachable) before it is set aside on the dead-letter
/// topic so the records behind it go on.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    pub give_up_after: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Self {
            give_up_after: Duration::from_secs(3600),
        }
    }
}

/// [`run_with`] the default [`Retry`].
pub async fn run(
    bus: Arc<dyn EventBus>,
    codec: Arc<EventCodec>,
    handler: Arc<dyn Handler>,
    start: StartFrom,
    shutdown: CancellationToken,
) -> Result<(), ServiceError> {
    run_with(bus, codec, handler, start, Retry::default(), shutdown).await
}

/// Consumes until `shutdown` is cancelled. Records are dispatched to lanes by key (one
/// key's records in order, different keys at once, no batch barrier); a record that
/// fails for now is tried again off its lane, its key's later records waiting behind it,
/// so a key whose record keeps failing holds back none of the others (`attempt.rs`).
/// Offsets are committed up to the oldest record not yet handled. A record that fails for good, or keeps failing longer
/// than `retry` allows, is set aside on the dead-letter topic with the reason. On
/// shutdown, polling stops, the records queued are handled (a record waiting to be tried
/// again is left for the next start), and the final offsets are committed.
pub async fn run_with(
    bus: Arc<dyn EventBus>,
    codec: Arc<EventCodec>,
    handler: Arc<dyn Handler>,
    start: StartFrom,
    retry: Retry,
    shutdown: CancellationToken,
) -> Result<(), ServiceError> {
    consume(bus, codec, handler, start, None, retry, shutdown).await
}

/// [`run_with`] from the beginning of history: partitions whose oldest records the bus
/// no longer holds (retention) are first backfilled from the event store `history`
/// (`consumer/backfill.rs`), then read from the bus.
pub async fn run_from_history(
    bus: Arc<dyn EventBus>,
    codec: Arc<EventCodec>,
    handler: Arc<dyn Handler>,
    history: Arc<dyn EventStore>,
    retry: Retry,
    shutdown: CancellationToken,
) -> Result<(), ServiceError> {
    let start = StartFrom::Earliest;
    consume(bus, codec, handler, start, Some(history), retry, shutdown).await
}

async fn consume(
    bus: Arc<dyn EventBus>,
    codec: Arc<EventCodec>,
    handler: Arc<dyn Handler>,
    start: StartFrom,
    history: Option<Arc<dyn EventStore>>,
    retry: Retry,
    shutdown: CancellationToken,
) -> Result<(), ServiceError> {
    let Group { name: group, .. } = handler.group();
    let topics = handler.group().topic_names();
    let consumer = Arc::new(Consumer {
        bus: bus.clone(),
        codec,
        handler,
        retry,
        stop: shutdown.child_token(),
        progress: Mutex::default(),
        queues: Queues::new(MAX_BUFFERED),
        retrying: Semaphore::new(LANES),
        retries: Mutex::default(),
        fatal: Mutex::default(),
    });
    if let Some(history) = history {
        retry_transient(&shutdown, group, || consumer.backfill(history.as_ref())).await?;
    }
    let mut sub = retry_transient(&shutdown, group, || async {
        bus.subscribe(group, &topics, start)
            .await
            .map_err(ServiceError::from)
    })
    .await?;
    tracing::info!(group, ?topics, "consumer started");
    let stop = consumer.stop.clone();
    let mut lanes = Vec::with_capacity(LANES);
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..LANES {
        let (tx, rx) = mpsc::unbounded_channel();
        lanes.push(tx);
        workers.spawn(consumer.clone().lane(rx));
    }
    let by_partition = consumer.handler.in_partition_order();
    let mut last_commit = tokio::time::Instant::now();
    'poll: while !stop.is_cancelled() {
        let room = tokio::select! {
            _ = stop.cancelled() => break,
            room = consumer.queues.reserve(BATCH, POLL_WAIT) => room,
        };
        if room > 0 {
            let records = tokio::select! {
                _ = stop.cancelled() => {
                    consumer.queues.release(room);
                    break;
                }
                polled = sub.poll(room, POLL_WAIT) => match polled {
                    Ok(r) => r,
                    Err(e) => {
                        consumer.queues.release(room);
                        let e = ServiceError::from(e);
                        if e.is_fatal() {
                            tracing::error!(group, error = %e, "the bus is damaged; stopping the consumer");
                            lock(&consumer.fatal).get_or_insert(e);
                            stop.cancel();
                            break;
                        }
                        tracing::warn!(group, error = %e, "poll failed; retrying");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    }
                },
            };
            consumer.queues.release(room - records.len());
            for record in records {
                lock(&consumer.progress).dispatched(&record);
                let key = if by_partition {
                    format!("{}/{}", record.topic, record.partition)
                } else {
                    record.key.clone()
                };
                // Never waits: the room reserved bounds what the lanes hold.
                if lanes[lane_of(&key)].send((key, record)).is_err() {
                    break 'poll;
                }
            }
        }
        // Commit at most every COMMIT_EVERY, busy or idle (an idle poll returns within
        // POLL_WAIT): each commit is a durable write on the bus's one writer, which
        // would otherwise land between every two records a quiet pipeline relays; a
        // crash only replays what idempotent handlers absorb.
        if last_commit.elapsed() >= COMMIT_EVERY {
            commit(&mut *sub, &consumer.progress, group).await;
            last_commit = tokio::time::Instant::now();
        }
    }
    drop(lanes);
    while workers.join_next().await.is_some() {}
    let retries = std::mem::take(&mut *lock(&consumer.retries));
    for retry in retries {
        let _ = retry.await;
    }
    commit(&mut *sub, &consumer.progress, group).await;
    tracing::info!(group, "consumer stopped");
    match lock(&consumer.fatal).take() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// What the tasks of one consumer share.
struct Consumer {
    bus: Arc<dyn EventBus>,
    codec: Arc<EventCodec>,
    handler: Arc<dyn Handler>,
    retry: Retry,
    stop: CancellationToken,
    progress: Mutex<Progress>,
    queues: Queues,
    /// One permit per attempt in progress off the lanes.
    retrying: Semaphore,
    /// The tasks trying records again off their lanes.
    retries: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// A fatal failure stops the whole consumer, which then returns it.
    fatal: Mutex<Option<ServiceError>>,
}

fn lane_of(key: &str) -> usize {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    (h.finish() % LANES as u64) as usize
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Commits what moved. A failed commit is logged and tried again with the next one;
/// records handled but not committed are handled again after a restart, which
/// idempotent handlers absorb.
async fn commit(sub: &mut dyn Subscription, progress: &Mutex<Progress>, group: &str) {
    let offsets = lock(progress).to_commit();
    if offsets.is_empty() {
        return;
    }
    match sub.commit(&offsets).await {
        Ok(()) => lock(progress).mark_committed(&offsets),
        Err(e) => tracing::warn!(group, error = %e, "commit failed; will retry"),
    }
}

/// Retries an operation on infrastructure errors with backoff, until shutdown.
pub async fn retry_transient<T, F, Fut>(
    shutdown: &CancellationToken,
    what: &str,
    mut op: F,
) -> Result<T, ServiceError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ServiceError>>,
{
    let mut backoff = Duration::from_millis(50);
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) if e.is_transient() && !shutdown.is_cancelled() => {
                tracing::warn!(what, error = %e, "retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => return Err(e),
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests;
