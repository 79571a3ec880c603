//! An `Idempotency-Key` makes a retry of the same request return the same order; the
//! same key with any other request is refused (`422`, docs/api.md "POST /orders"), whatever
//! member differs.

use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn a_retry_with_the_same_key_and_request_returns_the_first_order() -> TestResult {
    let app = spawn_app().await?;
    let first = app.place_with_key("k-1", &order()).await?;
    assert_eq!(first.status, 202, "{:?}", first.body);
    let head = app.head().await?;
    let again = app.place_with_key("k-1", &order()).await?;
    assert_eq!(again.status, 202, "{:?}", again.body);
    assert_eq!(again.body["orderId"], first.body["orderId"]);
    assert_eq!(again.body["position"], first.body["position"]);
    assert_eq!(app.head().await?, head, "a retry writes nothing");
    Ok(())
}

#[tokio::test]
async fn a_retry_that_writes_the_same_values_differently_is_the_same_request() -> TestResult {
    let app = spawn_app().await?;
    let first = app.place_with_key("k-1", &order()).await?;
    let mut respelled = order();
    respelled["items"][0]["unitPrice"] = json!(19.990);
    let again = app
        .place_raw_with_key("k-1", &respelled.to_string().replace("19.99", "1999e-2"))
        .await?;
    assert_eq!(again.status, 202, "{:?}", again.body);
    assert_eq!(again.body["orderId"], first.body["orderId"]);
    let mut bare = order();
    bare.as_object_mut().ok_or("an object")?.remove("currency");
    let default_currency = app.place_with_key("k-1", &bare).await?;
    assert_eq!(
        default_currency.status, 202,
        "EUR is the default: {:?}",
        default_currency.body
    );
    Ok(())
}

#[tokio::test]
async fn a_reused_key_with_a_different_currency_address_or_line_is_refused_with_422() -> TestResult
{
    let app = spawn_app().await?;
    let first = app.place_with_key("k-1", &order()).await?;
    assert_eq!(first.status, 202, "{:?}", first.body);
    let head = app.head().await?;
    let changed = |pointer: &str, value: Value| -> Res<Value> {
        let mut body = order();
        *body.pointer_mut(pointer).ok_or(format!("no {pointer}"))? = value;
        Ok(body)
    };
    let mut without_address = order();
    without_address
        .as_object_mut()
        .ok_or("an object")?
        .remove("shippingAddress");
    let cases = [
        (changed("/currency", json!("USD"))?, "currency differs"),
        (
            changed("/shippingAddress", json!("2 Elm St"))?,
            "shippingAddress differs",
        ),
        (without_address, "shippingAddress differs"),
        (
            changed("/items/0/unitPrice", json!(19.98))?,
            "items differs",
        ),
        (changed("/items/0/quantity", json!(3))?, "items differs"),
        (changed("/items/0/sku", json!("SKU-2"))?, "items differs"),
    ];
    for (body, needle) in cases {
        let answer = app.place_with_key("k-1", &body).await?;
        assert_eq!(answer.status, 422, "{body}: {:?}", answer.body);
        assert!(
            answer
                .error()
                .contains("already used for a different order")
                && answer.error().contains(needle),
            "{body}: {:?} should say {needle:?}",
            answer.error()
        );
    }
    assert_eq!(app.head().await?, head, "nothing is written");
    let same = app.place_with_key("k-1", &order()).await?;
    assert_eq!(
        same.body["orderId"], first.body["orderId"],
        "the first order stands"
    );
    Ok(())
}

#[tokio::test]
async fn the_same_key_from_another_customer_is_another_order() -> TestResult {
    let app = spawn_app().await?;
    let first = app.place_with_key("k-1", &order()).await?;
    let mut other = order();
    other["customerId"] = json!("c-2");
    let second = app.place_with_key("k-1", &other).await?;
    assert_eq!(second.status, 202, "{:?}", second.body);
    assert_ne!(second.body["orderId"], first.body["orderId"]);
    Ok(())
}
