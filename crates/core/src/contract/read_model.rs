//! Read-model scenarios: the order and stock summaries with their position, and analytics.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::bus::Offset;
use crate::read_model::{
    AnalyticsChange, AnalyticsOffsets, AnalyticsRecord, AnalyticsStore, OrderLineSummary,
    OrderSummary, ReadModel, ReadModelBatch, StockSummary,
};

pub(crate) fn order(id: &str, customer: &str, created_ms: i64, status: &str) -> OrderSummary {
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
            forgotten: Vec::new(),
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
            forgotten: Vec::new(),
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
            forgotten: Vec::new(),
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
            forgotten: Vec::new(),
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
            forgotten: Vec::new(),
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

pub async fn open_orders_are_listed_oldest_first_up_to_the_limit<M: ReadModel + AnalyticsStore>(
    model: Arc<M>,
) {
    model
        .apply(ReadModelBatch {
            forgotten: Vec::new(),
            orders: vec![
                order("shipped", "c-1", 500, "SHIPPED"),
                order("newer", "c-1", 3_000, "CONFIRMED"),
                order("older", "c-2", 1_000, "PENDING"),
                order("cancelled", "c-2", 1_500, "CANCELLED"),
                order("newest", "c-3", 4_000, "PENDING"),
            ],
            stock: vec![],
            position: 5,
        })
        .await
        .unwrap();
    let ids = |orders: Vec<OrderSummary>| -> Vec<String> {
        orders.into_iter().map(|o| o.order_id).collect()
    };
    assert_eq!(
        ids(model.open_orders(10).await.unwrap()),
        ["older", "newer", "newest"]
    );
    assert_eq!(ids(model.open_orders(2).await.unwrap()), ["older", "newer"]);
}

/// The record at `offset` of `orders`/`partition` carrying event `id`.
pub(crate) fn at(
    partition: u32,
    offset: u64,
    id: Uuid,
    changes: Vec<AnalyticsChange>,
) -> AnalyticsRecord {
    AnalyticsRecord {
        topic: "orders".into(),
        partition,
        offset,
        event_id: id,
        changes,
    }
}

pub(crate) fn paid(cents: i64) -> Vec<AnalyticsChange> {
    vec![
        AnalyticsChange::Revenue {
            day: "2026-01-01".into(),
            delta_cents: cents,
        },
        AnalyticsChange::OrderStatus {
            order_id: "o-1".into(),
            status: "PAID".into(),
        },
    ]
}

pub(crate) fn next(partition: u32, offset: u64) -> Offset {
    Offset {
        topic: "orders".into(),
        partition,
        offset,
    }
}

/// An event's changes are applied once, however often it is recorded, even at another
/// offset (the same event published again to a new bus): it adds revenue (applied
/// twice, a sum that would double) and moves an order to a status (counted under it
/// once).
pub async fn an_analytics_event_recorded_twice_counts_once<M: ReadModel + AnalyticsStore>(
    model: Arc<M>,
) {
    let id = Uuid::new_v4();
    assert!(model.record(at(0, 0, id, paid(500))).await.unwrap());
    assert!(!model.record(at(0, 1, id, paid(500))).await.unwrap());
    let summary = model.summary().await.unwrap();
    assert_eq!(summary.revenue_cents_by_day.get("2026-01-01"), Some(&500));
    assert_eq!(summary.orders_by_status.get("PAID"), Some(&1));
}

/// Each record moves its own partition's offset past it, in the commit of its counts.
pub async fn a_record_commits_its_partitions_next_offset_with_its_counts<
    M: ReadModel + AnalyticsStore,
>(
    model: Arc<M>,
) {
    assert_eq!(model.offsets().await.unwrap(), AnalyticsOffsets::default());
    model
        .record(at(3, 0, Uuid::new_v4(), paid(100)))
        .await
        .unwrap();
    model
        .record(at(3, 1, Uuid::new_v4(), paid(100)))
        .await
        .unwrap();
    model
        .record(at(5, 7, Uuid::new_v4(), paid(100)))
        .await
        .unwrap();
    let mut offsets = model.offsets().await.unwrap().next;
    offsets.sort();
    assert_eq!(offsets, [next(3, 2), next(5, 8)]);
    let summary = model.summary().await.unwrap();
    assert_eq!(summary.revenue_cents_by_day.get("2026-01-01"), Some(&300));
}

/// A record below its partition's stored offset was applied before (a replay, a
/// redelivery after a crash between the store's commit and the bus's): skipped, even
/// under an event id never seen (a record from outside the relay gets one derived from
/// its content, which need not match).
pub async fn a_record_below_its_partitions_offset_is_skipped<M: ReadModel + AnalyticsStore>(
    model: Arc<M>,
) {
    assert!(
        model
            .record(at(0, 5, Uuid::new_v4(), paid(500)))
            .await
            .unwrap()
    );
    assert!(
        !model
            .record(at(0, 5, Uuid::new_v4(), paid(500)))
            .await
            .unwrap()
    );
    assert!(
        !model
            .record(at(0, 2, Uuid::new_v4(), paid(500)))
            .await
            .unwrap()
    );
    let summary = model.summary().await.unwrap();
    assert_eq!(summary.revenue_cents_by_day.get("2026-01-01"), Some(&500));
    assert_eq!(model.offsets().await.unwrap().next, [next(0, 6)]);
}

/// An event analytics does not count still moves its partition on: a group whose last
/// records are such events is not behind its store.
pub async fn a_record_without_changes_moves_its_offset_only<M: ReadModel + AnalyticsStore>(
    model: Arc<M>,
) {
    assert!(
        !model
            .record(at(1, 4, Uuid::new_v4(), vec![]))
            .await
            .unwrap()
    );
    assert_eq!(model.offsets().await.unwrap().next, [next(1, 5)]);
    assert_eq!(model.summary().await.unwrap(), Default::default());
}

/// Offsets belong to the bus they were read on: on another bus they are forgotten, and
/// the counts are kept, with the events they came from, so the same events published to
/// the new bus are not counted again.
pub async fn another_bus_starts_from_no_offsets_and_keeps_the_counts<
    M: ReadModel + AnalyticsStore,
>(
    model: Arc<M>,
) {
    let id = Uuid::new_v4();
    model.start_on_bus(Some("bus-1".into())).await.unwrap();
    model.record(at(0, 9, id, paid(500))).await.unwrap();
    assert_eq!(
        model.offsets().await.unwrap(),
        AnalyticsOffsets {
            bus: Some("bus-1".into()),
            next: vec![next(0, 10)],
        }
    );
    model.start_on_bus(Some("bus-2".into())).await.unwrap();
    assert_eq!(
        model.offsets().await.unwrap(),
        AnalyticsOffsets {
            bus: Some("bus-2".into()),
            next: vec![],
        }
    );
    assert!(!model.record(at(0, 0, id, paid(500))).await.unwrap());
    let summary = model.summary().await.unwrap();
    assert_eq!(summary.revenue_cents_by_day.get("2026-01-01"), Some(&500));
    assert_eq!(model.offsets().await.unwrap().next, [next(0, 1)]);
}

pub async fn revenue_adds_up_per_day_refunds_included<M: ReadModel + AnalyticsStore>(
    model: Arc<M>,
) {
    for (offset, (day, delta)) in [
        ("2026-01-01", 500),
        ("2026-01-01", 250),
        ("2026-01-01", -500),
        ("2026-01-02", 100),
    ]
    .into_iter()
    .enumerate()
    {
        let change = AnalyticsChange::Revenue {
            day: day.into(),
            delta_cents: delta,
        };
        let record = at(0, offset as u64, Uuid::new_v4(), vec![change]);
        model.record(record).await.unwrap();
    }
    let summary = model.summary().await.unwrap();
    assert_eq!(summary.revenue_cents_by_day.get("2026-01-01"), Some(&250));
    assert_eq!(summary.revenue_cents_by_day.get("2026-01-02"), Some(&100));
}

/// Orders are listed newest first, filtered, and paged with a cursor: each page starts
/// after the last order of the one before, and together they list each order once.
pub async fn orders_are_listed_newest_first_filtered_and_paged<M: ReadModel + AnalyticsStore>(
    model: Arc<M>,
) {
    let mut orders = Vec::new();
    for i in 0..7 {
        let status = if i % 2 == 0 { "SHIPPED" } else { "PENDING" };
        let customer = if i < 4 { "c-a" } else { "c-b" };
        let mut o = order(&format!("o-{i}"), customer, 1_000 * (i as i64 + 1), status);
        o.updated_at = o.created_at;
        orders.push(o);
    }
    // Two orders created at the same moment are ordered by id.
    let mut twin = order("o-3b", "c-a", 4_000, "PENDING");
    twin.updated_at = twin.created_at;
    orders.push(twin);
    model
        .apply(ReadModelBatch {
            forgotten: Vec::new(),
            orders: orders.clone(),
            stock: vec![],
            position: 1,
        })
        .await
        .unwrap();
    let ids = |found: Vec<OrderSummary>| -> Vec<String> {
        found.into_iter().map(|o| o.order_id).collect()
    };
    let at = |ms: i64| DateTime::<Utc>::from_timestamp_millis(ms).expect("time");
    let all = crate::read_model::OrderQuery {
        limit: 100,
        ..Default::default()
    };
    assert_eq!(
        ids(model.list_orders(&all).await.unwrap()),
        ["o-6", "o-5", "o-4", "o-3b", "o-3", "o-2", "o-1", "o-0"]
    );
    let shipped_of_b = crate::read_model::OrderQuery {
        status: Some("SHIPPED".into()),
        customer_id: Some("c-b".into()),
        ..all.clone()
    };
    assert_eq!(
        ids(model.list_orders(&shipped_of_b).await.unwrap()),
        ["o-6", "o-4"]
    );
    let window = crate::read_model::OrderQuery {
        created_from: Some(at(2_000)),
        created_to: Some(at(4_000)),
        ..all.clone()
    };
    assert_eq!(
        ids(model.list_orders(&window).await.unwrap()),
        ["o-2", "o-1"]
    );
    // Open and unchanged since before 3.5 s: the pending ones created by then.
    let stuck = crate::read_model::OrderQuery {
        unchanged_since: Some(at(3_500)),
        ..all.clone()
    };
    assert_eq!(ids(model.list_orders(&stuck).await.unwrap()), ["o-1"]);
    let mut paged = Vec::new();
    let mut query = crate::read_model::OrderQuery {
        limit: 3,
        ..Default::default()
    };
    loop {
        let page = model.list_orders(&query).await.unwrap();
        let Some(last) = page.last() else { break };
        query.after = Some(crate::read_model::OrderCursor {
            created_at: last.created_at,
            order_id: last.order_id.clone(),
        });
        let full = page.len() == query.limit;
        paged.extend(ids(page));
        if !full {
            break;
        }
    }
    assert_eq!(paged, ids(model.list_orders(&all).await.unwrap()));
}

pub async fn a_forgotten_customers_orders_lose_their_address_and_nothing_else<
    M: ReadModel + AnalyticsStore,
>(
    model: Arc<M>,
) {
    let theirs = [
        order("o-1", "c-gone", 1_000, "SHIPPED"),
        order("o-2", "c-gone", 2_000, "PENDING"),
    ];
    let other = order("o-3", "c-kept", 3_000, "SHIPPED");
    model
        .apply(ReadModelBatch {
            orders: [&theirs[..], std::slice::from_ref(&other)].concat(),
            stock: vec![],
            forgotten: Vec::new(),
            position: 1,
        })
        .await
        .unwrap();
    // In the same batch as a later change to one of their orders.
    let mut confirmed = theirs[1].clone();
    confirmed.status = "CONFIRMED".into();
    model
        .apply(ReadModelBatch {
            orders: vec![confirmed],
            stock: vec![],
            forgotten: vec!["c-gone".into()],
            position: 2,
        })
        .await
        .unwrap();
    for (id, status) in [("o-1", "SHIPPED"), ("o-2", "CONFIRMED")] {
        let read = model.order(id).await.unwrap().expect("kept");
        assert_eq!(read.shipping_address, None, "{id}");
        assert_eq!(
            (read.status.as_str(), read.total_cents),
            (status, 300),
            "{id}"
        );
    }
    assert_eq!(model.order("o-3").await.unwrap(), Some(other));
    assert_eq!(model.position().await.unwrap(), 2);
}
