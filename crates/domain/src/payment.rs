//! The payment of one order: charged once (or declined), refunded at most once.
//!
//! The provider call happens outside; its outcome comes in as a command, so the
//! decision stays pure and a repeated outcome records nothing new.

use crate::events::{Event, PaymentDeclined, PaymentReceived, PaymentRefunded};
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
}

/// What the payment provider answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    Approved { transaction_id: String },
    Declined { reason: String },
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
}

impl Aggregate for Payment {
    type Command = PaymentCommand;

    fn decide(&self, command: PaymentCommand) -> Result<Vec<Event>, DomainError> {
        match command {
            PaymentCommand::RecordCharge {
                order_id,
                amount,
                outcome,
            } => {
                if !self.needs_charge() {
                    return Ok(vec![]);
                }
                Ok(vec![match outcome {
                    ChargeOutcome::Approved { transaction_id } => PaymentReceived {
                        order_id,
                        amount,
                        transaction_id,
                    }
                    .into(),
                    ChargeOutcome::Declined { reason } => PaymentDeclined {
                        order_id,
                        amount,
                        reason,
                    }
                    .into(),
                }])
            }
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
                Payment::NotCharged | Payment::Declined { .. } => Err(DomainError::NothingToRefund),
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
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{given, sample_order_id};

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
