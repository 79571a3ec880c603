//! Payment against a store in memory and the simulated provider: an order cancelled before
//! payment gets to it is never charged; a cancel that lands while the charge is in
//! flight is the one case that ends charged, then refunded. Every attempt at a step asks
//! the provider under the step's one key, so a repeat is a replay, never a second charge.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::Utc;
use orderflow_core::codec::EventCodec;
use orderflow_core::payment::ProviderError;
use orderflow_core::registry::InMemoryRegistry;
use orderflow_core::store::{ExpectedVersion, InMemoryEventStore, StreamQuery};
use orderflow_domain::Money;
use orderflow_domain::events::{OrderCancelled, OrderCreated};
use orderflow_domain::order::OrderStatus;
use orderflow_domain::payment::ChargeOutcome;
use orderflow_domain::testing::{sample_created, sample_order_id};
use orderflow_sqlite::{Call, SimulatedProvider, SimulatedSettings};
use tokio::sync::Notify;

use super::*;
use crate::context::Cause;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The simulated provider, with a charge that waits, once asked, until it is let go:
/// the window in which a cancel can land while the charge is in flight.
#[derive(Debug)]
struct HeldCharges {
    inner: SimulatedProvider,
    asked: Notify,
    go: Notify,
}

#[async_trait]
impl PaymentProvider for HeldCharges {
    async fn charge(
        &self,
        key: &str,
        order: &OrderId,
        amount: Money,
    ) -> Result<ChargeOutcome, ProviderError> {
        self.asked.notify_one();
        self.go.notified().await;
        self.inner.charge(key, order, amount).await
    }

    async fn refund(
        &self,
        key: &str,
        order: &OrderId,
        amount: Money,
    ) -> Result<String, ProviderError> {
        self.inner.refund(key, order, amount).await
    }

    async fn void(
        &self,
        key: &str,
        order: &OrderId,
        amount: Money,
        reason: &str,
    ) -> Result<ChargeOutcome, ProviderError> {
        self.inner.void(key, order, amount, reason).await
    }
}

/// The simulated provider, with the answer to the first charge lost on its way back:
/// the charge is made and the caller sees an outage, as when it crashes mid-call.
#[derive(Debug)]
struct FirstAnswerLost {
    inner: SimulatedProvider,
    lost: AtomicBool,
}

#[async_trait]
impl PaymentProvider for FirstAnswerLost {
    async fn charge(
        &self,
        key: &str,
        order: &OrderId,
        amount: Money,
    ) -> Result<ChargeOutcome, ProviderError> {
        let outcome = self.inner.charge(key, order, amount).await?;
        if self.lost.swap(true, Ordering::SeqCst) {
            Ok(outcome)
        } else {
            Err(ProviderError::Unavailable("the answer was lost".into()))
        }
    }

    async fn refund(
        &self,
        key: &str,
        order: &OrderId,
        amount: Money,
    ) -> Result<String, ProviderError> {
        self.inner.refund(key, order, amount).await
    }

    async fn void(
        &self,
        key: &str,
        order: &OrderId,
        amount: Money,
        reason: &str,
    ) -> Result<ChargeOutcome, ProviderError> {
        self.inner.void(key, order, amount, reason).await
    }
}

struct Fixture {
    dir: tempfile::TempDir,
    recorder: Recorder,
    provider: SimulatedProvider,
}

impl Fixture {
    async fn new() -> Result<Self, Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let store = Arc::new(InMemoryEventStore::default());
        let codec = Arc::new(
            EventCodec::new(Arc::new(InMemoryRegistry::default()))
                .await?
                .with_keys(Arc::new(orderflow_core::keys::InMemoryKeyStore::default())),
        );
        let provider = SimulatedProvider::open(
            &dir.path().join("payment-ledger.db"),
            SimulatedSettings::default(),
        )?;
        Ok(Self {
            recorder: Recorder::new(store, codec),
            provider,
            dir,
        })
    }

    fn service(&self, provider: Arc<dyn PaymentProvider>) -> PaymentService {
        PaymentService {
            recorder: self.recorder.clone(),
            provider,
        }
    }

    async fn record(&self, event: &Event) -> Result<(), ServiceError> {
        let cause = Cause {
            causation_id: None,
            actor: "test",
            now: Utc::now(),
        };
        let stream = streams::stream_of(event);
        self.recorder
            .append(
                &stream,
                ExpectedVersion::Any,
                std::slice::from_ref(event),
                cause,
            )
            .await?;
        Ok(())
    }

    /// The types of the order's payment events, in order.
    async fn payment_history(&self) -> Result<Vec<&'static str>, ServiceError> {
        let stream = streams::payment(&sample_order_id());
        let events = self.recorder.read(&stream, StreamQuery::all()).await?;
        Ok(events.iter().map(|(_, e)| e.type_name()).collect())
    }

    async fn order_status(&self) -> Result<Option<OrderStatus>, ServiceError> {
        let order = self
            .recorder
            .load::<Order>(&streams::order(&sample_order_id()))
            .await?;
        Ok(order.aggregate.status())
    }

    /// The provider's ledger for the order: (kind, outcome) of each entry.
    fn ledger(&self) -> Result<Vec<(String, String)>, Box<dyn std::error::Error>> {
        ledger_of(&self.dir.path().join("payment-ledger.db"))
    }

    /// Every call the provider received about the order.
    fn calls(&self) -> Result<Vec<Call>, ProviderError> {
        self.provider.calls(sample_order_id().as_str())
    }
}

