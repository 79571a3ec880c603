//! Handling a record: its first attempt on its lane, and, when that fails for now, the
//! attempts after it off the lane (a task of the key's own), so that the lane goes on
//! with other keys while the key's later records wait behind it (`queues.rs`).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use orderflow_core::bus::Record;
use orderflow_domain::Event;
use tokio::sync::mpsc;
use tokio::time::Instant;

use tracing::Instrument;

use super::{Consumer, Delivery, headers, lock, park, retry_transient};
use crate::context::ServiceError;

/// A record whose handling failed for now, to be tried again.
pub(super) struct Pending {
    /// What its records are queued under: its key, or its partition.
    key: String,
    record: Record,
    event: Event,
    delivery: Delivery,
    first_try: Instant,
    backoff: Duration,
    /// Failed attempts so far, and when the first one failed.
    failures: u32,
    first_failure: Option<DateTime<Utc>>,
}

/// Where one attempt left a record.
enum Step {
    /// Handled, or set aside.
    Done(Record),
    /// Shutdown came first: it stays uncommitted and is delivered again.
    Stopped,
    /// Failed for now: try again later.
    Again(Box<Pending>),
}

impl Consumer {
    /// A lane: the first attempt at each record it is given, in order. A record that
    /// fails for now goes on off the lane ([`Consumer::retry_key`]).
    pub(super) async fn lane(
        self: Arc<Self>,
        mut records: mpsc::UnboundedReceiver<(String, Record)>,
    ) {
        while let Some((key, record)) = records.recv().await {
            let Some(record) = self.queues.unless_retrying(&key, record) else {
                continue;
            };
            match self.first_attempt(key, record).await {
                Ok(Step::Done(record)) => self.handled(&record),
                Ok(Step::Stopped) => return,
                Ok(Step::Again(pending)) => {
                    self.queues.retrying(&pending.key);
                    let retry = tokio::spawn(self.clone().retry_key(pending));
                    let mut retries = lock(&self.retries);
                    retries.retain(|r| !r.is_finished());
                    retries.push(retry);
                }
                Err(e) => return self.fail(e),
            }
        }
    }

    /// Tries the key's record again until it is handled or set aside, then handles the
    /// key's records that waited behind it, until none is left.
    async fn retry_key(self: Arc<Self>, mut pending: Box<Pending>) {
        loop {
            let key = pending.key.clone();
            match self.keep_trying(*pending).await {
                Ok(Some(record)) => self.handled(&record),
                Ok(None) => return,
                Err(e) => return self.fail(e),
            }
            pending = loop {
                let Some(record) = self.queues.next(&key) else {
                    return;
                };
                match self.first_attempt(key.clone(), record).await {
                    Ok(Step::Done(record)) => self.handled(&record),
                    Ok(Step::Stopped) => return,
                    Ok(Step::Again(pending)) => break pending,
                    Err(e) => return self.fail(e),
                }
            };
        }
    }

    fn handled(&self, record: &Record) {
        lock(&self.progress).handled(&record.topic, record.partition, record.offset);
        self.queues.release(1);
    }

    fn fail(&self, e: ServiceError) {
        let group = self.handler.group().name;
        tracing::error!(group, error = %e, "storage is damaged; stopping the consumer");
        lock(&self.fatal).get_or_insert(e);
        self.stop.cancel();
    }

    /// Decodes a record and makes the first attempt at handling it.
    async fn first_attempt(&self, key: String, record: Record) -> Result<Step, ServiceError> {
        let (group, stop) = (self.handler.group().name, &self.stop);
        // A parked record replayed for another group that reads this topic too.
        if record
            .header(headers::REPLAY_GROUP)
            .is_some_and(|g| g != group.as_bytes())
        {
            return Ok(Step::Done(record));
        }
        // A registry that cannot be reached is not the record's fault: wait for it (the
        // key holds its place) rather than dead-letter a good record. Personal data
        // stays sealed (see `Handler::handle`).
        let decoded = retry_transient(stop, "schema lookup", || async {
            self.codec
                .decode_framed_sealed(&record.value)
                .await
                .map_err(ServiceError::from)
        })
        .await;
        let event = match decoded {
            Ok(event) => event,
            Err(_) if stop.is_cancelled() => return Ok(Step::Stopped),
            Err(e) => {
                let set_aside = self.park_unreadable(&record, &e.to_string()).await?;
                return Ok(if set_aside {
                    Step::Done(record)
                } else {
                    Step::Stopped
                });
            }
        };
        let delivery = Delivery::of(&record);
        tracing::debug!(group, topic = %record.topic, partition = record.partition,
            offset = record.offset, event = event.type_name(), key = %record.key, "handling");
        let pending = Pending {
            key,
            record,
            event,
            delivery,
            first_try: Instant::now(),
            backoff: Duration::from_millis(50),
            failures: 0,
            first_failure: None,
        };
        self.attempt(pending).await
    }

