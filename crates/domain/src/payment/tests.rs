use super::*;
use crate::events::OrderCancelled;
use crate::testing::{given, sample_created, sample_order_id};

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

fn skipped() -> Event {
    PaymentSkipped {
        order_id: sample_order_id(),
        amount: amount(),
        reason: "order cancelled before payment: cancelled by the customer".into(),
    }
    .into()
}

fn pending_order() -> Order {
    Order::from_events(&[sample_created()])
}

fn cancelled_order() -> Order {
    let cancelled: Event = OrderCancelled {
        order_id: sample_order_id(),
        reason: "cancelled by the customer".into(),
    }
    .into();
    Order::from_events(&[sample_created(), cancelled])
}

fn voided() -> ChargeOutcome {
    ChargeOutcome::Voided {
        reason: "order cancelled before payment: cancelled by the customer".into(),
    }
}

#[test]
fn an_order_cancelled_before_payment_is_skipped_and_never_charged() {
    let payment = given::<Payment>(&[]);
    let plan = payment.state().plan_charge(&cancelled_order());
    assert_eq!(
        plan,
        ChargePlan::Skip {
            reason: "order cancelled before payment: cancelled by the customer".into()
        }
    );
    // The provider, asked to void the charge, answers that it is voided.
    payment.when(charge(voided())).then_expect(vec![skipped()]);
}

#[test]
fn a_skipped_payment_is_neither_charged_nor_refunded_later() {
    let payment = given::<Payment>(&[skipped()]);
    assert_eq!(
        payment.state().plan_charge(&cancelled_order()),
        ChargePlan::Nothing
    );
    assert!(!payment.state().needs_refund());
    given::<Payment>(&[skipped()])
        .when(charge(voided()))
        .then_expect(vec![]);
    given::<Payment>(&[skipped()])
        .when(refund())
        .then_expect_error(DomainError::NothingToRefund);
}

#[test]
fn a_pending_order_is_charged() {
    assert_eq!(
        Payment::default().plan_charge(&pending_order()),
        ChargePlan::Charge
    );
}

#[test]
fn an_order_cancelled_while_its_charge_is_in_flight_is_charged_then_refunded() {
    // Payment read the order while it was pending, and asked the provider to charge.
    assert_eq!(
        Payment::default().plan_charge(&pending_order()),
        ChargePlan::Charge
    );
    // The cancel landed meanwhile: the money taken is recorded all the same ...
    given::<Payment>(&[])
        .when(charge(approved()))
        .then_expect(vec![received()]);
    // ... and given back when payment handles the cancel.
    given::<Payment>(&[received()])
        .when(refund())
        .then_expect(vec![refunded()]);
}

#[test]
fn a_charge_made_by_an_earlier_attempt_is_recorded_although_the_order_is_now_cancelled() {
    // An attempt charged and crashed before recording it; the order was cancelled since.
    // Asked to void, the provider answers with the charge that stands.
    let payment = given::<Payment>(&[]);
    assert!(matches!(
        payment.state().plan_charge(&cancelled_order()),
        ChargePlan::Skip { .. }
    ));
    payment
        .when(charge(approved()))
        .then_expect(vec![received()]);
}

#[test]
fn money_taken_after_a_skip_is_still_recorded_so_that_it_is_refunded() {
    given::<Payment>(&[skipped()])
        .when(charge(approved()))
        .then_expect(vec![received()]);
}

#[test]
fn a_charged_order_is_not_charged_again_nor_skipped_once_cancelled() {
    let paid = given::<Payment>(&[received()]);
    assert_eq!(
        paid.state().plan_charge(&cancelled_order()),
        ChargePlan::Nothing
    );
    paid.when(charge(voided())).then_expect(vec![]);
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

fn declined() -> Event {
    PaymentDeclined {
        order_id: sample_order_id(),
        amount: amount(),
        reason: "over limit".into(),
    }
    .into()
}

#[test]
fn a_declined_order_is_not_charged_again() {
    let payment = given::<Payment>(&[declined()]);
    assert!(!payment.state().needs_charge());
    assert_eq!(
        payment.state().plan_charge(&pending_order()),
        ChargePlan::Nothing
    );
    payment.when(charge(approved())).then_expect(vec![]);
}

#[test]
fn money_taken_needs_a_refund_until_it_is_refunded() {
    assert!(given::<Payment>(&[received()]).state().needs_refund());
    assert!(
        !given::<Payment>(&[received(), refunded()])
            .state()
            .needs_refund()
    );
    assert!(!given::<Payment>(&[declined()]).state().needs_refund());
    assert!(!given::<Payment>(&[]).state().needs_refund());
}
