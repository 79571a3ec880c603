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
mod tests;
