//! Payment: charges an order when it is created, refunds it when it is cancelled.
//!
//! An order already cancelled when payment gets to it (payment running behind) is not
//! charged: the domain plans a skip, the provider is asked to void the order's charge
//! (so that a charge an earlier, crashed attempt made comes to light instead of being
//! forgotten) and `PaymentSkipped` is recorded. Only a cancel that lands while the charge
//! is in flight leads to a charge and then a refund.
//!
//! The provider's idempotency keys come from the order alone ([`charge_key`],
//! [`refund_key`]): every attempt at a step (after a crash, a redelivery, a conflict)
//! asks under the same key, so the provider answers it once, and a void closes the very
//! key its charge would use.

use std::sync::Arc;

use async_trait::async_trait;
use orderflow_core::payment::PaymentProvider;
use orderflow_domain::order::Order;
use orderflow_domain::payment::{ChargePlan, Payment, PaymentCommand};
use orderflow_domain::reactions::{PaymentIntent as Intent, payment_intent};
use orderflow_domain::{Aggregate, Event, OrderId, streams};

use super::cause_of;
use crate::consumer::{Delivery, Group, Handler, Parked};
use crate::context::{Loaded, Recorder, ServiceError};
use orderflow_domain::Topic;
use tracing::Instrument as _;

/// The span of a call to the payment provider (a client span of the handler's).
fn provider_span(name: &'static str, order_id: &OrderId) -> tracing::Span {
    tracing::info_span!("provider", otel.name = name, otel.kind = "client", order_id = %order_id)
}

/// The consumer group, and the topics it reads.
pub const GROUP: Group = Group {
    name: "payment",
    topics: &[Topic::Orders],
};

#[derive(Debug)]
pub struct PaymentService {
    pub recorder: Recorder,
    pub provider: Arc<dyn PaymentProvider>,
}

/// The idempotency key of the order's charge, and of its void.
pub fn charge_key(order_id: &OrderId) -> String {
    format!("charge:{order_id}")
}

/// The idempotency key of the order's refund.
pub fn refund_key(order_id: &OrderId) -> String {
    format!("refund:{order_id}")
}

impl PaymentService {
    /// Loads the order's payment and the order as recorded now, asks the provider what
    /// the domain's decision calls for, and records its answer at the version read; on a
    /// conflict, all of it again on fresh facts.
    async fn decide_and_record(
        &self,
        order_id: &OrderId,
        intent: Intent,
        delivery: &Delivery,
    ) -> Result<(), ServiceError> {
        let stream = streams::payment(order_id);
        let cause = cause_of(delivery, "payment");
        self.recorder
            .execute(
                order_id.as_str(),
                &stream,
                cause,
                |payment: Loaded<Payment>, all| async move {
                    let command = match intent {
                        Intent::Charge(amount) => {
                            let order = all.load::<Order>(&streams::order(order_id)).aggregate;
                            let key = charge_key(order_id);
                            let outcome = match payment.aggregate.plan_charge(&order) {
                                ChargePlan::Nothing => return Ok(vec![]),
                                ChargePlan::Charge => {
                                    let span = provider_span("payment.charge", order_id);
                                    self.provider
                                        .charge(&key, order_id, amount)
                                        .instrument(span)
                                        .await?
                                }
                                ChargePlan::Skip { reason } => {
                                    let span = provider_span("payment.void", order_id);
                                    self.provider
                                        .void(&key, order_id, amount, &reason)
                                        .instrument(span)
                                        .await?
                                }
                            };
                            PaymentCommand::RecordCharge {
                                order_id: order_id.clone(),
                                amount,
                                outcome,
                            }
                        }
                        Intent::Refund => {
                            let Payment::Received { amount, .. } = payment.aggregate else {
                                return Ok(vec![]);
                            };
                            PaymentCommand::RecordRefund {
                                order_id: order_id.clone(),
                                transaction_id: self
                                    .provider
                                    .refund(&refund_key(order_id), order_id, amount)
                                    .await?,
                            }
                        }
                    };
                    Ok(payment.aggregate.decide(command)?)
                },
            )
            .await
            .map(drop)
    }
}

#[async_trait]
impl Handler for PaymentService {
    fn group(&self) -> Group {
        GROUP
    }

    async fn parked(&self, parked: &Parked<'_>) -> Result<(), ServiceError> {
        super::step_failed::record(&self.recorder, GROUP, parked).await
    }

    async fn handle(&self, event: &Event, delivery: &Delivery) -> Result<(), ServiceError> {
        match payment_intent(event) {
            Some((order_id, intent)) => self.decide_and_record(order_id, intent, delivery).await,
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
