//! The consumer loop every bus-driven service runs: poll, decode, hand each event to an
//! idempotent handler, set aside what cannot be read, and commit only what was handled.
//! Records of one key are handled in order; different keys concurrently.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use orderflow_core::bus::{
    EventBus, Offset, OutgoingRecord, Record, StartFrom, Subscription, dead_letter_topic,
};
use orderflow_core::codec::EventCodec;
use orderflow_domain::{Event, Topic};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::context::ServiceError;

/// Headers the relay puts on every record.
pub mod headers {
    pub const EVENT_ID: &str = "event-id";
    pub const EVENT_TYPE: &str = "event-type";
    pub const STREAM_ID: &str = "stream-id";
    pub const POSITION: &str = "position";
    pub const ERROR: &str = "error";
    pub const ORIGINAL_TOPIC: &str = "original-topic";
    pub const ORIGINAL_PARTITION: &str = "original-partition";
    pub const ORIGINAL_OFFSET: &str = "original-offset";
}

/// The envelope facts a handler gets with an event.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub event_id: Option<Uuid>,
    pub occurred_at: chrono::DateTime<chrono::Utc>,
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
    async fn handle(&self, event: &Event, delivery: &Delivery) -> Result<(), ServiceError>;
}

/// Records are handled on this many lanes at once; a key always goes to the same lane.
const LANES: usize = 64;
/// Records waiting per lane before polling pauses.
const LANE_DEPTH: usize = 64;
const BATCH: usize = 512;
const POLL_WAIT: Duration = Duration::from_millis(100);
/// Longest time between offset commits while records keep coming.
const COMMIT_EVERY: Duration = Duration::from_millis(100);

/// Per partition: offsets handed to lanes and not yet handled, and the next offset.
#[derive(Debug, Default)]
struct Partition {
    in_flight: BTreeSet<u64>,
    next: u64,
}

/// What may be committed: per partition, everything below the oldest unhandled record.
#[derive(Debug, Default)]
struct Progress {
    partitions: HashMap<(String, u32), Partition>,
    committed: HashMap<(String, u32), u64>,
}

impl Progress {
    fn dispatched(&mut self, record: &Record) {
        let p = self
            .partitions
            .entry((record.topic.clone(), record.partition))
            .or_default();
        p.in_flight.insert(record.offset);
        p.next = p.next.max(record.offset + 1);
    }

    fn handled(&mut self, topic: &str, partition: u32, offset: u64) {
        if let Some(p) = self.partitions.get_mut(&(topic.to_owned(), partition)) {
            p.in_flight.remove(&offset);
        }
    }

    /// Offsets that moved since the last commit.
    fn to_commit(&self) -> Vec<Offset> {
        self.partitions
            .iter()
            .filter_map(|((topic, partition), p)| {
                let offset = p.in_flight.first().copied().unwrap_or(p.next);
                let key = (topic.clone(), *partition);
                (self.committed.get(&key) != Some(&offset)).then(|| Offset {
                    topic: topic.clone(),
                    partition: *partition,
                    offset,
                })
            })
            .collect()
    }

    fn mark_committed(&mut self, offsets: &[Offset]) {
        for o in offsets {
            self.committed
                .insert((o.topic.clone(), o.partition), o.offset);
        }
    }
}

fn lane_of(key: &str) -> usize {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    (h.finish() % LANES as u64) as usize
}

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
/// key's records in order, different keys at once, no batch barrier); offsets are
/// committed up to the oldest record not yet handled. A record that fails for good, or
/// keeps failing longer than `retry` allows, is set aside on the dead-letter topic with
/// the reason. On shutdown, polling stops, the lanes finish what they were given, and
/// the final offsets are committed.
pub async fn run_with(
    bus: Arc<dyn EventBus>,
    codec: Arc<EventCodec>,
    handler: Arc<dyn Handler>,
    start: StartFrom,
    retry: Retry,
    shutdown: CancellationToken,
) -> Result<(), ServiceError> {
    let Group { name: group, .. } = handler.group();
    let topics = handler.group().topic_names();
    let mut sub = retry_transient(&shutdown, group, || async {
        bus.subscribe(group, &topics, start)
            .await
            .map_err(ServiceError::from)
    })
    .await?;
    tracing::info!(group, ?topics, "consumer started");
    let progress = Arc::new(Mutex::new(Progress::default()));
    // A fatal failure in a lane stops the whole consumer, which then returns it.
    let fatal: Arc<Mutex<Option<ServiceError>>> = Arc::default();
    let stop = shutdown.child_token();
    let mut lanes = Vec::with_capacity(LANES);
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..LANES {
        let (tx, mut rx) = mpsc::channel::<Record>(LANE_DEPTH);
        lanes.push(tx);
        let (bus, codec, handler, stop, progress, fatal) = (
            bus.clone(),
            codec.clone(),
            handler.clone(),
            stop.clone(),
            progress.clone(),
            fatal.clone(),
        );
        workers.spawn(async move {
            while let Some(record) = rx.recv().await {
                match handle_record(&bus, &codec, &handler, &record, retry, &stop).await {
                    Ok(true) => {}
                    // Stopped mid-record: it stays uncommitted and is delivered again.
                    Ok(false) => return,
                    Err(e) => {
                        tracing::error!(group, error = %e,
                            "storage is damaged; stopping the consumer");
                        fatal
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .get_or_insert(e);
                        stop.cancel();
                        return;
                    }
                }
                lock(&progress).handled(&record.topic, record.partition, record.offset);
            }
        });
    }
    let mut last_commit = tokio::time::Instant::now();
    'poll: while !stop.is_cancelled() {
        let records = tokio::select! {
            _ = stop.cancelled() => break,
            polled = sub.poll(BATCH, POLL_WAIT) => match polled {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(group, error = %e, "poll failed; retrying");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            },
        };
        for record in records {
            lock(&progress).dispatched(&record);
            let lane = &lanes[lane_of(&record.key)];
            if lane.send(record).await.is_err() {
                break 'poll;
            }
        }
        // Commit at most every COMMIT_EVERY, busy or idle (an idle poll returns within
        // POLL_WAIT): each commit is a durable write on the bus's one writer, which
        // would otherwise land between every two records a quiet pipeline relays; a
        // crash only replays what idempotent handlers absorb.
        if last_commit.elapsed() >= COMMIT_EVERY {
            commit(&mut *sub, &progress, group).await;
            last_commit = tokio::time::Instant::now();
        }
    }
    drop(lanes);
    while workers.join_next().await.is_some() {}
    commit(&mut *sub, &progress, group).await;
    tracing::info!(group, "consumer stopped");
    match fatal.lock().unwrap_or_else(|p| p.into_inner()).take() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn lock(progress: &Mutex<Progress>) -> std::sync::MutexGuard<'_, Progress> {
    progress.lock().unwrap_or_else(|e| e.into_inner())
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

