//! Every answer of the API in full: each member of each body, so that a member renamed,
//! dropped or added is noticed.

use axum::http::Method;
use chrono::{DateTime, Utc};
use orderflow_core::keys::seal;
use orderflow_core::read_model::{
    OrderLineSummary, OrderSummary, ReadModel, ReadModelBatch, StockSummary,
};
use orderflow_domain::Personal;
use serde_json::{Value, json};

use crate::support::*;

/// The members of `body`, sorted.
fn members(body: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = body
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    keys.sort_unstable();
    keys
}

fn at(text: &str) -> Res<DateTime<Utc>> {
    Ok(DateTime::parse_from_rfc3339(text)?.with_timezone(&Utc))
}

/// An order as the projections would have left it in the read model, its address
/// sealed under the customer's key.
async fn projected_order(app: &TestApp) -> Res<OrderSummary> {
    let sealed = seal::seal_text(app.keys(), "c-1", "1 Main St, Springfield").await?;
    Ok(OrderSummary {
        order_id: "o-1".into(),
        customer_id: "c-1".into(),
        status: "SHIPPED".into(),
        items: vec![OrderLineSummary {
            sku: "SKU-1".into(),
            quantity: 2,
            unit_price_cents: 1999,
        }],
        total_cents: 3998,
        currency: "CHF".into(),
        shipping_address: Some(Personal::Sealed(sealed)),
        created_at: at("2026-12-06T10:00:00Z")?,
        updated_at: at("2026-12-06T10:00:01.250Z")?,
        cancel_reason: None,
        tracking_number: Some("TRK-1".into()),
        failures: vec!["the confirmation email bounced".into()],
    })
}

/// The order of [`projected_order`] as the API renders it.
fn rendered_order() -> Value {
    json!({
        "orderId": "o-1",
        "customerId": "c-1",
        "status": "SHIPPED",
        "items": [{ "sku": "SKU-1", "quantity": 2, "unitPrice": 19.99 }],
        "totalAmount": 39.98,
        "currency": "CHF",
        "shippingAddress": "1 Main St, Springfield",
        "createdAt": "2026-12-06T10:00:00Z",
        "updatedAt": "2026-12-06T10:00:01.250Z",
        "cancelReason": null,
        "trackingNumber": "TRK-1",
        "failures": ["the confirmation email bounced"],
    })
}

async fn with_projected_order(app: &TestApp) -> Res<()> {
    let batch = ReadModelBatch {
        forgotten: Vec::new(),
        orders: vec![projected_order(app).await?],
        stock: vec![StockSummary {
            sku: "SKU-1".into(),
            available: 7,
            reserved: 2,
        }],
        position: 4,
    };
    app.read_model().apply(batch).await?;
    Ok(())
}

#[tokio::test]
async fn an_order_reads_every_member_of_its_view_with_the_read_models_position() -> TestResult {
    let app = spawn_app().await?;
    with_projected_order(&app).await?;
    let answer = app.get("/orders/o-1").await?;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let mut expected = rendered_order();
    expected["position"] = json!(4);
    expected["caughtUp"] = json!(true);
    expected["waitingFor"] = json!([]);
    assert_eq!(answer.body, expected);
    Ok(())
}

#[tokio::test]
async fn a_customers_orders_are_rendered_as_one_order_is() -> TestResult {
    let app = spawn_app().await?;
    with_projected_order(&app).await?;
    let answer = app.get("/customers/c-1/orders").await?;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let expected = json!({
        "customerId": "c-1",
        "orders": [rendered_order()],
        "next": null,
        "position": 4,
        "caughtUp": true,
    });
    assert_eq!(answer.body, expected);
    Ok(())
}

#[tokio::test]
async fn the_list_of_orders_is_rendered_as_one_order_is() -> TestResult {
    let app = spawn_app().await?;
    with_projected_order(&app).await?;
    let answer = app.get("/orders").await?;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let expected = json!({
        "orders": [rendered_order()],
        "next": null,
        "position": 4,
        "caughtUp": true,
    });
    assert_eq!(answer.body, expected);
    Ok(())
}

#[tokio::test]
async fn an_order_as_of_a_moment_has_the_members_of_its_view_from_its_events() -> TestResult {
    let app = spawn_app().await?;
    let placed = app.place_with_key("k-1", &order()).await?;
    assert_eq!(placed.status, 202, "{:?}", placed.body);
    assert_eq!(members(&placed.body), ["orderId", "position", "status"]);
    let order_id = placed.body["orderId"].as_str().ok_or("no orderId")?;
    let answer = app
        .get(&format!("/orders/{order_id}?as_of=2999-01-01T00:00:00Z"))
        .await?;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let body = &answer.body;
    assert_eq!(body["createdAt"], body["updatedAt"]);
    assert!(body["createdAt"].as_str().is_some_and(|t| at(t).is_ok()));
    let mut expected = body.clone();
    for (member, value) in [
        ("orderId", json!(order_id)),
        ("customerId", json!("c-1")),
        ("status", json!("PENDING")),
        (
            "items",
            json!([{ "sku": "SKU-1", "quantity": 2, "unitPrice": 19.99 }]),
        ),
        ("totalAmount", json!(39.98)),
        ("currency", json!("EUR")),
        ("shippingAddress", json!("1 Main St, Springfield")),
        ("cancelReason", Value::Null),
        ("trackingNumber", Value::Null),
        ("asOf", json!("2999-01-01T00:00:00Z")),
        ("position", json!(1)),
    ] {
        expected[member] = value;
    }
    assert_eq!(body, &expected);
    assert_eq!(members(body).len(), 13, "{body}");
    Ok(())
}

