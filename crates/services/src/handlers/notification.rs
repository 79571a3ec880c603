//! Notification: one email when an order is received, shipped or cancelled
//! (`notification/compose.rs` writes it).
//!
//! The email is sent before `NotificationSent` is recorded; after a crash in between it
//! is sent again with the same `Message-ID` (a file mailer simply rewrites the same file).
//!
//! A customer forgotten (`CustomerForgotten`) has the copies the mailer keeps of their
//! emails removed: the mail folder's files hold their address in the clear.

use std::sync::Arc;

use async_trait::async_trait;
use orderflow_core::mail::{MailError, Mailer};
use orderflow_domain::notification::{Notifications, Notify, RecordFailed, RecordSent};
use orderflow_domain::order::Order;
use orderflow_domain::reactions::{notification_intent, recipient};
use orderflow_domain::{Aggregate, Event, streams};

use super::cause_of;
use crate::consumer::{Delivery, Group, Handler, Parked};
use crate::context::{Correlated, Loaded, Recorder, ServiceError};
pub use compose::{compose, message_id};
use orderflow_domain::Topic;
use tracing::Instrument as _;

/// The consumer group, and the topics it reads.
pub const GROUP: Group = Group {
    name: "notification",
    topics: &[Topic::Orders],
};

#[derive(Debug)]
pub struct NotificationService {
    pub recorder: Recorder,
    pub mailer: Arc<dyn Mailer>,
}

#[async_trait]
impl Handler for NotificationService {
    fn group(&self) -> Group {
        GROUP
    }

    async fn parked(&self, parked: &Parked<'_>) -> Result<(), ServiceError> {
        super::step_failed::record(&self.recorder, GROUP, parked).await
    }

    async fn handle(&self, event: &Event, delivery: &Delivery) -> Result<(), ServiceError> {
        if let Event::CustomerForgotten(e) = event {
            let removed = self.mailer.forget(&recipient(&e.customer_id)).await?;
            tracing::info!(customer = %e.customer_id, removed, "a forgotten customer's emails removed");
            return Ok(());
        }
        let Some((kind, order_id, detail)) = notification_intent(event) else {
            return Ok(());
        };
        let stream = streams::notification(order_id);
        let cause = cause_of(delivery, "notification");
        let detail = &detail;
        let decide = |sent: Loaded<Notifications>, all: Correlated| async move {
            if sent.aggregate.is_settled(kind) {
                return Ok(vec![]);
            }
            let order = all.load::<Order>(&streams::order(order_id));
            let Some(order) = order.aggregate.state else {
                return Ok(vec![]);
            };
            let customer = order.customer_id.clone();
            let to = recipient(&customer);
            let email = compose(kind, &order, to.clone(), detail);
            // The API takes only ids that make an address; older ones may not.
            let mailable = customer
                .check_mailable()
                .map_err(|e| MailError::Invalid(e.to_string()));
            // An email that can never go out is recorded as failed (the order's history
            // says why); one that cannot go out now is tried again.
            let delivered = match mailable {
                Ok(()) => {
                    let span = tracing::info_span!(
                        "mail.send",
                        otel.kind = "client",
                        order_id = %order_id,
                        kind = ?kind,
                        message_id = %email.message_id,
                    );
                    self.mailer.send(&email).instrument(span).await
                }
                Err(e) => Err(e),
            };
            let outcome = match delivered {
                Ok(()) => Notify::Sent(RecordSent {
                    order_id: order_id.clone(),
                    kind,
                    recipient: to,
                    message_id: format!("<{}>", email.message_id),
                }),
                Err(e) if !e.is_transient() => Notify::Failed(RecordFailed {
                    order_id: order_id.clone(),
                    kind,
                    recipient: to,
                    reason: e.to_string(),
                }),
                Err(e) => return Err(e.into()),
            };
            Ok(sent.aggregate.decide(outcome)?)
        };
        self.recorder
            .execute(order_id.as_str(), &stream, cause, decide)
            .await
            .map(drop)
    }
}

mod compose;
#[cfg(test)]
mod tests;
