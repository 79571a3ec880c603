//! The consumer loop every bus-driven service runs: poll, decode, hand each event to an
//! idempotent handler, set aside what cannot be read, and commit only after the batch
//! was handled. Records of one key are handled in order; different keys concurrently.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use orderflow_core::bus::{EventBus, Offset, OutgoingRecord, Record, StartFrom, dead_letter_topic};
use orderflow_core::codec::EventCodec;
use orderflow_domain::Event;
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

/// A service reacting to events. Must be idempotent: delivery is at least once.
#[async_trait]
pub trait Handler: Send + Sync {
    /// The consumer group, also the service's name.
    fn group(&self) -> &'static str;
    fn topics(&self) -> &'static [&'static str];
    async fn handle(&self, event: &Event, delivery: &Delivery) -> Result<(), ServiceError>;
}

const BATCH: usize = 512;
const POLL_WAIT: Duration = Duration::from_millis(200);

/// Consumes until `shutdown` is cancelled; the batch in flight is finished and committed
/// first.
pub async fn run(
    bus: Arc<dyn EventBus>,
    codec: Arc<EventCodec>,
    handler: Arc<dyn Handler>,
    start: StartFrom,
    shutdown: CancellationToken,
) -> Result<(), ServiceError> {
    let group = handler.group();
    let mut sub = retry_transient(&shutdown, group, || async {
        bus.subscribe(group, handler.topics(), start)
            .await
            .map_err(|e| ServiceError::External(e.to_string()))
    })
    .await?;
    tracing::info!(group, topics = ?handler.topics(), "consumer started");
    while !shutdown.is_cancelled() {
        let records = tokio::select! {
            _ = shutdown.cancelled() => break,
            polled = sub.poll(BATCH, POLL_WAIT) => match polled {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(group, error = %e, "poll failed; retrying");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            },
        };
        if records.is_empty() {
            continue;
        }
        if !handle_batch(&bus, &codec, &handler, &records, &shutdown).await {
            // Shut down mid-batch: leave it uncommitted, it will be delivered again.
            break;
        }
        let offsets = Offset::after(&records);
        let mut backoff = Duration::from_millis(50);
        while let Err(e) = sub.commit(&offsets).await {
            // Handled but not committed: after a restart these are handled again,
            // which idempotent handlers absorb.
            tracing::warn!(group, error = %e, "commit failed; retrying");
            tokio::select! {
                _ = shutdown.cancelled() => return Err(ServiceError::External(e.to_string())),
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }
    tracing::info!(group, "consumer stopped");
    Ok(())
}

/// Handles a batch; false if shutdown interrupted it.
async fn handle_batch(
    bus: &Arc<dyn EventBus>,
    codec: &Arc<EventCodec>,
    handler: &Arc<dyn Handler>,
    records: &[Record],
    shutdown: &CancellationToken,
) -> bool {
    let mut by_key: HashMap<&str, Vec<&Record>> = HashMap::new();
    for r in records {
        by_key.entry(r.key.as_str()).or_default().push(r);
    }
    // One future per key: a key's records in order, different keys at once (the event
    // store's group commit gathers their appends).
    let per_key = by_key
        .into_values()
        .map(|records| handle_key(bus, codec, handler, records, shutdown));
    let results = futures::future::join_all(per_key).await;
    results.into_iter().all(|ok| ok)
}

async fn handle_key(
    bus: &Arc<dyn EventBus>,
    codec: &Arc<EventCodec>,
    handler: &Arc<dyn Handler>,
    records: Vec<&Record>,
    shutdown: &CancellationToken,
) -> bool {
    for record in records {
        if !handle_record(bus, codec, handler, record, shutdown).await {
            return false;
        }
    }
    true
}

async fn handle_record(
    bus: &Arc<dyn EventBus>,
    codec: &Arc<EventCodec>,
    handler: &Arc<dyn Handler>,
    record: &Record,
    shutdown: &CancellationToken,
) -> bool {
    let group = handler.group();
    let event = match codec.decode_framed(&record.value).await {
        Ok(event) => event,
        Err(e) if matches!(e, orderflow_core::codec::CodecError::Registry(_)) => {
            // The registry is down: not the record's fault. Leave it for redelivery.
            tracing::warn!(group, error = %e, "registry unavailable");
            return false;
        }
        Err(e) => return dead_letter(bus, group, record, &e.to_string(), shutdown).await,
    };
    let delivery = Delivery {
        event_id: record
            .header(headers::EVENT_ID)
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|s| s.parse().ok()),
        occurred_at: record.timestamp,
    };
    let mut backoff = Duration::from_millis(50);
    loop {
        match handler.handle(&event, &delivery).await {
            Ok(()) => return true,
            Err(e) if e.is_transient() => {
                if matches!(&e, ServiceError::Store(s) if s.is_conflict()) {
                    tracing::debug!(group, error = %e, "concurrent update; deciding again");
                } else {
                    tracing::warn!(group, error = %e, "handler failed; retrying");
                }
                tokio::select! {
                    _ = shutdown.cancelled() => return false,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
            Err(e) => return dead_letter(bus, group, record, &e.to_string(), shutdown).await,
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
            .map_err(|e| ServiceError::External(e.to_string()))
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
