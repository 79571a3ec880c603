//! Decisions that raced an append to another stream of their order: a handler reads
//! those streams without holding them, so what it decided on may be older than the
//! state just before its append. Verify agrees with it if the facts its cause left do.

use orderflow_domain::events::{OrderCancelled, PaymentDeclined, StockUnavailable};

use super::*;

/// Appends `event` as `actor` did in answer to the event at `cause` (a position).
async fn answer(recorder: &Recorder, cause: u64, actor: &'static str, event: Event) -> Res<()> {
    let caused_by = recorder.store.read_all(cause - 1, 1).await?;
    let cause = Caused {
        causation_id: caused_by.first().map(|e| e.event_id),
        actor,
        now: Utc::now(),
    };
    let stream = streams::stream_of(&event);
    recorder
        .append(&stream, ExpectedVersion::Any, &[event], cause)
        .await?;
    Ok(())
}

#[tokio::test]
async fn a_decision_raced_by_a_fact_of_another_stream_agrees_with_the_facts_its_cause_left()
-> Res<()> {
    let store = Arc::new(InMemoryEventStore::default());
    let codec = Arc::new(
        EventCodec::new(Arc::new(InMemoryRegistry::default()))
            .await?
            .with_keys(Arc::new(orderflow_core::keys::InMemoryKeyStore::default())),
    );
    let recorder = Recorder::new(store, codec);
    let order_id = OrderId::parse("o-1")?;
    place(&recorder, "o-1", "SKU-404").await?;
    let unavailable = StockUnavailable {
        order_id: order_id.clone(),
        reason: "unknown SKU SKU-404".into(),
    };
    answer(&recorder, 1, "inventory", unavailable.into()).await?;
    // Payment's answer lands while the order process, woken by the shortage, decides.
    let declined = PaymentDeclined {
        order_id: order_id.clone(),
        amount: Money::from_minor(3998)?,
        reason: "card blocked".into(),
    };
    answer(&recorder, 1, "payment", declined.into()).await?;
    let cancelled = OrderCancelled {
        order_id,
        reason: "stock unavailable: unknown SKU SKU-404".into(),
    };
    answer(&recorder, 2, "orders", cancelled.into()).await?;

    let report = verified(&recorder, &CurrentRules).await?;

    assert!(report.agrees(), "{report:#?}");
    assert_eq!(report.redecided, 4);
    Ok(())
}

#[tokio::test]
async fn a_charge_declined_after_its_order_was_cancelled_agrees_with_the_order_it_charged()
-> Res<()> {
    let store = Arc::new(InMemoryEventStore::default());
    let codec = Arc::new(
        EventCodec::new(Arc::new(InMemoryRegistry::default()))
            .await?
            .with_keys(Arc::new(orderflow_core::keys::InMemoryKeyStore::default())),
    );
    let recorder = Recorder::new(store, codec);
    let order_id = OrderId::parse("o-1")?;
    place(&recorder, "o-1", "SKU-404").await?;
    let unavailable = StockUnavailable {
        order_id: order_id.clone(),
        reason: "unknown SKU SKU-404".into(),
    };
    answer(&recorder, 1, "inventory", unavailable.into()).await?;
    let cancelled = OrderCancelled {
        order_id: order_id.clone(),
        reason: "stock unavailable: unknown SKU SKU-404".into(),
    };
    answer(&recorder, 2, "orders", cancelled.into()).await?;
    // Payment read the order before the cancel, and the provider declined the charge.
    let declined = PaymentDeclined {
        order_id,
        amount: Money::from_minor(3998)?,
        reason: "card blocked".into(),
    };
    answer(&recorder, 1, "payment", declined.into()).await?;

    let report = verified(&recorder, &CurrentRules).await?;

    assert!(report.agrees(), "{report:#?}");
    assert_eq!(report.redecided, 4);
    Ok(())
}
