//! What the order's services record when a record about an order is set aside: a
//! `StepFailed` in the order's `steps-<id>` stream, once per record, so that the order's
//! history and `GET /orders/{id}` say which step did not happen and why.

use orderflow_domain::events::StepFailed;
use orderflow_domain::failed_steps::{FailedSteps, RecordStepFailed};
use orderflow_domain::{Aggregate, OrderId, Timestamp, streams};

use super::cause_of;
use crate::consumer::{Group, Parked};
use crate::context::{Loaded, Recorder, ServiceError};

/// Records on the order that `group` gave up on the record `parked`; nothing when the
/// event is about no order (a stock level).
pub async fn record(
    recorder: &Recorder,
    group: Group,
    parked: &Parked<'_>,
) -> Result<(), ServiceError> {
    let Some(order_id) = parked.event.order_id() else {
        return Ok(());
    };
    let order_id = OrderId::parse(order_id)?;
    let cause = cause_of(parked.delivery, group.name);
    let failed = StepFailed {
        order_id: order_id.clone(),
        step: group.name.to_owned(),
        event_type: parked.event.type_name().to_owned(),
        reason: parked.reason.to_owned(),
        topic: parked.delivery.origin.topic.clone(),
        partition: parked.delivery.origin.partition,
        offset: parked.delivery.origin.offset,
        at: Timestamp(cause.now.timestamp_millis()),
    };
    let failed = &failed;
    recorder
        .execute(
            order_id.as_str(),
            &streams::steps(&order_id),
            cause,
            |steps: Loaded<FailedSteps>, _| async move {
                Ok(steps.aggregate.decide(RecordStepFailed(failed.clone()))?)
            },
        )
        .await
        .map(drop)
}

#[cfg(test)]
mod tests;
