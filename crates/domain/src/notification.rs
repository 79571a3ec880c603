//! The emails about one order: each kind is sent once, or recorded as failed once when
//! it can never be sent.

use std::collections::BTreeSet;

use crate::events::{Event, NotificationFailed, NotificationKind, NotificationSent};
use crate::values::OrderId;
use crate::{Aggregate, DomainError};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notifications {
    pub sent: BTreeSet<NotificationKind>,
    pub failed: BTreeSet<NotificationKind>,
}

/// What happened to an email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notify {
    Sent(RecordSent),
    Failed(RecordFailed),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordFailed {
    pub order_id: OrderId,
    pub kind: NotificationKind,
    pub recipient: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSent {
    pub order_id: OrderId,
    pub kind: NotificationKind,
    pub recipient: String,
    pub message_id: String,
}

impl Notifications {
    pub fn was_sent(&self, kind: NotificationKind) -> bool {
        self.sent.contains(&kind)
    }

    /// Sent, or failed for good: either way nothing more to do for this kind.
    pub fn is_settled(&self, kind: NotificationKind) -> bool {
        self.sent.contains(&kind) || self.failed.contains(&kind)
    }
}

impl Aggregate for Notifications {
    type Command = Notify;

    fn decide(&self, command: Notify) -> Result<Vec<Event>, DomainError> {
        Ok(match command {
            Notify::Sent(c) if !self.was_sent(c.kind) => vec![
                NotificationSent {
                    order_id: c.order_id,
                    kind: c.kind,
                    recipient: c.recipient,
                    message_id: c.message_id,
                }
                .into(),
            ],
            Notify::Failed(c) if !self.is_settled(c.kind) => vec![
                NotificationFailed {
                    order_id: c.order_id,
                    kind: c.kind,
                    recipient: c.recipient,
                    reason: c.reason,
                }
                .into(),
            ],
            _ => vec![],
        })
    }

    fn apply(&mut self, event: &Event) {
        match event {
            Event::NotificationSent(e) => {
                self.sent.insert(e.kind);
            }
            Event::NotificationFailed(e) => {
                self.failed.insert(e.kind);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{given, sample_order_id};

    fn send(kind: NotificationKind) -> Notify {
        Notify::Sent(RecordSent {
            order_id: sample_order_id(),
            kind,
            recipient: "c-1@example.com".into(),
            message_id: "<m@x>".into(),
        })
    }

    fn fail(kind: NotificationKind) -> Notify {
        Notify::Failed(RecordFailed {
            order_id: sample_order_id(),
            kind,
            recipient: "a:b@example.com".into(),
            reason: "not an address".into(),
        })
    }

    #[test]
    fn an_email_that_can_never_be_sent_is_recorded_as_failed_once() {
        let failed: Event = NotificationFailed {
            order_id: sample_order_id(),
            kind: NotificationKind::OrderReceived,
            recipient: "a:b@example.com".into(),
            reason: "not an address".into(),
        }
        .into();
        given::<Notifications>(&[])
            .when(fail(NotificationKind::OrderReceived))
            .then_expect(vec![failed.clone()]);
        given::<Notifications>(std::slice::from_ref(&failed))
            .when(fail(NotificationKind::OrderReceived))
            .then_expect(vec![]);
        given::<Notifications>(&[failed])
            .when(fail(NotificationKind::OrderShipped))
            .then_expect_len(1);
    }

    #[test]
    fn each_kind_of_email_is_recorded_once() {
        let sent: Event = NotificationSent {
            order_id: sample_order_id(),
            kind: NotificationKind::OrderReceived,
            recipient: "c-1@example.com".into(),
            message_id: "<m@x>".into(),
        }
        .into();
        given::<Notifications>(&[])
            .when(send(NotificationKind::OrderReceived))
            .then_expect(vec![sent.clone()]);
        given::<Notifications>(std::slice::from_ref(&sent))
            .when(send(NotificationKind::OrderReceived))
            .then_expect(vec![]);
        let other = given::<Notifications>(&[sent]).when(send(NotificationKind::OrderShipped));
        other.then_expect_len(1);
    }
}
