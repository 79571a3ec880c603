//! A record the payment service gives up on shows on its order: in the order's history
//! and in the order as the read model shows it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use orderflow_core::bus::{EventBus, OutgoingRecord, StartFrom};
use orderflow_core::codec::{EventCodec, frame};
use orderflow_core::payment::PaymentProvider;
use orderflow_core::registry::InMemoryRegistry;
use orderflow_core::store::{ExpectedVersion, InMemoryEventStore};
use orderflow_domain::events::StepFailed;
use orderflow_domain::testing::{sample_created, sample_order_id};
use orderflow_domain::{Event, Money, streams};
use orderflow_sqlite::{SimulatedProvider, SimulatedSettings, SqliteBus};
use tokio_util::sync::CancellationToken;

use crate::consumer;
use crate::context::{Cause, Recorder};
use crate::handlers::payment::{PaymentService, charge_key};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// How long the test waits for the step to be recorded before it fails.
const WITHIN: Duration = Duration::from_secs(30);

/// The `StepFailed` events recorded about the sample order.
async fn steps_failed(recorder: &Recorder) -> Res<Vec<StepFailed>> {
    let history = recorder.history(sample_order_id().as_str()).await?;
    Ok(history
        .into_iter()
        .filter_map(|(_, e)| match e {
            Ok(Event::StepFailed(f)) => Some(f),
            _ => None,
        })
        .collect())
}

#[tokio::test]
async fn a_payment_the_provider_refuses_for_good_shows_on_the_order() -> Res<()> {
    let dir = tempfile::tempdir()?;
    let codec = Arc::new(
        EventCodec::new(Arc::new(InMemoryRegistry::default()))
            .await?
            .with_keys(Arc::new(orderflow_core::keys::InMemoryKeyStore::default())),
    );
    let recorder = Recorder::new(Arc::new(InMemoryEventStore::default()), codec.clone());
    let provider = SimulatedProvider::open(
        &dir.path().join("payment-ledger.db"),
        SimulatedSettings::default(),
    )?;
    // The order's charge key was used before for another amount: the provider refuses
    // the charge, and would every time.
    let id = sample_order_id();
    provider
        .charge(&charge_key(&id), &id, Money::from_minor(1)?)
        .await?;
    let created = sample_created();
    let cause = Cause {
        causation_id: None,
        actor: "test",
        now: Utc::now(),
    };
    recorder
        .append(
            &streams::order(&id),
            ExpectedVersion::Any,
            std::slice::from_ref(&created),
            cause,
        )
        .await?;
    let bus: Arc<dyn EventBus> = Arc::new(SqliteBus::open(&dir.path().join("bus.db"))?);
    let encoded = codec.encode_sealed(&created).await?;
    bus.publish(vec![OutgoingRecord {
        topic: "orders".into(),
        key: id.to_string(),
        value: frame(encoded.schema_id, &encoded.payload),
        headers: vec![],
        timestamp: Utc::now(),
    }])
    .await?;

    let payment = Arc::new(PaymentService {
        recorder: recorder.clone(),
        provider: Arc::new(provider),
    });
    let shutdown = CancellationToken::new();
    let consumer = tokio::spawn(consumer::run(
        bus.clone(),
        codec,
        payment,
        StartFrom::Earliest,
        shutdown.clone(),
    ));
    let deadline = tokio::time::Instant::now() + WITHIN;
    while steps_failed(&recorder).await?.is_empty() {
        if tokio::time::Instant::now() > deadline {
            return Err(format!("no StepFailed recorded within {WITHIN:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    shutdown.cancel();
    consumer.await??;

    let failed = steps_failed(&recorder).await?;
    assert_eq!(failed.len(), 1, "{failed:?}");
    let failed = &failed[0];
    assert_eq!(
        (failed.step.as_str(), failed.event_type.as_str()),
        ("payment", "OrderCreated")
    );
    assert!(
        failed.reason.contains("refused") && failed.reason.contains("idempotency key"),
        "{}",
        failed.reason
    );
    assert_eq!((failed.topic.as_str(), failed.offset), ("orders", 0));

    // The order as the read model shows it: still pending, and saying why.
    let mut summaries = HashMap::new();
    for (stored, event) in recorder.history(id.as_str()).await? {
        crate::projections::project_order(&mut summaries, &stored, &event?);
    }
    let summary = &summaries[id.as_str()];
    assert_eq!(summary.status, "PENDING");
    assert_eq!(summary.failures.len(), 1, "{summary:?}");
    assert!(
        summary.failures[0].contains("payment") && summary.failures[0].contains("refused"),
        "{}",
        summary.failures[0]
    );
    Ok(())
}
