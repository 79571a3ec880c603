//! Re-deriving a recorded decision: which handler (or API request) recorded an event,
//! the command it derived from the event that caused it (with `domain::reactions`, as
//! the handler does), and what the rules decide on it now, against the state it was
//! decided on.
//!
//! A handler reads the other streams of an order without holding them (only the
//! stream it appends to is checked at the append), so an event of another stream may
//! land between its read and its append. Where a decision reads such streams (the
//! order process, payment's plan), it is also tried on the facts as they were right
//! after the event that caused it; it agrees if either agrees.

use std::collections::{BTreeMap, HashMap};

use orderflow_core::store::StoredEvent;
use orderflow_domain::Personal;
use orderflow_domain::events::NotificationKind;
use orderflow_domain::failed_steps::{FailedSteps, RecordStepFailed};
use orderflow_domain::inventory::{Reservation, ReservationCommand, SetLevel, SkuStock};
use orderflow_domain::notification::{Notifications, Notify, RecordFailed, RecordSent};
use orderflow_domain::order::{Order, OrderCommand};
use orderflow_domain::payment::{ChargeOutcome, ChargePlan, Payment, PaymentCommand};
use orderflow_domain::process::OrderFacts;
use orderflow_domain::reactions::{
    PaymentIntent, ReservationIntent, dispatch_intent, notification_intent, payment_intent,
    process_trigger, recipient, reservation_intent,
};
use orderflow_domain::shipment::{Dispatch, Shipment};
use orderflow_domain::{Aggregate, DomainError, Event, OrderId, streams};
use uuid::Uuid;

use super::rules::Rules;
use crate::handlers::notification::message_id;
use crate::handlers::shipping::tracking_number;
use crate::handlers::{inventory, notification, order_process, payment, shipping};
use crate::replay::State;

/// One stream as folded so far.
#[derive(Debug, Default)]
pub(super) struct Folded {
    pub version: u64,
    /// `None` for a stream of no category this build knows.
    pub state: Option<State>,
}

/// An event that causes decisions, and for the order process's triggers the order's
/// facts right after it.
#[derive(Debug)]
pub(super) struct Cause {
    pub event: Event,
    pub facts: Option<OrderFacts>,
}

/// What the rules make of a recorded decision now.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Outcome {
    Events(Vec<Event>),
    Refused(DomainError),
    /// The current code would have taken another way (asked the provider something
    /// else), whose answer history cannot tell.
    Otherwise(String),
}

/// Whether an event is re-decided, and if so the outcomes that agree with history
/// (any one of them).
#[derive(Debug)]
pub(super) enum Expected {
    /// Recorded by no decision this build re-derives (an unknown actor, a cause not in
    /// the store): folded only.
    FoldedOnly,
    Candidates(Vec<Outcome>),
}

/// The streams folded so far and the causes seen: the state a decision is made on.
pub(super) struct World<'a> {
    pub streams: &'a HashMap<String, Folded>,
    pub causes: &'a HashMap<Uuid, Cause>,
}

fn outcome(decided: Result<Vec<Event>, DomainError>) -> Outcome {
    match decided {
        Ok(events) => Outcome::Events(events),
        Err(e) => Outcome::Refused(e),
    }
}

fn nothing() -> Expected {
    Expected::Candidates(vec![Outcome::Events(vec![])])
}

macro_rules! state_of {
    ($name:ident, $variant:ident, $ty:ty) => {
        fn $name(&self, stream: &str) -> $ty {
            match self.streams.get(stream).and_then(|f| f.state.as_ref()) {
                Some(State::$variant(s)) => s.clone(),
                _ => <$ty>::default(),
            }
        }
    };
}

