//! Payment-provider scenarios: once per idempotency key, whatever the provider.

use std::sync::Arc;

use orderflow_domain::payment::ChargeOutcome;
use orderflow_domain::{Money, OrderId};

use crate::payment::{PaymentProvider, ProviderError};

fn order(id: &str) -> OrderId {
    OrderId::parse(id).expect("a valid order id")
}

/// A small amount, which every provider under test approves.
fn amount() -> Money {
    Money::from_minor(500).expect("in range")
}

fn approved(outcome: &ChargeOutcome) -> &str {
    match outcome {
        ChargeOutcome::Approved { transaction_id } => transaction_id,
        other => panic!("expected an approved charge, got {other:?}"),
    }
}

fn assert_refused<T: std::fmt::Debug>(answer: Result<T, ProviderError>) {
    match answer {
        Err(e @ ProviderError::Refused(_)) => assert!(!e.is_transient(), "{e}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

pub async fn a_charge_asked_again_under_its_key_is_answered_as_the_first_time<
    P: PaymentProvider,
>(
    provider: Arc<P>,
) {
    let first = provider
        .charge("k-1", &order("o-1"), amount())
        .await
        .unwrap();
    let again = provider
        .charge("k-1", &order("o-1"), amount())
        .await
        .unwrap();
    approved(&first);
    assert_eq!(first, again);
}

pub async fn a_charge_under_a_new_key_is_a_new_charge<P: PaymentProvider>(provider: Arc<P>) {
    let first = provider
        .charge("k-1", &order("o-1"), amount())
        .await
        .unwrap();
    let second = provider
        .charge("k-2", &order("o-1"), amount())
        .await
        .unwrap();
    assert_ne!(
        approved(&first),
        approved(&second),
        "two charges, two transactions"
    );
}

pub async fn a_key_reused_for_another_request_is_refused_for_good<P: PaymentProvider>(
    provider: Arc<P>,
) {
    let first = provider
        .charge("k-1", &order("o-1"), amount())
        .await
        .unwrap();
    assert_refused(provider.charge("k-1", &order("o-2"), amount()).await);
    let more = Money::from_minor(501).expect("in range");
    assert_refused(provider.charge("k-1", &order("o-1"), more).await);
    assert_refused(provider.refund("k-1", &order("o-1"), amount()).await);
    // The key still answers its own request as before.
    let again = provider
        .charge("k-1", &order("o-1"), amount())
        .await
        .unwrap();
    assert_eq!(first, again);
}

pub async fn a_void_closes_the_key_so_a_later_charge_is_voided<P: PaymentProvider>(
    provider: Arc<P>,
) {
    let voided = ChargeOutcome::Voided {
        reason: "order cancelled".into(),
    };
    let void = provider
        .void("k-3", &order("o-3"), amount(), "order cancelled")
        .await
        .unwrap();
    assert_eq!(void, voided);
    let charge = provider
        .charge("k-3", &order("o-3"), amount())
        .await
        .unwrap();
    assert_eq!(charge, voided);
}

pub async fn voiding_a_charge_already_made_answers_with_that_charge<P: PaymentProvider>(
    provider: Arc<P>,
) {
    let charged = provider
        .charge("k-4", &order("o-4"), amount())
        .await
        .unwrap();
    approved(&charged);
    let void = provider
        .void("k-4", &order("o-4"), amount(), "order cancelled")
        .await
        .unwrap();
    assert_eq!(void, charged);
}

pub async fn a_refund_asked_again_under_its_key_is_the_same_refund<P: PaymentProvider>(
    provider: Arc<P>,
) {
    provider
        .charge("c-5", &order("o-5"), amount())
        .await
        .unwrap();
    let first = provider
        .refund("r-5", &order("o-5"), amount())
        .await
        .unwrap();
    let again = provider
        .refund("r-5", &order("o-5"), amount())
        .await
        .unwrap();
    assert_eq!(first, again);
    let other = provider
        .refund("r-6", &order("o-5"), amount())
        .await
        .unwrap();
    assert_ne!(first, other, "a new key, a new refund");
}
