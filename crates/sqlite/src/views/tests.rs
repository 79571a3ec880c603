use chrono::{DateTime, Utc};

use super::*;

fn model() -> (SqliteReadModel, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let model = SqliteReadModel::open(&dir.path().join("read.db")).expect("open");
    (model, dir)
}

fn order(id: &str, customer: &str, created_ms: i64, status: &str) -> OrderView {
    let at = DateTime::<Utc>::from_timestamp_millis(created_ms).expect("time");
    OrderView {
        order_id: id.into(),
        customer_id: customer.into(),
        status: status.into(),
        items: vec![OrderItemView {
            sku: "A".into(),
            quantity: 2,
            unit_price_cents: 150,
        }],
        total_cents: 300,
        currency: "EUR".into(),
        shipping_address: Some("1 Main St".into()),
        created_at: at,
        updated_at: at,
        cancel_reason: None,
        tracking_number: None,
    }
}

#[tokio::test]
async fn a_batch_stores_its_views_and_its_position_together() -> Result<(), StoreError> {
    let (model, _dir) = model();
    assert_eq!(model.position().await?, 0);
    let view = order("o-1", "c-1", 1_000, "PENDING");
    let stock = StockView {
        sku: "A".into(),
        available: 8,
        reserved: 2,
    };
    model
        .apply(ViewBatch {
            orders: vec![view.clone()],
            stock: vec![stock.clone()],
            position: 7,
        })
        .await?;
    assert_eq!(model.position().await?, 7);
    assert_eq!(model.order("o-1").await?, Some(view));
    assert_eq!(model.stock("A").await?, Some(stock));
    assert_eq!(model.order("nope").await?, None);
    assert_eq!(model.stock("nope").await?, None);
    Ok(())
}

#[tokio::test]
async fn a_later_batch_overwrites_a_view() -> Result<(), StoreError> {
    let (model, _dir) = model();
    let mut view = order("o-1", "c-1", 1_000, "PENDING");
    model
        .apply(ViewBatch {
            orders: vec![view.clone()],
            stock: vec![],
            position: 1,
        })
        .await?;
    view.status = "SHIPPED".into();
    view.tracking_number = Some("T".into());
    model
        .apply(ViewBatch {
            orders: vec![view.clone()],
            stock: vec![],
            position: 2,
        })
        .await?;
    assert_eq!(model.order("o-1").await?, Some(view));
    Ok(())
}

#[tokio::test]
async fn a_customers_orders_are_listed_newest_first() -> Result<(), StoreError> {
    let (model, _dir) = model();
    model
        .apply(ViewBatch {
            orders: vec![
                order("old", "c-1", 1_000, "SHIPPED"),
                order("new", "c-1", 2_000, "PENDING"),
                order("other", "c-2", 3_000, "PENDING"),
            ],
            stock: vec![],
            position: 3,
        })
        .await?;
    let ids: Vec<String> = model
        .customer_orders("c-1")
        .await?
        .into_iter()
        .map(|o| o.order_id)
        .collect();
    assert_eq!(ids, ["new", "old"]);
    Ok(())
}

#[tokio::test]
async fn an_analytics_event_recorded_twice_counts_once() -> Result<(), StoreError> {
    let (model, _dir) = model();
    let id = Uuid::new_v4();
    let change = || {
        vec![AnalyticsChange::OrderStatus {
            order_id: "o-1".into(),
            status: "PENDING".into(),
        }]
    };
    assert!(model.record(id, change()).await?);
    let once = model.summary().await?;
    assert!(!model.record(id, change()).await?);
    assert_eq!(model.summary().await?, once);
    assert_eq!(once.orders_by_status.get("PENDING"), Some(&1));
    Ok(())
}

#[tokio::test]
async fn revenue_adds_up_per_day_refunds_included() -> Result<(), StoreError> {
    let (model, _dir) = model();
    for (day, delta) in [
        ("2026-01-01", 500),
        ("2026-01-01", 250),
        ("2026-01-01", -500),
        ("2026-01-02", 100),
    ] {
        let change = AnalyticsChange::Revenue {
            day: day.into(),
            delta_cents: delta,
        };
        model.record(Uuid::new_v4(), vec![change]).await?;
    }
    let summary = model.summary().await?;
    assert_eq!(summary.revenue_cents_by_day.get("2026-01-01"), Some(&250));
    assert_eq!(summary.revenue_cents_by_day.get("2026-01-02"), Some(&100));
    Ok(())
}

#[tokio::test]
async fn the_position_survives_reopening() -> Result<(), StoreError> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("read.db");
    SqliteReadModel::open(&path)?
        .apply(ViewBatch {
            position: 42,
            ..ViewBatch::default()
        })
        .await?;
    assert_eq!(SqliteReadModel::open(&path)?.position().await?, 42);
    Ok(())
}