/// A call payment made: the first under its key, or a replay of it.
fn call(kind: &str, key: String, replay: bool) -> Call {
    Call {
        kind: kind.into(),
        idempotency_key: key,
        replay,
    }
}

fn ledger_of(path: &Path) -> Result<Vec<(String, String)>, Box<dyn std::error::Error>> {
    let conn = rusqlite::Connection::open(path)?;
    let mut stmt =
        conn.prepare("SELECT kind, outcome FROM ledger WHERE order_id = ?1 ORDER BY kind")?;
    let rows = stmt.query_map([sample_order_id().as_str()], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn delivery() -> Delivery {
    Delivery {
        event_id: None,
        occurred_at: Utc::now(),
        origin: Default::default(),
    }
}

fn cancelled() -> Event {
    OrderCancelled {
        order_id: sample_order_id(),
        reason: "cancelled by the customer".into(),
    }
    .into()
}

fn entries(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, o)| ((*k).to_owned(), (*o).to_owned()))
        .collect()
}

#[tokio::test]
async fn an_order_cancelled_before_payment_gets_to_it_is_never_charged() -> TestResult {
    let f = Fixture::new().await?;
    let service = f.service(Arc::new(f.provider.clone()));
    f.record(&sample_created()).await?;
    f.record(&cancelled()).await?;

    // Payment runs behind: it sees the order created only now, and then its cancel.
    service.handle(&sample_created(), &delivery()).await?;
    service.handle(&cancelled(), &delivery()).await?;
    // A redelivery changes nothing.
    service.handle(&sample_created(), &delivery()).await?;

    assert_eq!(f.payment_history().await?, ["PaymentSkipped"]);
    let stream = streams::payment(&sample_order_id());
    let skipped = f.recorder.read(&stream, StreamQuery::all()).await?;
    let Event::PaymentSkipped(skipped) = &skipped[0].1 else {
        return Err("not a PaymentSkipped".into());
    };
    assert_eq!(
        skipped.reason,
        "order cancelled before payment: cancelled by the customer"
    );
    assert_eq!(f.provider.charges(sample_order_id().as_str())?, 0);
    assert_eq!(f.ledger()?, entries(&[("charge", "voided")]), "no refund");
    let key = charge_key(&sample_order_id());
    assert_eq!(f.calls()?, [call("void", key, false)], "asked once");
    assert_eq!(f.order_status().await?, Some(OrderStatus::Cancelled));
    Ok(())
}

#[tokio::test]
async fn an_order_cancelled_while_its_charge_is_in_flight_is_charged_then_refunded() -> TestResult {
    let f = Fixture::new().await?;
    let provider = Arc::new(HeldCharges {
        inner: f.provider.clone(),
        asked: Notify::new(),
        go: Notify::new(),
    });
    let service = f.service(provider.clone());
    f.record(&sample_created()).await?;

    let cancel_while_charging = async {
        provider.asked.notified().await;
        f.record(&cancelled()).await?;
        provider.go.notify_one();
        Ok::<_, ServiceError>(())
    };
    let (created, delivery) = (sample_created(), delivery());
    // Bounded: a handler that never asks the provider must fail the test, not hang it.
    let (charged, cancelled_meanwhile) =
        tokio::time::timeout(std::time::Duration::from_secs(30), async {
            tokio::join!(service.handle(&created, &delivery), cancel_while_charging)
        })
        .await
        .map_err(|_| "the handler never asked the provider to charge")?;
    charged?;
    cancelled_meanwhile?;
    assert_eq!(f.payment_history().await?, ["PaymentReceived"]);

    service.handle(&cancelled(), &delivery).await?;
    assert_eq!(
        f.payment_history().await?,
        ["PaymentReceived", "PaymentRefunded"]
    );
    assert_eq!(
        f.ledger()?,
        entries(&[("charge", "approved"), ("refund", "refunded")])
    );
    let id = sample_order_id();
    assert_eq!(
        f.calls()?,
        [
            call("charge", charge_key(&id), false),
            call("refund", refund_key(&id), false)
        ]
    );
    assert_eq!(f.order_status().await?, Some(OrderStatus::Cancelled));
    Ok(())
}

