//! What each service is asked to do by an event it reads: the pure part of every
//! handler's derivation of its command. The handlers act on it, and `orderflow verify`
//! derives the same commands from recorded history with it, so the two cannot drift.
//!
//! The rest of a derivation is either a domain rule already (the order process's
//! [`next_command`](crate::process::next_command), payment's
//! [`plan_charge`](crate::payment::Payment::plan_charge)) or an answer from outside (the
//! payment provider's, the mail server's), which only the recorded event knows.

use crate::events::{Event, NotificationKind};
use crate::values::{CustomerId, Money, OrderId, StockLine};

/// What an event asks of an order's payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentIntent {
    /// Charge the order's total (or skip it, if the order is cancelled by then).
    Charge(Money),
    /// Give back what was taken.
    Refund,
}

/// The payment step `event` calls for, and the order it is about.
pub fn payment_intent(event: &Event) -> Option<(&OrderId, PaymentIntent)> {
    match event {
        Event::OrderCreated(e) => Some((&e.order_id, PaymentIntent::Charge(e.lines.total()))),
        Event::OrderCancelled(e) => Some((&e.order_id, PaymentIntent::Refund)),
        _ => None,
    }
}

/// What an event asks of an order's stock reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReservationIntent {
    /// Reserve these lines (the order was created).
    Reserve(Vec<StockLine>),
    /// Give the reserved units back (the order was cancelled).
    Release,
    /// The reserved units left with the shipment (the order shipped).
    Fulfil,
}

/// The inventory step `event` calls for, and the order it is about.
pub fn reservation_intent(event: &Event) -> Option<(&OrderId, ReservationIntent)> {
    match event {
        Event::OrderCreated(e) => Some((
            &e.order_id,
            ReservationIntent::Reserve(e.lines.stock_lines()),
        )),
        Event::OrderCancelled(e) => Some((&e.order_id, ReservationIntent::Release)),
        Event::OrderShipped(e) => Some((&e.order_id, ReservationIntent::Fulfil)),
        _ => None,
    }
}

/// The order whose shipment `event` calls for: a confirmed order is dispatched.
pub fn dispatch_intent(event: &Event) -> Option<&OrderId> {
    match event {
        Event::OrderConfirmed(e) => Some(&e.order_id),
        _ => None,
    }
}

/// The order whose process `event` moves on: a fact of payment, inventory or shipping.
pub fn process_trigger(event: &Event) -> Option<&OrderId> {
    match event {
        Event::PaymentReceived(e) => Some(&e.order_id),
        Event::PaymentDeclined(e) => Some(&e.order_id),
        Event::StockReserved(e) => Some(&e.order_id),
        Event::StockUnavailable(e) => Some(&e.order_id),
        Event::ShipmentDispatched(e) => Some(&e.order_id),
        _ => None,
    }
}

/// The email `event` calls for: its kind, the order, and the detail the email tells.
pub fn notification_intent(event: &Event) -> Option<(NotificationKind, &OrderId, String)> {
    match event {
        Event::OrderCreated(e) => Some((
            NotificationKind::OrderReceived,
            &e.order_id,
            format!("Total: {}", e.lines.total()),
        )),
        Event::OrderShipped(e) => Some((
            NotificationKind::OrderShipped,
            &e.order_id,
            e.tracking_number.clone(),
        )),
        Event::OrderCancelled(e) => Some((
            NotificationKind::OrderCancelled,
            &e.order_id,
            e.reason.clone(),
        )),
        _ => None,
    }
}

/// Where a customer's emails go.
pub fn recipient(customer: &CustomerId) -> String {
    format!("{customer}@customers.orderflow.local")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{OrderCancelled, OrderShipped};
    use crate::testing::{sample_created, sample_order_id};

    #[test]
    fn a_created_order_is_charged_its_total_reserved_and_acknowledged() {
        let created = sample_created();
        let Event::OrderCreated(c) = &created else {
            unreachable!()
        };
        assert_eq!(
            payment_intent(&created),
            Some((&c.order_id, PaymentIntent::Charge(c.lines.total())))
        );
        assert_eq!(
            reservation_intent(&created),
            Some((
                &c.order_id,
                ReservationIntent::Reserve(c.lines.stock_lines())
            ))
        );
        let (kind, _, detail) = notification_intent(&created).unwrap();
        assert_eq!(kind, NotificationKind::OrderReceived);
        assert_eq!(detail, format!("Total: {}", c.lines.total()));
    }

    #[test]
    fn a_cancelled_order_is_refunded_and_released_and_a_shipped_one_fulfilled() {
        let cancelled: Event = OrderCancelled {
            order_id: sample_order_id(),
            reason: "r".into(),
        }
        .into();
        let shipped: Event = OrderShipped {
            order_id: sample_order_id(),
            tracking_number: "T".into(),
        }
        .into();
        assert_eq!(
            payment_intent(&cancelled).map(|p| p.1),
            Some(PaymentIntent::Refund)
        );
        assert_eq!(
            reservation_intent(&cancelled).map(|r| r.1),
            Some(ReservationIntent::Release)
        );
        assert_eq!(
            reservation_intent(&shipped).map(|r| r.1),
            Some(ReservationIntent::Fulfil)
        );
        assert_eq!(payment_intent(&shipped), None);
        assert_eq!(dispatch_intent(&shipped), None);
    }
}