    /// Attempts again, with growing pauses, until the record is handled or set aside
    /// (`Some`), or shutdown comes first (`None`).
    async fn keep_trying(&self, mut pending: Pending) -> Result<Option<Record>, ServiceError> {
        loop {
            tokio::select! {
                _ = self.stop.cancelled() => return Ok(None),
                _ = tokio::time::sleep(pending.backoff) => {}
            }
            pending.backoff = (pending.backoff * 2).min(Duration::from_secs(5));
            // However many keys are failing, only so many attempts at once.
            let _retrying = self.retrying.acquire().await;
            match self.attempt(pending).await? {
                Step::Done(record) => return Ok(Some(record)),
                Step::Stopped => return Ok(None),
                Step::Again(again) => pending = *again,
            }
        }
    }

    /// One call of the handler, and what its answer makes of the record.
    async fn attempt(&self, mut pending: Pending) -> Result<Step, ServiceError> {
        let group = self.handler.group().name;
        let start = std::time::Instant::now();
        let (order_id, trace_id) = (
            pending.record.key.as_str(),
            crate::trace::trace_id_of(&pending.record),
        );
        let topic = pending.record.topic.as_str();
        // Every line a handler logs names the order and its trace; the span is the child
        // of the one that recorded the event (its record's `traceparent`).
        let span = tracing::info_span!(
            "handle",
            otel.name = %format_args!("{topic} process {group}"),
            otel.kind = "consumer",
            otel.status_code = tracing::field::Empty,
            group,
            order_id,
            trace_id,
            event_type = pending.event.type_name(),
            messaging.system = "orderflow",
            messaging.operation.type = "process",
            messaging.destination.name = topic,
            messaging.consumer.group.name = group,
            messaging.destination.partition.id = pending.record.partition,
            messaging.kafka.offset = pending.record.offset,
        );
        let traceparent =
            crate::trace::start(&span, crate::trace::of_record(&pending.record).as_deref());
        let handled = crate::trace::within(
            Some(traceparent),
            self.handler.handle(&pending.event, &pending.delivery),
        )
        .instrument(span.clone())
        .await;
        // One reading of the clock per failure: the first failure of a record parked
        // at once is its last.
        let failed_at = handled.is_err().then(Utc::now);
        if let Some(at) = failed_at {
            span.record("otel.status_code", "ERROR");
            pending.failures += 1;
            pending.first_failure.get_or_insert(at);
        }
        let failed = handled.as_ref().err().map(ServiceError::is_transient);
        crate::metrics::handler_call(group, topic, start.elapsed(), failed);
        let Pending {
            record,
            event,
            delivery,
            failures,
            first_failure,
            ..
        } = &pending;
        let reason = match handled {
            Ok(()) => return Ok(Step::Done(pending.record)),
            Err(e) if e.is_fatal() => return Err(e),
            Err(e) if e.is_transient() => {
                let failing = pending.first_try.elapsed();
                if matches!(&e, ServiceError::Store(s) if s.is_conflict()) {
                    tracing::debug!(group, error = %e, "concurrent update; deciding again");
                    crate::metrics::retried(group, topic);
                    return Ok(Step::Again(Box::new(pending)));
                }
                if failing < self.retry.give_up_after {
                    tracing::warn!(group, topic = %record.topic, partition = record.partition,
                        offset = record.offset, kind = park::TRANSIENT, order_id, trace_id,
                        error = %e, "handler failed; retrying");
                    crate::metrics::retried(group, topic);
                    return Ok(Step::Again(Box::new(pending)));
                }
                (
                    format!("gave up after {failing:.1?} of retries: {e}"),
                    park::TRANSIENT,
                )
            }
            Err(e) => (e.to_string(), park::PERMANENT),
        };
        let (reason, kind) = reason;
        let now = failed_at.unwrap_or_else(Utc::now);
        let failure = park::Failure {
            group,
            reason: &reason,
            kind,
            first: first_failure.unwrap_or(now),
            last: now,
            attempts: *failures,
        };
        Ok(if self.park(record, event, delivery, &failure).await? {
            Step::Done(pending.record)
        } else {
            Step::Stopped
        })
    }
}
