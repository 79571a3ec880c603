//! Replaying an order recorded in an in-memory store.

use std::sync::Arc;

use chrono::{TimeDelta, Utc};
use orderflow_core::registry::InMemoryRegistry;
use orderflow_core::store::{ExpectedVersion, InMemoryEventStore};
use orderflow_domain::events::{StockAllocated, StockLevelSet};
use orderflow_domain::testing::{sample_created, sample_order_id};
use orderflow_domain::{Event, OrderId, Quantity, Sku, streams};

use super::*;
use crate::context::{Cause, Recorder};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn allocated(order: &str, quantity: i64) -> Result<Event, Box<dyn std::error::Error>> {
    Ok(StockAllocated {
        sku: Sku::parse("SKU-1")?,
        order_id: OrderId::parse(order)?,
        quantity: Quantity::new(quantity)?,
    }
    .into())
}

/// A recorder over a fresh store holding `history`, each event appended at its own
/// time, a second after the one before, from `start`.
async fn recorded(
    history: &[Event],
    start: DateTime<Utc>,
) -> Result<Recorder, Box<dyn std::error::Error>> {
    let store = Arc::new(InMemoryEventStore::default());
    let codec = Arc::new(
        EventCodec::new(Arc::new(InMemoryRegistry::default()))
            .await?
            .with_keys(Arc::new(orderflow_core::keys::InMemoryKeyStore::default())),
    );
    let recorder = Recorder::new(store, codec);
    for (i, event) in history.iter().enumerate() {
        let cause = Cause {
            causation_id: None,
            actor: "test",
            now: start + TimeDelta::seconds(i as i64),
        };
        recorder
            .append(
                &streams::stream_of(event),
                ExpectedVersion::Any,
                std::slice::from_ref(event),
                cause,
            )
            .await?;
    }
    Ok(recorder)
}

fn changed(step: &Step) -> Vec<&str> {
    step.state
        .iter()
        .filter(|f| f.changed)
        .map(|f| f.name)
        .collect()
}

fn value<'a>(step: &'a Step, name: &str) -> Option<&'a str> {
    step.state
        .iter()
        .find(|f| f.name == name)
        .map(|f| f.value.as_str())
}

#[tokio::test]
async fn each_step_shows_its_aggregate_after_the_event_with_the_changes_marked() -> TestResult {
    let level: Event = StockLevelSet {
        sku: Sku::parse("SKU-1")?,
        available: 10,
    }
    .into();
    let history = [
        level,
        allocated("order-0", 3)?,
        sample_created(),
        allocated("order-1", 2)?,
    ];
    let recorder = recorded(&history, Utc::now()).await?;

    let steps = replay_order(
        recorder.store.as_ref(),
        &recorder.codec,
        sample_order_id().as_str(),
        None,
    )
    .await?;

    let types: Vec<&str> = steps.iter().map(|s| s.event_type.as_str()).collect();
    assert_eq!(types, ["OrderCreated", "StockAllocated"]);
    assert_eq!(value(&steps[0], "status"), Some("PENDING"));
    // The SKU's stream is folded whole: another order took 3 of its 10 units first.
    let sku = &steps[1];
    assert_eq!((sku.stream.as_str(), sku.version), ("sku-SKU-1", 3));
    assert_eq!(value(sku, "available"), Some("5"));
    assert_eq!(value(sku, "reserved"), Some("5"));
    assert_eq!(changed(sku), ["available", "reserved"]);
    assert_eq!(sku.data.clone()?["quantity"], 2);
    Ok(())
}

#[tokio::test]
async fn replay_stops_at_the_time_given() -> TestResult {
    let start = Utc::now();
    let history = [sample_created(), allocated("order-1", 2)?];
    let recorder = recorded(&history, start).await?;
    let order = sample_order_id();

    let steps = replay_order(
        recorder.store.as_ref(),
        &recorder.codec,
        order.as_str(),
        Some(start),
    )
    .await?;

    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0].event_type, "OrderCreated");
    Ok(())
}

#[tokio::test]
async fn an_order_with_no_events_is_not_found() -> TestResult {
    let recorder = recorded(&[sample_created()], Utc::now()).await?;
    let earlier = Utc::now() - TimeDelta::hours(1);

    let missing = replay_order(recorder.store.as_ref(), &recorder.codec, "order-2", None).await;
    let too_early = replay_order(
        recorder.store.as_ref(),
        &recorder.codec,
        "order-1",
        Some(earlier),
    )
    .await;

    assert!(
        matches!(missing, Err(ReplayError::NotFound { .. })),
        "{missing:?}"
    );
    assert!(
        matches!(too_early, Err(ReplayError::NotFound { .. })),
        "{too_early:?}"
    );
    Ok(())
}
