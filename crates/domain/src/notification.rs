//! The emails about one order: each kind is sent once.

use std::collections::BTreeSet;

use crate::events::{Event, NotificationKind, NotificationSent};
use crate::values::OrderId;
use crate::{Aggregate, DomainError};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notifications {
    pub sent: BTreeSet<NotificationKind>,
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
}

impl Aggregate for Notifications {
    type Command = RecordSent;

    fn decide(&self, command: RecordSent) -> Result<Vec<Event>, DomainError> {
        if self.was_sent(command.kind) {
            return Ok(vec![]);
        }
        Ok(vec![
            NotificationSent {
                order_id: command.order_id,
                kind: command.kind,
                recipient: command.recipient,
                message_id: command.message_id,
            }
            .into(),
        ])
    }

    fn apply(&mut self, event: &Event) {
        if let Event::NotificationSent(e) = event {
            self.sent.insert(e.kind);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{given, sample_order_id};

    fn send(kind: NotificationKind) -> RecordSent {
        RecordSent {
            order_id: sample_order_id(),
            kind,
            recipient: "c-1@example.com".into(),
            message_id: "<m@x>".into(),
        }
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
