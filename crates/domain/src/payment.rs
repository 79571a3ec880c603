//! The payment of one order: charged once (or declined), refunded at most once; never
//! charged at all when the order was cancelled before payment got to it.
//!
//! The provider call happens outside; its outcome comes in as a command, so the
//! decision stays pure and a repeated outcome records nothing new. Whether to call the
//! provider at all is decided here too ([`Payment::plan_charge`]), from the order.

use crate::events::{Event, PaymentDeclined, PaymentReceived, PaymentRefunded, PaymentSkipped};
use crate::order::{Order, OrderStatus};
use crate::values::{Money, OrderId};
use crate::{Aggregate, DomainError};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Payment {
    #[default]
    NotCharged,
    Received {
        amount: Money,
        transaction_id: String,
    },
    Declined {
        reason: String,
    },
    Refunded {
        amount: Money,
    },
    /// Never charged: the order was cancelled first.
    Skipped {
        reason: String,
    },
}

/// What the payment provider answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    Approved {
        transaction_id: String,
    },
    Declined {
        reason: String,
    },
    /// The charge was called off before any money was taken.
    Voided {
        reason: String,
    },
}

/// What payment does for an order it is asked to charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargePlan {
    /// Charged, declined or skipped already: nothing more.
    Nothing,
    /// Ask the provider to charge the order, then record its answer.
    Charge,
    /// The order is cancelled and was never charged: do not charge it. The provider is
    /// asked to void the charge instead (an earlier attempt may have charged before it
    /// could record so; then that charge is what gets recorded, and refunded), and its
    /// answer recorded.
    Skip { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentCommand {
    RecordCharge {
        order_id: OrderId,
        amount: Money,
        outcome: ChargeOutcome,
    },
    RecordRefund {
        order_id: OrderId,
        transaction_id: String,
    },
}

impl Payment {
    /// Whether the provider still has to be asked to charge this order.
    pub fn needs_charge(&self) -> bool {
        matches!(self, Payment::NotCharged)
    }

    /// Whether money was taken and not yet given back.
    pub fn needs_refund(&self) -> bool {
        matches!(self, Payment::Received { .. })
    }

    /// Whether to charge the order, given the order as recorded now: an order cancelled
    /// before it was charged is skipped. A cancel that comes after this (while the charge
    /// is in flight) is the real race: the charge is recorded and then refunded.
    pub fn plan_charge(&self, order: &Order) -> ChargePlan {
        if !self.needs_charge() {
            return ChargePlan::Nothing;
        }
        match &order.state {
            Some(o) if o.status == OrderStatus::Cancelled => ChargePlan::Skip {
                reason: format!(
                    "order cancelled before payment: {}",
                    o.cancel_reason.as_deref().unwrap_or("no reason given")
                ),
            },
            _ => ChargePlan::Charge,
        }
    }
}

impl Aggregate for Payment {
    type Command = PaymentCommand;

    fn decide(&self, command: PaymentCommand) -> Result<Vec<Event>, DomainError> {
        match command {
            PaymentCommand::RecordCharge {
                order_id,
                amount,
                outcome,
            } => Ok(match (self, outcome) {
                (Payment::NotCharged, ChargeOutcome::Approved { transaction_id })
                // Money taken is always recorded, so that it can be refunded, even after
                // a skip (a provider that charged although the charge was voided).
                | (Payment::Skipped { .. }, ChargeOutcome::Approved { transaction_id }) => {
                    vec![
                        PaymentReceived {
                            order_id,
                            amount,
                            transaction_id,
                        }
                        .into(),
                    ]
                }
                (Payment::NotCharged, ChargeOutcome::Declined { reason }) => vec![
                    PaymentDeclined {
                        order_id,
                        amount,
                        reason,
                    }
                    .into(),
                ],
                (Payment::NotCharged, ChargeOutcome::Voided { reason }) => vec![
                    PaymentSkipped {
                        order_id,
                        amount,
                        reason,
                    }
                    .into(),
                ],
                // Charged, declined or skipped already: a repeated answer adds nothing.
                _ => vec![],
            }),
            PaymentCommand::RecordRefund {
                order_id,
                transaction_id,
            } => match self {
                Payment::Received { amount, .. } => Ok(vec![
                    PaymentRefunded {
                        order_id,
                        amount: *amount,
                        transaction_id,
                    }
                    .into(),
                ]),
                Payment::Refunded { .. } => Ok(vec![]),
                Payment::NotCharged | Payment::Declined { .. } | Payment::Skipped { .. } => {
                    Err(DomainError::NothingToRefund)
                }
            },
        }
    }

    fn apply(&mut self, event: &Event) {
        match event {
            Event::PaymentReceived(e) => {
                *self = Payment::Received {
                    amount: e.amount,
                    transaction_id: e.transaction_id.clone(),
                }
            }
            Event::PaymentDeclined(e) => {
                *self = Payment::Declined {
                    reason: e.reason.clone(),
                }
            }
            Event::PaymentRefunded(e) => *self = Payment::Refunded { amount: e.amount },
            Event::PaymentSkipped(e) => {
                *self = Payment::Skipped {
                    reason: e.reason.clone(),
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::OrderCancelled;
    use crate::testing::{given, sample_created, sample_order_id};

    fn amount() -> Money {
        Money::from_minor(3998).unwrap()
    }

    fn charge(outcome: ChargeOutcome) -> PaymentCommand {
        PaymentCommand::RecordCharge {
            order_id: sample_order_id(),
            amount: amount(),
            outcome,
        }
    }

    fn approved() -> ChargeOutcome {
        ChargeOutcome::Approved {
            transaction_id: "tx-1".into(),
        }
    }

    fn received() -> Event {
        PaymentReceived {
            order_id: sample_order_id(),
            amount: amount(),
            transaction_id: "tx-1".into(),
        }
        .into()
    }

    fn refund() -> PaymentCommand {
        PaymentCommand::RecordRefund {
            order_id: sample_order_id(),
            transaction_id: "rf-1".into(),
        }
    }

    fn refunded() -> Event {
        PaymentRefunded {
            order_id: sample_order_id(),
            amount: amount(),
            transaction_id: "rf-1".into(),
        }
        .into()
    }

    fn skipped() -> Event {
        PaymentSkipped {
            order_id: sample_order_id(),
            amount: amount(),
            reason: "order cancelled before payment: cancelled by the customer".into(),
        }
        .into()
    }

    fn pending_order() -> Order {
        Order::from_events(&[sample_created()])
    }

    fn cancelled_order() -> Order {
        let cancelled: Event = OrderCancelled {
            order_id: sample_order_id(),
            reason: "cancelled by the customer".into(),
        }
        .into();
        Order::from_events(&[sample_created(), cancelled])
    }

    fn voided() -> ChargeOutcome {
        ChargeOutcome::Voided {
            reason: "order cancelled before payment: cancelled by the customer".into(),
        }
    }

    #[test]
    fn an_order_cancelled_before_payment_is_skipped_and_never_charged() {
        let payment = given::<Payment>(&[]);
        let plan = payment.state().plan_charge(&cancelled_order());
        assert_eq!(
            plan,
            ChargePlan::Skip {
                reason: "order cancelled before payment: cancelled by the customer".into()
            }
        );
        // The provider, asked to void the charge, answers that it is voided.
        payment.when(charge(voided())).then_expect(vec![skipped()]);
    }

    #[test]
    fn a_skipped_payment_is_neither_charged_nor_refunded_later() {
        let payment = given::<Payment>(&[skipped()]);
        assert_eq!(
            payment.state().plan_charge(&cancelled_order()),
            ChargePlan::Nothing
        );
        assert!(!payment.state().needs_refund());
        given::<Payment>(&[skipped()])
            .when(charge(voided()))
            .then_expect(vec![]);
        given::<Payment>(&[skipped()])
            .when(refund())
            .then_expect_error(DomainError::NothingToRefund);
    }

    #[test]
    fn a_pending_order_is_charged() {
        assert_eq!(
            Payment::default().plan_charge(&pending_order()),
            ChargePlan::Charge
        );
    }

    #[test]
    fn an_order_cancelled_while_its_charge_is_in_flight_is_charged_then_refunded() {
        // Payment read the order while it was pending, and asked the provider to charge.
        assert_eq!(
            Payment::default().plan_charge(&pending_order()),
            ChargePlan::Charge
        );
        // The cancel landed meanwhile: the money taken is recorded all the same ...
        given::<Payment>(&[])
            .when(charge(approved()))
            .then_expect(vec![received()]);
        // ... and given back when payment handles the cancel.
        given::<Payment>(&[received()])
            .when(refund())
            .then_expect(vec![refunded()]);
    }

    #[test]
    fn a_charge_made_by_an_earlier_attempt_is_recorded_although_the_order_is_now_cancelled() {
        // An attempt charged and crashed before recording it; the order was cancelled since.
        // Asked to void, the provider answers with the charge that stands.
        let payment = given::<Payment>(&[]);
        assert!(matches!(
            payment.state().plan_charge(&cancelled_order()),
            ChargePlan::Skip { .. }
        ));
        payment
            .when(charge(approved()))
            .then_expect(vec![received()]);
    }

    #[test]
    fn money_taken_after_a_skip_is_still_recorded_so_that_it_is_refunded() {
        given::<Payment>(&[skipped()])
            .when(charge(approved()))
            .then_expect(vec![received()]);
    }

    #[test]
    fn a_charged_order_is_not_charged_again_nor_skipped_once_cancelled() {
        let paid = given::<Payment>(&[received()]);
        assert_eq!(
            paid.state().plan_charge(&cancelled_order()),
            ChargePlan::Nothing
        );
        paid.when(charge(voided())).then_expect(vec![]);
    }

    #[test]
    fn an_approved_charge_records_payment_received() {
        given::<Payment>(&[])
            .when(charge(approved()))
            .then_expect(vec![received()]);
    }

    #[test]
    fn a_declined_charge_records_payment_declined_with_the_reason() {
        given::<Payment>(&[])
            .when(charge(ChargeOutcome::Declined {
                reason: "over limit".into(),
            }))
            .then_expect(vec![
                PaymentDeclined {
                    order_id: sample_order_id(),
                    amount: amount(),
                    reason: "over limit".into(),
                }
                .into(),
            ]);
    }

    #[test]
    fn an_order_is_charged_only_once() {
        let state = given::<Payment>(&[received()]);
        assert!(!state.state().needs_charge());
        state.when(charge(approved())).then_expect(vec![]);
    }

    #[test]
    fn a_received_payment_is_refunded_in_full() {
        given::<Payment>(&[received()])
            .when(refund())
            .then_expect(vec![refunded()]);
    }

    #[test]
    fn a_payment_is_refunded_only_once() {
        let state = given::<Payment>(&[received(), refunded()]);
        assert!(!state.state().needs_refund());
        state.when(refund()).then_expect(vec![]);
    }

    #[test]
    fn nothing_is_refunded_when_nothing_was_taken() {
        given::<Payment>(&[])
            .when(refund())
            .then_expect_error(DomainError::NothingToRefund);
    }
}
