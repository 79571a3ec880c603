//! What each event changes in the analytics: the order's status for the order's own
//! events, the day's revenue for money taken or given back, nothing for the rest.

use chrono::{TimeZone, Utc};
use orderflow_domain::Money;
use orderflow_domain::events::{
    OrderCancelled, OrderConfirmed, OrderShipped, PaymentReceived, PaymentRefunded,
    ShipmentDispatched,
};
use orderflow_domain::testing::{sample_created, sample_order_id};
use orderflow_sqlite::SqliteReadModel;

use super::*;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A delivery of an event that occurred on 2 March 2024.
fn delivery() -> Result<Delivery, Box<dyn std::error::Error>> {
    let occurred_at = Utc
        .with_ymd_and_hms(2024, 3, 2, 23, 59, 0)
        .single()
        .ok_or("a valid time")?;
    Ok(Delivery {
        event_id: None,
        occurred_at,
        origin: Default::default(),
    })
}

/// [`delivery`] of the record at `offset` of `orders`/0, carrying a new event.
fn delivery_at(offset: u64) -> Result<Delivery, Box<dyn std::error::Error>> {
    Ok(Delivery {
        event_id: Some(uuid::Uuid::new_v4()),
        origin: crate::consumer::Origin {
            topic: "orders".into(),
            partition: 0,
            offset,
        },
        ..delivery()?
    })
}

fn status(status: &str) -> Vec<AnalyticsChange> {
    vec![AnalyticsChange::OrderStatus {
        order_id: "order-1".into(),
        status: status.into(),
    }]
}

#[test]
fn an_order_event_sets_the_orders_status() -> TestResult {
    let id = sample_order_id;
    let cases: Vec<(Event, &str)> = vec![
        (sample_created(), "PENDING"),
        (OrderConfirmed { order_id: id() }.into(), "CONFIRMED"),
        (
            OrderShipped {
                order_id: id(),
                tracking_number: "TRK-1".into(),
            }
            .into(),
            "SHIPPED",
        ),
        (
            OrderCancelled {
                order_id: id(),
                reason: "customer asked".into(),
            }
            .into(),
            "CANCELLED",
        ),
    ];
    for (event, expected) in cases {
        assert_eq!(changes(&event, &delivery()?), status(expected), "{event:?}");
    }
    Ok(())
}

#[test]
fn a_payment_adds_its_amount_to_the_revenue_of_the_day_it_occurred() -> TestResult {
    let paid = PaymentReceived {
        order_id: sample_order_id(),
        amount: Money::from_minor(3998)?,
        transaction_id: "tx-1".into(),
    };
    let expected = vec![AnalyticsChange::Revenue {
        day: "2024-03-02".into(),
        delta_cents: 3998,
    }];
    assert_eq!(changes(&paid.into(), &delivery()?), expected);
    Ok(())
}

#[test]
fn a_refund_takes_its_amount_off_the_revenue_of_the_day_it_occurred() -> TestResult {
    let refunded = PaymentRefunded {
        order_id: sample_order_id(),
        amount: Money::from_minor(3998)?,
        transaction_id: "tx-1".into(),
    };
    let expected = vec![AnalyticsChange::Revenue {
        day: "2024-03-02".into(),
        delta_cents: -3998,
    }];
    assert_eq!(changes(&refunded.into(), &delivery()?), expected);
    Ok(())
}

#[test]
fn an_event_about_neither_changes_nothing() -> TestResult {
    let dispatched = ShipmentDispatched {
        order_id: sample_order_id(),
        tracking_number: "TRK-1".into(),
    };
    assert_eq!(changes(&dispatched.into(), &delivery()?), vec![]);
    Ok(())
}

#[tokio::test]
async fn a_handled_event_is_counted_in_the_summary() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(SqliteReadModel::open(&dir.path().join("read.db"))?);
    let analytics = AnalyticsService {
        store: store.clone(),
    };
    analytics.handle(&sample_created(), &delivery()?).await?;
    let summary = store.summary().await?;
    assert_eq!(summary.orders_by_status.get("PENDING"), Some(&1));
    Ok(())
}

#[tokio::test]
async fn analytics_reads_orders_and_payments_as_the_analytics_group_in_partition_order()
-> TestResult {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(SqliteReadModel::open(&dir.path().join("read.db"))?);
    let analytics = AnalyticsService { store };
    assert_eq!(analytics.group().name, "analytics");
    assert_eq!(analytics.group().topic_names(), ["orders", "payments"]);
    assert!(analytics.in_partition_order());
    Ok(())
}

#[tokio::test]
async fn a_handled_record_moves_its_partitions_stored_offset_and_one_below_it_is_skipped()
-> TestResult {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(SqliteReadModel::open(&dir.path().join("read.db"))?);
    let analytics = AnalyticsService {
        store: store.clone(),
    };
    let dispatched: Event = ShipmentDispatched {
        order_id: sample_order_id(),
        tracking_number: "TRK-1".into(),
    }
    .into();
    let paid: Event = PaymentReceived {
        order_id: sample_order_id(),
        amount: Money::from_minor(3998)?,
        transaction_id: "tx-1".into(),
    }
    .into();
    analytics.handle(&paid, &delivery_at(4)?).await?;
    analytics.handle(&dispatched, &delivery_at(5)?).await?;
    analytics.handle(&paid, &delivery_at(3)?).await?;
    let offsets = store.offsets().await?.next;
    assert_eq!(offsets.len(), 1);
    assert_eq!(offsets[0].offset, 6, "{offsets:?}");
    let summary = store.summary().await?;
    assert_eq!(summary.revenue_cents_by_day.get("2024-03-02"), Some(&3998));
    Ok(())
}

#[tokio::test]
async fn a_record_set_aside_moves_its_partitions_stored_offset_and_counts_nothing() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(SqliteReadModel::open(&dir.path().join("read.db"))?);
    let analytics = AnalyticsService {
        store: store.clone(),
    };
    let delivery = delivery_at(7)?;
    let parked = Parked {
        event: &sample_created(),
        delivery: &delivery,
        reason: "cannot be counted",
    };
    analytics.parked(&parked).await?;
    let offsets = store.offsets().await?.next;
    assert_eq!(offsets.len(), 1);
    assert_eq!(offsets[0].offset, 8, "{offsets:?}");
    assert_eq!(store.summary().await?, Default::default());
    Ok(())
}

#[tokio::test]
async fn an_unreadable_record_set_aside_moves_its_partitions_stored_offset() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(SqliteReadModel::open(&dir.path().join("read.db"))?);
    let analytics = AnalyticsService {
        store: store.clone(),
    };
    let origin = delivery_at(11)?.origin;
    analytics.unreadable(&origin).await?;
    let offsets = store.offsets().await?.next;
    assert_eq!(offsets.len(), 1);
    assert_eq!(offsets[0].offset, 12, "{offsets:?}");
    Ok(())
}
