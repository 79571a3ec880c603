//! The order process over a real (SQLite) store: given what payment, inventory and
//! shipping recorded about an order, when the fact that completes the picture arrives,
//! then the order's next step is recorded on its stream.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;
use orderflow_core::codec::EventCodec;
use orderflow_core::registry::InMemoryRegistry;
use orderflow_core::store::{ExpectedVersion, InMemoryEventStore, StreamQuery};
use orderflow_domain::events::{
    OrderCancelled, OrderConfirmed, OrderShipped, PaymentDeclined, PaymentReceived,
    ShipmentDispatched, StockReserved, StockUnavailable,
};
use orderflow_domain::testing::{sample_created, sample_order_id};
use orderflow_domain::{Money, Sku, StockLine};

use super::*;
use crate::context::Cause;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// An order process over a fresh store holding `history`, each event on its own stream.
async fn process_given(history: &[Event]) -> Result<OrderProcess, Box<dyn std::error::Error>> {
    let store = Arc::new(InMemoryEventStore::default());
    let codec = Arc::new(
        EventCodec::new(Arc::new(InMemoryRegistry::default()))
            .await?
            .with_keys(Arc::new(orderflow_core::keys::InMemoryKeyStore::default())),
    );
    let recorder = Recorder::new(store, codec);
    let mut versions: HashMap<String, u64> = HashMap::new();
    for event in history {
        let stream = streams::stream_of(event);
        let version = versions.entry(stream.clone()).or_default();
        let cause = Cause {
            causation_id: None,
            actor: "test",
            now: Utc::now(),
        };
        let expected = ExpectedVersion::after(*version);
        recorder
            .append(&stream, expected, std::slice::from_ref(event), cause)
            .await?;
        *version += 1;
    }
    Ok(OrderProcess { recorder })
}

fn delivery() -> Delivery {
    Delivery {
        event_id: None,
        occurred_at: Utc::now(),
        origin: Default::default(),
    }
}

/// The events on the order's own stream, oldest first.
async fn order_stream(process: &OrderProcess) -> Result<Vec<Event>, ServiceError> {
    let stream = streams::order(&sample_order_id());
    let events = process.recorder.read(&stream, StreamQuery::all()).await?;
    Ok(events.into_iter().map(|(_, e)| e).collect())
}

fn paid() -> Result<Event, Box<dyn std::error::Error>> {
    Ok(PaymentReceived {
        order_id: sample_order_id(),
        amount: Money::from_minor(3998)?,
        transaction_id: "tx-1".into(),
    }
    .into())
}

fn declined() -> Result<Event, Box<dyn std::error::Error>> {
    Ok(PaymentDeclined {
        order_id: sample_order_id(),
        amount: Money::from_minor(3998)?,
        reason: "over limit".into(),
    }
    .into())
}

fn reserved() -> Result<Event, Box<dyn std::error::Error>> {
    Ok(StockReserved {
        order_id: sample_order_id(),
        items: vec![StockLine {
            sku: Sku::parse("SKU-1")?,
            quantity: orderflow_domain::Quantity::new(2)?,
        }],
    }
    .into())
}

fn unavailable() -> Event {
    StockUnavailable {
        order_id: sample_order_id(),
        reason: "unknown SKU SKU-1".into(),
    }
    .into()
}

fn dispatched() -> Event {
    ShipmentDispatched {
        order_id: sample_order_id(),
        tracking_number: "TRK-1".into(),
    }
    .into()
}

fn confirmed() -> Event {
    OrderConfirmed {
        order_id: sample_order_id(),
    }
    .into()
}

/// Given `history`, when the process handles its last event, then the order's stream
/// ends with `expected` after the events it had.
async fn given_when_then(history: Vec<Event>, expected: Event) -> TestResult {
    let process = process_given(&history).await?;
    let before = order_stream(&process).await?;
    let arrived = history
        .last()
        .ok_or("a history ends with the event that arrives")?;
    process.handle(arrived, &delivery()).await?;
    let mut want = before;
    want.push(expected);
    assert_eq!(order_stream(&process).await?, want);
    Ok(())
}

#[tokio::test]
async fn a_reserved_order_whose_payment_arrives_is_confirmed() -> TestResult {
    given_when_then(vec![sample_created(), reserved()?, paid()?], confirmed()).await
}

#[tokio::test]
async fn a_paid_order_whose_reservation_arrives_is_confirmed() -> TestResult {
    given_when_then(vec![sample_created(), paid()?, reserved()?], confirmed()).await
}

#[tokio::test]
async fn an_order_whose_payment_is_declined_is_cancelled_with_the_reason() -> TestResult {
    let cancelled = OrderCancelled {
        order_id: sample_order_id(),
        reason: "payment declined: over limit".into(),
    };
    given_when_then(vec![sample_created(), declined()?], cancelled.into()).await
}

#[tokio::test]
async fn an_order_whose_stock_is_unavailable_is_cancelled_with_the_reason() -> TestResult {
    let cancelled = OrderCancelled {
        order_id: sample_order_id(),
        reason: "stock unavailable: unknown SKU SKU-1".into(),
    };
    given_when_then(vec![sample_created(), unavailable()], cancelled.into()).await
}

#[tokio::test]
async fn a_confirmed_order_whose_shipment_is_dispatched_is_marked_shipped() -> TestResult {
    let shipped = OrderShipped {
        order_id: sample_order_id(),
        tracking_number: "TRK-1".into(),
    };
    let history = vec![
        sample_created(),
        paid()?,
        reserved()?,
        confirmed(),
        dispatched(),
    ];
    given_when_then(history, shipped.into()).await
}

#[tokio::test]
async fn an_order_still_waiting_for_its_reservation_records_nothing() -> TestResult {
    let history = vec![sample_created(), paid()?];
    let process = process_given(&history).await?;
    process.handle(&history[1], &delivery()).await?;
    assert_eq!(order_stream(&process).await?, vec![sample_created()]);
    Ok(())
}

#[tokio::test]
async fn the_process_reads_payments_inventory_and_shipments_as_the_orders_group() -> TestResult {
    let process = process_given(&[]).await?;
    assert_eq!(process.group().name, "orders");
    assert_eq!(
        process.group().topic_names(),
        ["payments", "inventory", "shipments"]
    );
    Ok(())
}
