//! What an order is waiting for: the steps of the pipeline still missing, given what
//! has been recorded about it. A pure reading of the same facts the order process
//! decides on, plus the emails; empty once the order is final (shipped or cancelled)
//! and every email about it is settled.

use crate::events::NotificationKind;
use crate::inventory::Reservation;
use crate::notification::Notifications;
use crate::order::OrderStatus;
use crate::payment::Payment;
use crate::process::{OrderFacts, next_command};

/// A step of the pipeline an order can wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    /// The charge: nothing recorded of the payment yet.
    Payment,
    /// The reservation: nothing recorded of the stock yet.
    Stock,
    /// The order process has what it needs and has yet to record it: confirm (or
    /// cancel) the order, or mark a dispatched order shipped.
    Confirmation,
    /// The dispatch of a confirmed order.
    Shipment,
    /// An email due about the order, neither sent nor failed for good.
    Email,
}

impl Step {
    /// Every step, in pipeline order.
    pub const ALL: [Step; 5] = [
        Step::Payment,
        Step::Stock,
        Step::Confirmation,
        Step::Shipment,
        Step::Email,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Step::Payment => "payment",
            Step::Stock => "stock",
            Step::Confirmation => "confirmation",
            Step::Shipment => "shipment",
            Step::Email => "email",
        }
    }
}

/// The steps `facts` and `emails` still miss, in pipeline order, each once; empty
/// before the order exists.
pub fn waiting_for(facts: &OrderFacts, emails: &Notifications) -> Vec<Step> {
    let Some(status) = facts.order.status() else {
        return vec![];
    };
    let mut steps = Vec::new();
    if next_command(facts).is_some() {
        steps.push(Step::Confirmation);
    } else {
        match status {
            OrderStatus::Pending => {
                if facts.payment == Payment::NotCharged {
                    steps.push(Step::Payment);
                }
                if facts.reservation == Reservation::NotRequested {
                    steps.push(Step::Stock);
                }
            }
            OrderStatus::Confirmed => steps.push(Step::Shipment),
            OrderStatus::Shipped | OrderStatus::Cancelled => {}
        }
    }
    let due: &[NotificationKind] = match status {
        OrderStatus::Pending | OrderStatus::Confirmed => &[NotificationKind::OrderReceived],
        OrderStatus::Shipped => &[
            NotificationKind::OrderReceived,
            NotificationKind::OrderShipped,
        ],
        OrderStatus::Cancelled => &[
            NotificationKind::OrderReceived,
            NotificationKind::OrderCancelled,
        ],
    };
    if due.iter().any(|kind| !emails.is_settled(*kind)) {
        steps.push(Step::Email);
    }
    steps.sort();
    steps
}

#[cfg(test)]
mod tests;