async fn handle_record(
    bus: &Arc<dyn EventBus>,
    codec: &Arc<EventCodec>,
    handler: &Arc<dyn Handler>,
    record: &Record,
    retry: Retry,
    shutdown: &CancellationToken,
) -> Result<bool, ServiceError> {
    let group = handler.group().name;
    // A registry that cannot be reached is not the record's fault: wait for it (the
    // lane holds its place) rather than dead-letter a good record.
    let decoded = retry_transient(shutdown, "schema lookup", || async {
        codec
            .decode_framed(&record.value)
            .await
            .map_err(ServiceError::from)
    })
    .await;
    let event = match decoded {
        Ok(event) => event,
        Err(_) if shutdown.is_cancelled() => return Ok(false),
        Err(e) => return Ok(dead_letter(bus, group, record, &e.to_string(), shutdown).await),
    };
    let delivery = Delivery {
        event_id: record
            .header(headers::EVENT_ID)
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|s| s.parse().ok()),
        occurred_at: record.timestamp,
    };
    tracing::debug!(group, topic = %record.topic, partition = record.partition,
        offset = record.offset, event = event.type_name(), key = %record.key, "handling");
    let mut backoff = Duration::from_millis(50);
    let first_try = tokio::time::Instant::now();
    loop {
        match handler.handle(&event, &delivery).await {
            Ok(()) => return Ok(true),
            Err(e) if e.is_fatal() => return Err(e),
            Err(e) if e.is_transient() => {
                let failing = first_try.elapsed();
                if matches!(&e, ServiceError::Store(s) if s.is_conflict()) {
                    tracing::debug!(group, error = %e, "concurrent update; deciding again");
                } else if failing >= retry.give_up_after {
                    let reason = format!("gave up after {failing:.1?} of retries: {e}");
                    return Ok(dead_letter(bus, group, record, &reason, shutdown).await);
                } else {
                    tracing::warn!(group, error = %e, "handler failed; retrying");
                }
                tokio::select! {
                    _ = shutdown.cancelled() => return Ok(false),
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
            Err(e) => return Ok(dead_letter(bus, group, record, &e.to_string(), shutdown).await),
        }
    }
}

/// Sets a record aside on `<topic>.dlq` with the reason and its origin in headers.
async fn dead_letter(
    bus: &Arc<dyn EventBus>,
    group: &'static str,
    record: &Record,
    reason: &str,
    shutdown: &CancellationToken,
) -> bool {
    tracing::error!(group, topic = %record.topic, partition = record.partition,
        offset = record.offset, reason, "dead-lettering a record");
    let mut headers = record.headers.clone();
    headers.extend([
        (headers::ERROR.to_owned(), reason.as_bytes().to_vec()),
        ("consumer-group".to_owned(), group.as_bytes().to_vec()),
        (
            headers::ORIGINAL_TOPIC.to_owned(),
            record.topic.clone().into_bytes(),
        ),
        (
            headers::ORIGINAL_PARTITION.to_owned(),
            record.partition.to_string().into_bytes(),
        ),
        (
            headers::ORIGINAL_OFFSET.to_owned(),
            record.offset.to_string().into_bytes(),
        ),
    ]);
    let letter = OutgoingRecord {
        topic: dead_letter_topic(&record.topic),
        key: record.key.clone(),
        value: record.value.clone(),
        headers,
        timestamp: record.timestamp,
    };
    retry_transient(shutdown, group, || async {
        bus.publish(vec![letter.clone()])
            .await
            .map_err(ServiceError::from)
    })
    .await
    .is_ok()
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
