//! Read-model scenarios: the order and stock summaries with their position, and
//! analytics ([`analytics`]).

mod analytics;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use orderflow_domain::{CustomerId, Personal};

pub use analytics::*;

use crate::keys::seal::MAGIC;
use crate::read_model::{
    AnalyticsStore, OrderLineSummary, OrderSummary, ReadModel, ReadModelBatch, StockSummary,
};

/// A shipping address as the events hold it, sealed (the read model keeps the bytes
/// without opening them).
pub(crate) fn sealed(text: &str) -> Personal {
    Personal::Sealed([&MAGIC[..], b"\x00\x03c-1", text.as_bytes()].concat())
}

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
        shipping_address: Some(sealed("1 Main St")),
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

/// Addresses are kept as the events hold them: a sealed one byte for byte, and one
/// recorded in the clear before addresses were sealed as its text, its customer's.
pub async fn an_address_comes_back_sealed_as_stored_or_as_the_text_recorded_before_sealing<
    M: ReadModel + AnalyticsStore,
>(
    model: Arc<M>,
) {
    let sealed = order("o-sealed", "c-1", 1_000, "PENDING");
    let mut clear = order("o-clear", "c-2", 2_000, "PENDING");
    let customer = CustomerId::parse("c-2").unwrap();
    clear.shipping_address = Some(Personal::clear(&customer, "2 Elm St, Springfield"));
    let mut none = order("o-none", "c-3", 3_000, "PENDING");
    none.shipping_address = None;
    model
        .apply(ReadModelBatch {
            orders: vec![sealed.clone(), clear.clone(), none.clone()],
            stock: vec![],
            forgotten: Vec::new(),
            position: 1,
        })
        .await
        .unwrap();
    for expected in [sealed, clear, none] {
        let read = model.order(&expected.order_id).await.unwrap();
        assert_eq!(read.as_ref(), Some(&expected));
    }
}
