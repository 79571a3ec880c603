//! Read-model scenarios: the order and stock summaries with their position, and analytics.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::read_model::{
    AnalyticsChange, AnalyticsStore, OrderLineSummary, OrderSummary, ReadModel, ReadModelBatch,
    StockSummary,
};

fn order(id: &str, customer: &str, created_ms: i64, status: &str) -> OrderSummary {
    let at = DateTime::<Utc>::from_timestamp_millis(created_ms).expect("time");
    OrderSummary {
        order_id: id.into(),
        customer_id: customer.into(),
        status: status.into(),
        items: vec![OrderLineSummary {
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
        failures: vec![],
    }
}

pub async fn an_orders_failed_steps_are_kept_with_it<M: ReadModel + AnalyticsStore>(model: Arc<M>) {
    let mut failed = order("o-f", "c-f", 1_000, "SHIPPED");
    failed.failures =
        vec!["the ORDER_RECEIVED email to a:b@x could not be sent: no address".into()];
    model
        .apply(ReadModelBatch {
            orders: vec![failed.clone()],
            stock: vec![],
            position: 1,
        })
        .await
        .unwrap();
    assert_eq!(model.order("o-f").await.unwrap(), Some(failed));
}

pub async fn a_batch_stores_its_summaries_and_its_position_together<
    M: ReadModel + AnalyticsStore,
>(
    model: Arc<M>,
) {
    assert_eq!(model.position().await.unwrap(), 0);
    let summary = order("o-1", "c-1", 1_000, "PENDING");
    let stock = StockSummary {
        sku: "A".into(),
        available: 8,
        reserved: 2,
    };
    model
        .apply(ReadModelBatch {
            orders: vec![summary.clone()],
            stock: vec![stock.clone()],
            position: 7,
        })
        .await
        .unwrap();
    assert_eq!(model.position().await.unwrap(), 7);
    assert_eq!(model.order("o-1").await.unwrap(), Some(summary));
    assert_eq!(model.stock("A").await.unwrap(), Some(stock));
    assert_eq!(model.order("nope").await.unwrap(), None);
    assert_eq!(model.stock("nope").await.unwrap(), None);
}

pub async fn a_later_batch_overwrites_a_summary<M: ReadModel + AnalyticsStore>(model: Arc<M>) {
    let mut summary = order("o-1", "c-1", 1_000, "PENDING");
    model
        .apply(ReadModelBatch {
            orders: vec![summary.clone()],
            stock: vec![],
            position: 1,
        })
        .await
        .unwrap();
    summary.status = "SHIPPED".into();
    summary.tracking_number = Some("T".into());
    model
        .apply(ReadModelBatch {
            orders: vec![summary.clone()],
            stock: vec![],
            position: 2,
        })
        .await
        .unwrap();
    assert_eq!(model.order("o-1").await.unwrap(), Some(summary));
}

pub async fn a_customers_orders_are_listed_newest_first<M: ReadModel + AnalyticsStore>(
    model: Arc<M>,
) {
    model
        .apply(ReadModelBatch {
            orders: vec![
                order("old", "c-1", 1_000, "SHIPPED"),
                order("new", "c-1", 2_000, "PENDING"),
                order("other", "c-2", 3_000, "PENDING"),
            ],
            stock: vec![],
            position: 3,
        })
        .await
        .unwrap();
    let ids: Vec<String> = model
        .customer_orders("c-1")
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.order_id)
        .collect();
    assert_eq!(ids, ["new", "old"]);
}

/// An event's changes are applied once, however often it is recorded: it adds revenue
/// (applied twice, a sum that would double) and moves an order to a status (counted
/// under it once).
pub async fn an_analytics_event_recorded_twice_counts_once<M: ReadModel + AnalyticsStore>(
    model: Arc<M>,
) {
    let id = Uuid::new_v4();
    let changes = || {
        vec![
            AnalyticsChange::Revenue {
                day: "2026-01-01".into(),
                delta_cents: 500,
            },
            AnalyticsChange::OrderStatus {
                order_id: "o-1".into(),
                status: "PAID".into(),
            },
        ]
    };
    assert!(model.record(id, changes()).await.unwrap());
    assert!(!model.record(id, changes()).await.unwrap());
    let summary = model.summary().await.unwrap();
    assert_eq!(summary.revenue_cents_by_day.get("2026-01-01"), Some(&500));
    assert_eq!(summary.orders_by_status.get("PAID"), Some(&1));
}

pub async fn revenue_adds_up_per_day_refunds_included<M: ReadModel + AnalyticsStore>(
    model: Arc<M>,
) {
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
        model.record(Uuid::new_v4(), vec![change]).await.unwrap();
    }
    let summary = model.summary().await.unwrap();
    assert_eq!(summary.revenue_cents_by_day.get("2026-01-01"), Some(&250));
    assert_eq!(summary.revenue_cents_by_day.get("2026-01-02"), Some(&100));
}