#[tokio::test]
async fn a_charge_made_by_an_attempt_that_crashed_is_refunded_though_the_order_was_cancelled_since()
-> TestResult {
    let f = Fixture::new().await?;
    let service = f.service(Arc::new(f.provider.clone()));
    f.record(&sample_created()).await?;
    // An earlier attempt charged and died before recording it; the cancel came after.
    let Event::OrderCreated(OrderCreated { lines, .. }) = sample_created() else {
        return Err("not an OrderCreated".into());
    };
    let id = sample_order_id();
    f.provider
        .charge(&charge_key(&id), &id, lines.total())
        .await?;
    f.record(&cancelled()).await?;

    service.handle(&sample_created(), &delivery()).await?;
    service.handle(&cancelled(), &delivery()).await?;

    assert_eq!(
        f.payment_history().await?,
        ["PaymentReceived", "PaymentRefunded"]
    );
    assert_eq!(
        f.ledger()?,
        entries(&[("charge", "approved"), ("refund", "refunded")])
    );
    // Its void, under the charge's key, brought the charge to light.
    assert_eq!(
        f.calls()?,
        [
            call("charge", charge_key(&id), false),
            call("void", charge_key(&id), true),
            call("refund", refund_key(&id), false)
        ]
    );
    Ok(())
}

#[tokio::test]
async fn an_order_still_pending_is_charged_once() -> TestResult {
    let f = Fixture::new().await?;
    let service = f.service(Arc::new(f.provider.clone()));
    f.record(&sample_created()).await?;

    service.handle(&sample_created(), &delivery()).await?;
    service.handle(&sample_created(), &delivery()).await?;

    assert_eq!(f.payment_history().await?, ["PaymentReceived"]);
    assert_eq!(f.provider.charges(sample_order_id().as_str())?, 1);
    let key = charge_key(&sample_order_id());
    assert_eq!(f.calls()?, [call("charge", key, false)], "asked once");
    Ok(())
}

#[tokio::test]
async fn a_charge_whose_answer_was_lost_is_asked_again_under_its_key_and_made_once() -> TestResult {
    let f = Fixture::new().await?;
    let service = f.service(Arc::new(FirstAnswerLost {
        inner: f.provider.clone(),
        lost: AtomicBool::new(false),
    }));
    f.record(&sample_created()).await?;

    let lost = service.handle(&sample_created(), &delivery()).await;
    assert!(lost.is_err(), "the first attempt got no answer: {lost:?}");
    service.handle(&sample_created(), &delivery()).await?;

    assert_eq!(f.payment_history().await?, ["PaymentReceived"]);
    assert_eq!(f.provider.charges(sample_order_id().as_str())?, 1);
    let key = charge_key(&sample_order_id());
    assert_eq!(
        f.calls()?,
        [
            call("charge", key.clone(), false),
            call("charge", key, true)
        ]
    );
    Ok(())
}

#[test]
fn each_order_has_its_own_charge_key_and_refund_key() -> TestResult {
    let one = OrderId::parse("order-1")?;
    let two = OrderId::parse("order-2")?;
    let keys = [
        charge_key(&one),
        charge_key(&two),
        refund_key(&one),
        refund_key(&two),
    ];
    let distinct: std::collections::BTreeSet<&String> = keys.iter().collect();
    assert_eq!(distinct.len(), keys.len(), "{keys:?}");
    assert_eq!(charge_key(&one), charge_key(&one), "stable across attempts");
    assert_eq!(refund_key(&one), refund_key(&one), "stable across attempts");
    Ok(())
}

#[tokio::test]
async fn payment_reads_orders_as_the_payment_group() -> TestResult {
    let fixture = Fixture::new().await?;
    let payment = fixture.service(Arc::new(fixture.provider.clone()));
    assert_eq!(payment.group().name, "payment");
    assert_eq!(payment.group().topic_names(), ["orders"]);
    Ok(())
}
