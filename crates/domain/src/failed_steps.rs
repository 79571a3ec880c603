//! The steps about one order that were given up on: each record set aside is recorded
//! once, however often it is set aside again (a redelivery after a crash).

use std::collections::BTreeSet;

use crate::events::{Event, StepFailed};
use crate::{Aggregate, DomainError};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FailedSteps {
    /// The step and the origin (topic, partition, offset) of each record recorded.
    pub recorded: BTreeSet<(String, String, u32, u64)>,
}

/// Record that a step was given up on, with the record it was handling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordStepFailed(pub StepFailed);

fn origin(e: &StepFailed) -> (String, String, u32, u64) {
    (e.step.clone(), e.topic.clone(), e.partition, e.offset)
}

impl Aggregate for FailedSteps {
    type Command = RecordStepFailed;

    fn decide(
        &self,
        RecordStepFailed(failed): RecordStepFailed,
    ) -> Result<Vec<Event>, DomainError> {
        // A `StepFailed` that could not be handled is not recorded as one more: that
        // would be read, and could fail, again.
        if self.recorded.contains(&origin(&failed)) || failed.event_type == "StepFailed" {
            return Ok(vec![]);
        }
        Ok(vec![failed.into()])
    }

    fn apply(&mut self, event: &Event) {
        if let Event::StepFailed(e) = event {
            self.recorded.insert(origin(e));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Timestamp;
    use crate::testing::{given, sample_order_id};

    fn failed(step: &str, offset: u64) -> StepFailed {
        StepFailed {
            order_id: sample_order_id(),
            step: step.into(),
            event_type: "OrderCreated".into(),
            reason: "payment provider refused the request: card blocked".into(),
            topic: "orders".into(),
            partition: 3,
            offset,
            at: Timestamp(1_700_000_000_000),
        }
    }

    #[test]
    fn a_step_given_up_on_is_recorded_once_however_often_its_record_is_set_aside() {
        given::<FailedSteps>(&[])
            .when(RecordStepFailed(failed("payment", 41)))
            .then_expect(vec![failed("payment", 41).into()]);
        let mut again = failed("payment", 41);
        again.reason = "gave up after 3600.0s of retries".into();
        given::<FailedSteps>(&[failed("payment", 41).into()])
            .when(RecordStepFailed(again))
            .then_expect(vec![]);
    }

    #[test]
    fn another_record_or_another_step_of_the_same_order_is_recorded_too() {
        let history: Vec<Event> = vec![failed("payment", 41).into()];
        given::<FailedSteps>(&history)
            .when(RecordStepFailed(failed("payment", 42)))
            .then_expect_len(1);
        given::<FailedSteps>(&history)
            .when(RecordStepFailed(failed("inventory", 41)))
            .then_expect_len(1);
    }

    #[test]
    fn a_step_failed_that_could_not_be_handled_is_not_recorded_as_another() {
        let mut about_a_failure = failed("analytics", 50);
        about_a_failure.event_type = "StepFailed".into();
        given::<FailedSteps>(&[])
            .when(RecordStepFailed(about_a_failure))
            .then_expect(vec![]);
    }
}
