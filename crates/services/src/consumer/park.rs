//! Setting a record aside: on `<topic>.dlq` with the reason and its origin in headers,
//! then told to the handler, which records it on the order when the step was one of the
//! order's.

use std::sync::Arc;

pub(super) use orderflow_core::bus::dead_letters::Failure;
use orderflow_core::bus::dead_letters::letter;
use orderflow_core::bus::{EventBus, Record};
use orderflow_domain::Event;
use tokio_util::sync::CancellationToken;

use super::{Consumer, Delivery, Origin, retry_transient};
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
        failure: &Failure<'_>,
    ) -> Result<bool, ServiceError> {
        if !dead_letter(&self.bus, record, failure, &self.stop).await {
            return Ok(false);
        }
        let parked = Parked {
            event,
            delivery,
            reason: failure.reason,
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
        let now = chrono::Utc::now();
        let failure = Failure {
            group: self.handler.group().name,
            reason,
            kind: PERMANENT,
            first: now,
            last: now,
            attempts: 1,
        };
        if !dead_letter(&self.bus, record, &failure, &self.stop).await {
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

/// Sets a record aside on `<topic>.dlq` with the reason, its origin and how it failed
/// in headers ([`letter`]).
pub(super) async fn dead_letter(
    bus: &Arc<dyn EventBus>,
    record: &Record,
    failure: &Failure<'_>,
    shutdown: &CancellationToken,
) -> bool {
    let Failure {
        group,
        reason,
        kind,
        ..
    } = *failure;
    tracing::error!(group, topic = %record.topic, partition = record.partition,
        offset = record.offset, kind, order_id = %record.key,
        trace_id = crate::trace::trace_id_of(record), reason, "dead-lettering a record");
    let letter = letter(record, failure);
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