impl World<'_> {
    state_of!(order, Order, Order);
    state_of!(payment, Payment, Payment);
    state_of!(reservation, Reservation, Reservation);
    state_of!(sku, Sku, SkuStock);
    state_of!(shipment, Shipment, Shipment);
    state_of!(notifications, Notifications, Notifications);
    state_of!(steps, Steps, FailedSteps);

    pub fn facts(&self, id: &OrderId) -> OrderFacts {
        OrderFacts {
            order: self.order(&streams::order(id)),
            payment: self.payment(&streams::payment(id)),
            reservation: self.reservation(&streams::reservation(id)),
            shipment: self.shipment(&streams::shipment(id)),
        }
    }

    /// What the rules decide now on the decision that recorded `first` (the first event
    /// of its append), given the state just before it.
    pub fn expected(&self, rules: &dyn Rules, first: &Event, stored: &StoredEvent) -> Expected {
        let cause = stored.causation_id.and_then(|id| self.causes.get(&id));
        let actor = stored.actor.as_str();
        match (first, actor, cause) {
            (Event::StepFailed(e), _, _) => {
                let steps = self.steps(&streams::steps(&e.order_id));
                Expected::Candidates(vec![outcome(
                    rules.failed_steps(&steps, RecordStepFailed(e.clone())),
                )])
            }
            (Event::OrderCreated(e), "api", _) => {
                let order = self.order(&streams::order(&e.order_id));
                let place = OrderCommand::Place {
                    order_id: e.order_id.clone(),
                    customer_id: e.customer_id.clone(),
                    lines: e.lines.clone(),
                    currency: e.currency.clone(),
                    shipping_address: e
                        .shipping_address
                        .as_ref()
                        .and_then(Personal::text)
                        .map(str::to_owned),
                    now: e.timestamp,
                };
                let mut decided = rules.order(&order, place);
                // The address is what the client gave, not a decision: erased since (its
                // customer forgotten) or sealed (read without the keys), it stands as
                // recorded.
                if let (Ok(events), Some(recorded)) = (&mut decided, &e.shipping_address)
                    && recorded.text().is_none()
                {
                    for event in events {
                        if let Event::OrderCreated(created) = event {
                            created.shipping_address = Some(recorded.clone());
                        }
                    }
                }
                Expected::Candidates(vec![outcome(decided)])
            }
            (Event::OrderCancelled(e), "api", _) => {
                let order = self.order(&streams::order(&e.order_id));
                let cancel = OrderCommand::Cancel {
                    reason: e.reason.clone(),
                };
                Expected::Candidates(vec![outcome(rules.order(&order, cancel))])
            }
            (Event::StockLevelSet(e), "api", _) => {
                let stock = self.sku(&streams::sku(&e.sku));
                let set = SetLevel {
                    sku: e.sku.clone(),
                    available: e.available,
                };
                Expected::Candidates(vec![outcome(rules.stock(&stock, set))])
            }
            (_, _, None) => Expected::FoldedOnly,
            (_, actor, Some(cause)) if actor == order_process::GROUP.name => {
                self.order_process(rules, cause)
            }
            (_, actor, Some(cause)) if actor == payment::GROUP.name => {
                self.payment_step(rules, first, &cause.event)
            }
            (_, actor, Some(cause)) if actor == inventory::GROUP.name => {
                self.inventory_step(rules, &cause.event)
            }
            (_, actor, Some(cause)) if actor == shipping::GROUP.name => {
                let Some(id) = dispatch_intent(&cause.event) else {
                    return nothing();
                };
                let shipment = self.shipment(&streams::shipment(id));
                let dispatch = Dispatch {
                    order_id: id.clone(),
                    tracking_number: tracking_number(id),
                };
                Expected::Candidates(vec![outcome(rules.shipment(&shipment, dispatch))])
            }
            (_, actor, Some(cause)) if actor == notification::GROUP.name => {
                self.notification_step(rules, first, &cause.event)
            }
            _ => Expected::FoldedOnly,
        }
    }

    fn order_process(&self, rules: &dyn Rules, cause: &Cause) -> Expected {
        let Some(id) = process_trigger(&cause.event) else {
            return nothing();
        };
        let now = self.facts(id);
        let decide = |facts: &OrderFacts| match rules.next_order_command(facts) {
            None => Outcome::Events(vec![]),
            Some(command) => outcome(rules.order(&now.order, command)),
        };
        let mut candidates = vec![decide(&now)];
        if let Some(then) = &cause.facts {
            // The order's own stream is held by the append: only the others may differ.
            let then = OrderFacts {
                order: now.order.clone(),
                ..then.clone()
            };
            candidates.push(decide(&then));
        }
        Expected::Candidates(candidates)
    }

    fn payment_step(&self, rules: &dyn Rules, first: &Event, cause: &Event) -> Expected {
        let Some((id, intent)) = payment_intent(cause) else {
            return nothing();
        };
        let payment = self.payment(&streams::payment(id));
        match intent {
            PaymentIntent::Charge(amount) => {
                // The provider's answer, as recorded.
                let answer = match first {
                    Event::PaymentReceived(e) => ChargeOutcome::Approved {
                        transaction_id: e.transaction_id.clone(),
                    },
                    Event::PaymentDeclined(e) => ChargeOutcome::Declined {
                        reason: e.reason.clone(),
                    },
                    Event::PaymentSkipped(e) => ChargeOutcome::Voided {
                        reason: e.reason.clone(),
                    },
                    _ => return Expected::Candidates(vec![Outcome::Otherwise("a charge".into())]),
                };
                // The order as it is now, and as it was when it was created.
                let orders = [self.order(&streams::order(id)), Order::from_events([cause])];
                let candidates = orders
                    .iter()
                    .map(
                        |order| match (rules.plan_charge(&payment, order), &answer) {
                            (ChargePlan::Nothing, _) => Outcome::Events(vec![]),
                            (ChargePlan::Charge, ChargeOutcome::Voided { .. }) => {
                                Outcome::Otherwise("a charge, not a void".into())
                            }
                            (ChargePlan::Skip { .. }, ChargeOutcome::Declined { .. }) => {
                                Outcome::Otherwise("a void, not a charge".into())
                            }
                            _ => outcome(rules.payment(
                                &payment,
                                PaymentCommand::RecordCharge {
                                    order_id: id.clone(),
                                    amount,
                                    outcome: answer.clone(),
                                },
                            )),
                        },
                    )
                    .collect();
                Expected::Candidates(candidates)
            }
            PaymentIntent::Refund => {
                if !matches!(payment, Payment::Received { .. }) {
                    return nothing();
                }
                let Event::PaymentRefunded(e) = first else {
                    return Expected::Candidates(vec![Outcome::Otherwise("a refund".into())]);
                };
                let refund = PaymentCommand::RecordRefund {
                    order_id: id.clone(),
                    transaction_id: e.transaction_id.clone(),
                };
                Expected::Candidates(vec![outcome(rules.payment(&payment, refund))])
            }
        }
    }

    fn inventory_step(&self, rules: &dyn Rules, cause: &Event) -> Expected {
        let Some((id, intent)) = reservation_intent(cause) else {
            return nothing();
        };
        let reservation = self.reservation(&streams::reservation(id));
        let command = match intent {
            ReservationIntent::Reserve(lines) => {
                if reservation.is_requested() {
                    return nothing();
                }
                // The SKUs as the append found them (their versions are checked).
                let stock: BTreeMap<_, _> = lines
                    .iter()
                    .map(|l| (l.sku.clone(), self.sku(&streams::sku(&l.sku))))
                    .collect();
                ReservationCommand::Reserve {
                    order_id: id.clone(),
                    items: lines,
                    stock,
                }
            }
            _ if !matches!(reservation, Reservation::Reserved { .. }) => return nothing(),
            ReservationIntent::Release => ReservationCommand::Release {
                order_id: id.clone(),
            },
            ReservationIntent::Fulfil => ReservationCommand::Fulfil {
                order_id: id.clone(),
            },
        };
        Expected::Candidates(vec![outcome(rules.reservation(&reservation, command))])
    }

    fn notification_step(&self, rules: &dyn Rules, first: &Event, cause: &Event) -> Expected {
        let Some((kind, id, _)) = notification_intent(cause) else {
            return nothing();
        };
        let sent = self.notifications(&streams::notification(id));
        if sent.is_settled(kind) {
            return nothing();
        }
        let Some(order) = self.order(&streams::order(id)).state else {
            return nothing();
        };
        let to = recipient(&order.customer_id);
        // Whether the mail server took it, as recorded.
        let command = match first {
            Event::NotificationSent(_) => Notify::Sent(RecordSent {
                order_id: id.clone(),
                kind,
                recipient: to,
                message_id: format!("<{}>", message_id(kind, id)),
            }),
            Event::NotificationFailed(e) => Notify::Failed(RecordFailed {
                order_id: id.clone(),
                kind,
                recipient: to,
                reason: e.reason.clone(),
            }),
            _ => return Expected::Candidates(vec![Outcome::Otherwise(email(kind))]),
        };
        Expected::Candidates(vec![outcome(rules.notifications(&sent, command))])
    }
}

fn email(kind: NotificationKind) -> String {
    format!("an email ({})", kind.as_str())
}
