use super::*;
use crate::Aggregate;
use crate::events::{Event, OrderCancelled, OrderConfirmed, OrderShipped};
use crate::order::Order;
use crate::shipment::Shipment;
use crate::testing::{sample_created, sample_order_id};

fn facts(events: &[Event], payment: Payment, reservation: Reservation) -> OrderFacts {
    let mut order = Order::default();
    events.iter().for_each(|e| order.apply(e));
    OrderFacts {
        order,
        payment,
        reservation,
        shipment: Shipment::default(),
    }
}

fn paid() -> Payment {
    Payment::Received {
        amount: crate::Money::from_minor(100).unwrap(),
        transaction_id: "tx".into(),
    }
}

fn reserved() -> Reservation {
    Reservation::Reserved { items: vec![] }
}

fn emailed(kinds: &[NotificationKind]) -> Notifications {
    Notifications {
        sent: kinds.iter().copied().collect(),
        failed: Default::default(),
    }
}

fn confirmed() -> Event {
    OrderConfirmed {
        order_id: sample_order_id(),
    }
    .into()
}

#[test]
fn a_new_order_waits_for_payment_stock_and_its_email() {
    let f = facts(
        &[sample_created()],
        Payment::default(),
        Reservation::default(),
    );
    assert_eq!(
        waiting_for(&f, &Notifications::default()),
        [Step::Payment, Step::Stock, Step::Email]
    );
}

#[test]
fn a_paid_order_waits_for_stock_only() {
    let f = facts(&[sample_created()], paid(), Reservation::default());
    let received = emailed(&[NotificationKind::OrderReceived]);
    assert_eq!(waiting_for(&f, &received), [Step::Stock]);
}

#[test]
fn a_paid_and_reserved_order_waits_for_confirmation() {
    let f = facts(&[sample_created()], paid(), reserved());
    let received = emailed(&[NotificationKind::OrderReceived]);
    assert_eq!(waiting_for(&f, &received), [Step::Confirmation]);
}

#[test]
fn a_declined_order_waits_for_the_process_to_cancel_it() {
    let declined = Payment::Declined {
        reason: "no".into(),
    };
    let f = facts(&[sample_created()], declined, Reservation::default());
    let received = emailed(&[NotificationKind::OrderReceived]);
    assert_eq!(waiting_for(&f, &received), [Step::Confirmation]);
}

#[test]
fn a_confirmed_order_waits_for_shipment_then_for_being_marked_shipped() {
    let mut f = facts(&[sample_created(), confirmed()], paid(), reserved());
    let received = emailed(&[NotificationKind::OrderReceived]);
    assert_eq!(waiting_for(&f, &received), [Step::Shipment]);
    f.shipment.tracking_number = Some("TRK".into());
    assert_eq!(waiting_for(&f, &received), [Step::Confirmation]);
}

#[test]
fn a_shipped_order_waits_for_its_email_only_until_it_is_sent() {
    let shipped: Event = OrderShipped {
        order_id: sample_order_id(),
        tracking_number: "TRK".into(),
    }
    .into();
    let f = facts(
        &[sample_created(), confirmed(), shipped],
        paid(),
        reserved(),
    );
    let received = emailed(&[NotificationKind::OrderReceived]);
    assert_eq!(waiting_for(&f, &received), [Step::Email]);
    let both = emailed(&[
        NotificationKind::OrderReceived,
        NotificationKind::OrderShipped,
    ]);
    assert_eq!(waiting_for(&f, &both), []);
}

#[test]
fn a_cancelled_order_whose_email_failed_for_good_waits_for_nothing() {
    let cancelled: Event = OrderCancelled {
        order_id: sample_order_id(),
        reason: "payment declined".into(),
    }
    .into();
    let f = facts(
        &[sample_created(), cancelled],
        Payment::default(),
        reserved(),
    );
    let emails = Notifications {
        sent: [NotificationKind::OrderReceived].into(),
        failed: [NotificationKind::OrderCancelled].into(),
    };
    assert_eq!(waiting_for(&f, &emails), []);
}

#[test]
fn nothing_is_awaited_before_the_order_exists() {
    assert_eq!(
        waiting_for(&OrderFacts::default(), &Notifications::default()),
        []
    );
}
