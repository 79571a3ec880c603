//! The business rules `verify` re-runs recorded decisions with: the current code's
//! ([`CurrentRules`]), or, in a test, a changed rule, to see that verify notices it.

use orderflow_domain::failed_steps::{FailedSteps, RecordStepFailed};
use orderflow_domain::inventory::{Reservation, ReservationCommand, SetLevel, SkuStock};
use orderflow_domain::notification::{Notifications, Notify};
use orderflow_domain::order::{Order, OrderCommand};
use orderflow_domain::payment::{ChargePlan, Payment, PaymentCommand};
use orderflow_domain::process::{OrderFacts, next_command};
use orderflow_domain::shipment::{Dispatch, Shipment};
use orderflow_domain::{Aggregate, DomainError, Event};

type Decided = Result<Vec<Event>, DomainError>;

/// Each aggregate's `decide`, and the policies that pick a command. Every method
/// defaults to the domain's own; an implementation overrides the one rule it changes.
pub trait Rules: Send + Sync {
    fn order(&self, state: &Order, command: OrderCommand) -> Decided {
        state.decide(command)
    }

    /// The order process's policy: the order's next command, given its facts.
    fn next_order_command(&self, facts: &OrderFacts) -> Option<OrderCommand> {
        next_command(facts)
    }

    fn payment(&self, state: &Payment, command: PaymentCommand) -> Decided {
        state.decide(command)
    }

    /// Whether payment charges, skips or leaves an order.
    fn plan_charge(&self, payment: &Payment, order: &Order) -> ChargePlan {
        payment.plan_charge(order)
    }

    fn reservation(&self, state: &Reservation, command: ReservationCommand) -> Decided {
        state.decide(command)
    }

    fn stock(&self, state: &SkuStock, command: SetLevel) -> Decided {
        state.decide(command)
    }

    fn shipment(&self, state: &Shipment, command: Dispatch) -> Decided {
        state.decide(command)
    }

    fn notifications(&self, state: &Notifications, command: Notify) -> Decided {
        state.decide(command)
    }

    fn failed_steps(&self, state: &FailedSteps, command: RecordStepFailed) -> Decided {
        state.decide(command)
    }
}

/// The rules of this build.
#[derive(Debug, Clone, Copy, Default)]
pub struct CurrentRules;

impl Rules for CurrentRules {}