#[tokio::test]
async fn an_orders_history_lists_each_event_with_its_envelope_and_data() -> TestResult {
    let app = spawn_app().await?;
    let placed = app.place_with_key("k-1", &order()).await?;
    let order_id = placed.body["orderId"].as_str().ok_or("no orderId")?;
    let answer = app.get(&format!("/orders/{order_id}/history")).await?;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(members(&answer.body), ["events", "orderId"]);
    assert_eq!(answer.body["orderId"], json!(order_id));
    let events = answer.body["events"].as_array().ok_or("no events")?;
    assert_eq!(events.len(), 1);
    let created = &events[0];
    assert_eq!(
        members(created),
        [
            "actor",
            "causationId",
            "data",
            "eventId",
            "occurredAt",
            "position",
            "recordedAt",
            "schemaId",
            "stream",
            "traceId",
            "type",
            "version"
        ]
    );
    assert_eq!(created["type"], "OrderCreated");
    assert_eq!(created["stream"], json!(format!("order-{order_id}")));
    assert_eq!(
        (&created["version"], &created["position"]),
        (&json!(1), &json!(1))
    );
    assert_eq!(created["actor"], "api");
    assert_eq!(created["causationId"], Value::Null);
    let trace_id = created["traceId"].as_str().ok_or("no traceId")?;
    assert_eq!(trace_id.len(), 32, "a new trace for a request without one");
    assert_eq!(created["data"]["orderId"], json!(order_id));
    Ok(())
}

#[tokio::test]
async fn a_cancel_answers_the_order_its_status_and_the_position() -> TestResult {
    let app = spawn_app().await?;
    let placed = app.place_with_key("k-1", &order()).await?;
    let order_id = placed.body["orderId"].as_str().ok_or("no orderId")?;
    let request = post(
        &format!("/orders/{order_id}/cancel"),
        "application/json",
        "",
    )?;
    let answer = app.send(request).await?;
    assert_eq!(answer.status, 202, "{:?}", answer.body);
    let expected = json!({ "orderId": order_id, "status": "CANCELLED", "position": 2 });
    assert_eq!(answer.body, expected);
    Ok(())
}

#[tokio::test]
async fn stock_is_set_and_read_with_its_members() -> TestResult {
    let app = spawn_app().await?;
    let request = axum::http::Request::builder()
        .method(Method::PUT)
        .uri("/inventory/SKU-1")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(r#"{"available": 7}"#))?;
    let set = app.send(request).await?;
    assert_eq!(set.status, 200, "{:?}", set.body);
    assert_eq!(
        set.body,
        json!({ "sku": "SKU-1", "available": 7, "position": 1 })
    );
    with_projected_order(&app).await?;
    let read = app.get("/inventory/SKU-1").await?;
    let expected = json!({ "sku": "SKU-1", "available": 7, "reserved": 2, "position": 4 });
    assert_eq!(read.body, expected);
    Ok(())
}

#[tokio::test]
async fn consumers_lists_groups_dead_letters_and_the_store_readers_lag() -> TestResult {
    let app = spawn_app().await?;
    app.place_with_key("k-1", &order()).await?;
    let answer = app.get("/consumers").await?;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let dead_letters: Vec<Value> = [
        "orders",
        "payments",
        "inventory",
        "shipments",
        "notifications",
    ]
    .iter()
    .map(|t| json!({ "topic": format!("{t}.dlq"), "records": 0, "waiting": 0 }))
    .collect();
    let expected = json!({
        "groups": [],
        "deadLetters": dead_letters,
        "storeReaders": [
            { "name": "relay", "position": 0, "head": 1, "lag": 1 },
            { "name": "projections", "position": 0, "head": 1, "lag": 1 },
        ],
    });
    assert_eq!(answer.body, expected);
    Ok(())
}

#[tokio::test]
async fn analytics_counts_orders_by_status_and_revenue_by_day() -> TestResult {
    let app = spawn_app().await?;
    let answer = app.get("/analytics").await?;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let expected = json!({ "ordersByStatus": {}, "revenueCentsByDay": {} });
    assert_eq!(answer.body, expected);
    Ok(())
}

#[tokio::test]
async fn health_is_ok_with_the_event_stores_head() -> TestResult {
    let app = spawn_app().await?;
    app.place_with_key("k-1", &order()).await?;
    let answer = app.get("/health").await?;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body, json!({ "status": "ok", "head": 1 }));
    Ok(())
}
