//! `POST /customers/{customer_id}/forget`: a customer's personal data forgotten by
//! destroying their keys; every other fact stays.

use orderflow_core::keys::seal;
use orderflow_core::read_model::{OrderSummary, ReadModel, ReadModelBatch};
use orderflow_domain::Personal;
use serde_json::json;

use crate::support::*;

const ADDRESS: &str = "4 Privet Drive, Little Whinging";

/// Places an order with an address for `customer`; its id.
async fn placed(app: &TestApp, customer: &str) -> Res<String> {
    let body = json!({
        "customerId": customer,
        "items": [{"sku": "SKU-1", "quantity": 1, "unitPrice": 2.5}],
        "shippingAddress": ADDRESS,
    });
    let answer = app.place_raw(body.to_string()).await?;
    assert_eq!(answer.status, 202, "{}", answer.body);
    Ok(answer.body["orderId"]
        .as_str()
        .ok_or("no orderId")?
        .to_owned())
}

fn forget(path: &str, body: serde_json::Value) -> Res<axum::http::Request<axum::body::Body>> {
    post(path, "application/json", body.to_string())
}

#[tokio::test]
async fn a_forgotten_customers_address_reads_as_erased_and_everything_else_as_before() -> Res<()> {
    let app = spawn_app().await?;
    let theirs = placed(&app, "c-gone").await?;
    let other = placed(&app, "c-kept").await?;

    let answer = app
        .send(forget(
            "/customers/c-gone/forget",
            json!({"reason": "erasure request #12", "actor": "dpo"}),
        )?)
        .await?;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["customerId"], "c-gone");
    assert_eq!(answer.body["keysDestroyed"], 1);
    assert!(answer.body["position"].as_u64() > Some(0));

    let history = app.get(&format!("/orders/{theirs}/history")).await?;
    let created = &history.body["events"][0];
    assert_eq!(created["type"], "OrderCreated");
    assert_eq!(created["data"]["shippingAddress"], "[erased]");
    assert_eq!(created["data"]["totalAmount"], 2.5, "the facts stay");
    assert_eq!(created["data"]["customerId"], "c-gone");
    let as_of = app
        .get(&format!(
            "/orders/{theirs}?as_of={}",
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        ))
        .await?;
    assert_eq!(as_of.status, 200, "{}", as_of.body);
    assert_eq!(as_of.body["shippingAddress"], serde_json::Value::Null);
    assert_eq!(as_of.body["status"], "PENDING");

    let kept = app.get(&format!("/orders/{other}/history")).await?;
    assert_eq!(kept.body["events"][0]["data"]["shippingAddress"], ADDRESS);

    let again = app
        .send(forget(
            "/customers/c-gone/forget",
            json!({"reason": "asked twice"}),
        )?)
        .await?;
    assert_eq!(
        (again.status, again.body["keysDestroyed"].as_u64()),
        (200, Some(0))
    );
    Ok(())
}

#[tokio::test]
async fn the_read_models_sealed_copy_reads_as_erased_as_soon_as_the_forget_answers() -> Res<()> {
    let app = spawn_app().await?;
    let at = chrono::Utc::now();
    let sealed = seal::seal_text(app.keys(), "c-gone", ADDRESS).await?;
    // As the projections leave it: sealed, as the event holds it.
    let summary = OrderSummary {
        order_id: "o-1".into(),
        customer_id: "c-gone".into(),
        status: "SHIPPED".into(),
        items: vec![],
        total_cents: 250,
        currency: "EUR".into(),
        shipping_address: Some(Personal::Sealed(sealed)),
        created_at: at,
        updated_at: at,
        cancel_reason: None,
        tracking_number: None,
        failures: vec![],
    };
    app.read_model()
        .apply(ReadModelBatch {
            orders: vec![summary],
            position: 1,
            ..ReadModelBatch::default()
        })
        .await?;
    assert_eq!(
        app.get("/orders/o-1").await?.body["shippingAddress"],
        ADDRESS
    );

    let answer = app
        .send(forget(
            "/customers/c-gone/forget",
            json!({"reason": "erasure request #13"}),
        )?)
        .await?;
    assert_eq!(answer.status, 200, "{}", answer.body);
    // No projection has run: the copy is the same bytes, and no longer opens.
    let order = app.get("/orders/o-1").await?.body;
    assert_eq!(order["shippingAddress"], serde_json::Value::Null);
    assert_eq!(order["status"], "SHIPPED");
    Ok(())
}

#[tokio::test]
async fn forgetting_needs_a_reason_and_a_customer_id() -> Res<()> {
    let app = spawn_app().await?;
    let answer = app
        .send(forget("/customers/c-1/forget", json!({"reason": " "}))?)
        .await?;
    assert_eq!(answer.status, 422, "{}", answer.body);
    assert!(answer.error().contains("reason"), "{}", answer.error());
    let answer = app
        .send(forget(
            "/customers/not%20an%20id/forget",
            json!({"reason": "r"}),
        )?)
        .await?;
    assert_eq!(answer.status, 404, "{}", answer.body);
    Ok(())
}
