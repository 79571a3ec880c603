//! Setting a record aside: on `<topic>.dlq` with the reason and its origin in headers,
//! then told to the handler, which records it on the order when the step was one of the
//! order's.

use std::sync::Arc;

use orderflow_core::bus::{EventBus, OutgoingRecord, Record, dead_letter_topic};
use orderflow_domain::Event;
use tokio_util::sync::CancellationToken;

use super::{Consumer, Delivery, Origin, headers, retry_transient};
use crate::context::ServiceError;

/// The kind of a failure that sets a record aside: one that might have passed later (a
/// handler failing for now until the retries gave up), or one that never would.
pub(super) const TRANSIENT: &str = "transient";
pub(super) const PERMANENT: &str = "permanent";

/// A record set aside: the event it carried (with where it was read, in the
/// delivery's origin) and why.
#[derive(Debug, Clone, Copy)]
pub struct Parked<'a> {
    pub event: &'a Event,
    pub delivery: &'a Delivery,
    pub reason: &'a str,
}

impl Consumer {
    /// Sets a record whose event could not be handled aside, then lets the handler
    /// record that on the order. True once both are done (or recording failed for
    /// good, which is logged: the record is on the dead-letter topic either way).
    pub(super) async fn park(
        &self,
        record: &Record,
        event: &Event,
        delivery: &Delivery,
        reason: &str,
        kind: &'static str,
    ) -> Result<bool, ServiceError> {
        let group = self.handler.group().name;
        if !dead_letter(&self.bus, group, record, reason, kind, &self.stop).await {
            return Ok(false);
        }
        let parked = Parked {
            event,
            delivery,
            reason,
        };
        let recorded = retry_transient(&self.stop, "recording a parked record", || {
            self.handler.parked(&parked)
        })
        .await;
        self.settle(
            recorded,
            record,
            "a record set aside could not be recorded on its order",
        )
    }
}

impl Consumer {
    /// Sets a record that could not be read aside, then tells the handler where it was
    /// ([`Handler::unreadable`](super::Handler::unreadable)). True once both are done
    /// (or telling failed for good, which is logged).
    pub(super) async fn park_unreadable(
        &self,
        record: &Record,
        reason: &str,
    ) -> Result<bool, ServiceError> {
        let group = self.handler.group().name;
        if !dead_letter(&self.bus, group, record, reason, PERMANENT, &self.stop).await {
            return Ok(false);
        }
        let origin = Origin::of(record);
        let told = retry_transient(&self.stop, "recording an unreadable record", || {
            self.handler.unreadable(&origin)
        })
        .await;
        self.settle(
            told,
            record,
            "an unreadable record set aside could not be recorded",
        )
    }

    /// What telling the handler of a record set aside comes to: done (true); a fatal
    /// error; interrupted by shutdown (false: it is delivered, and set aside, again); or
    /// failed for good, which is logged as `failed` and counts as done.
    fn settle(
        &self,
        told: Result<(), ServiceError>,
        record: &Record,
        failed: &'static str,
    ) -> Result<bool, ServiceError> {
        match told {
            Ok(()) => Ok(true),
            Err(e) if e.is_fatal() => Err(e),
            Err(_) if self.stop.is_cancelled() => Ok(false),
            Err(e) => {
                tracing::error!(group = self.handler.group().name, error = %e,
                    topic = %record.topic, partition = record.partition,
                    offset = record.offset, "{failed}");
                Ok(true)
            }
        }
    }
}

/// Sets a record aside on `<topic>.dlq` with the reason and its origin in headers.
pub(super) async fn dead_letter(
    bus: &Arc<dyn EventBus>,
    group: &'static str,
    record: &Record,
    reason: &str,
    kind: &'static str,
    shutdown: &CancellationToken,
) -> bool {
    tracing::error!(group, topic = %record.topic, partition = record.partition,
        offset = record.offset, kind, order_id = %record.key,
        trace_id = crate::trace::trace_id_of(record), reason, "dead-lettering a record");
    let mut headers = record.headers.clone();
    headers.extend([
        (headers::ERROR.to_owned(), reason.as_bytes().to_vec()),
        (
            headers::CONSUMER_GROUP.to_owned(),
            group.as_bytes().to_vec(),
        ),
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
    let parked = retry_transient(shutdown, group, || async {
        bus.publish(vec![letter.clone()])
            .await
            .map_err(ServiceError::from)
    })
    .await
    .is_ok();
    if parked {
        crate::metrics::parked(group, &record.topic);
    }
    parked
}
