//! Payment: charges an order when it is created, refunds it when it is cancelled.

use std::sync::Arc;

use async_trait::async_trait;
use orderflow_domain::payment::{Payment, PaymentCommand};
use orderflow_domain::{Aggregate, Event, streams};

use super::cause_of;
use crate::consumer::{Delivery, Handler};
use crate::context::{Recorder, ServiceError, retry_on_conflict};
use crate::payment_provider::PaymentProvider;

/// The consumer group, and the topics it reads.
pub const GROUP: &str = "payment";
pub const TOPICS: &[&str] = &["orders"];

#[derive(Debug)]
pub struct PaymentService {
    pub recorder: Recorder,
    pub provider: Arc<dyn PaymentProvider>,
}

#[async_trait]
impl Handler for PaymentService {
    fn group(&self) -> &'static str {
        GROUP
    }

    fn topics(&self) -> &'static [&'static str] {
        TOPICS
    }

    async fn handle(&self, event: &Event, delivery: &Delivery) -> Result<(), ServiceError> {
        let cause = cause_of(delivery, "payment");
        match event {
            Event::OrderCreated(created) => {
                let stream = streams::payment(&created.order_id);
                retry_on_conflict(|| async {
                    let payment = self.recorder.load::<Payment>(&stream).await?;
                    if !payment.state.needs_charge() {
                        return Ok(());
                    }
                    let amount = created.lines.total();
                    let outcome = self
                        .provider
                        .charge(&created.order_id, amount)
                        .await
                        .map_err(ServiceError::from)?;
                    let events = payment.state.decide(PaymentCommand::RecordCharge {
                        order_id: created.order_id.clone(),
                        amount,
                        outcome,
                    })?;
                    self.recorder
                        .record(&events, &[(&stream, payment.version)], cause)
                        .await
                        .map(drop)
                })
                .await
            }
            Event::OrderCancelled(cancelled) => {
                let stream = streams::payment(&cancelled.order_id);
                retry_on_conflict(|| async {
                    let payment = self.recorder.load::<Payment>(&stream).await?;
                    let Payment::Received { amount, .. } = payment.state else {
                        return Ok(());
                    };
                    let refund_id = self
                        .provider
                        .refund(&cancelled.order_id, amount)
                        .await
                        .map_err(ServiceError::from)?;
                    let events = payment.state.decide(PaymentCommand::RecordRefund {
                        order_id: cancelled.order_id.clone(),
                        transaction_id: refund_id,
                    })?;
                    self.recorder
                        .record(&events, &[(&stream, payment.version)], cause)
                        .await
                        .map(drop)
                })
                .await
            }
            _ => Ok(()),
        }
    }
}
