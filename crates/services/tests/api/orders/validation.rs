//! What a request must be to place an order: every refusal is the status docs/api.md
//! gives, names the problem, and writes nothing.

use axum::body::Body;
use axum::http::{Method, Request};
use futures::stream;
use orderflow_services::http::Limits;
use serde_json::json;

use crate::support::*;

/// Places `body` (raw JSON text) and checks it is refused with `status`, an error
/// containing `needle`, and nothing written.
async fn refused(app: &TestApp, request: Request<Body>, status: u16, needle: &str) -> TestResult {
    let head = app.head().await?;
    let answer = app.send(request).await?;
    assert_eq!(answer.status, status, "{:?}", answer.body);
    assert!(
        answer.error().contains(needle),
        "{:?} should mention {needle:?}",
        answer.error()
    );
    assert_eq!(app.head().await?, head, "nothing is written");
    Ok(())
}

fn json_post(body: impl Into<String>) -> Res<Request<Body>> {
    post("/orders", "application/json", body.into())
}

#[tokio::test]
async fn a_unit_price_below_the_cent_is_refused_with_422_naming_the_field_not_rounded() -> TestResult
{
    let app = spawn_app().await?;
    for price in [
        "0.000000001",
        "1.0000001",
        "99999999999.999",
        "19.999",
        "1e-3",
    ] {
        refused(
            &app,
            json_post(order_priced(price))?,
            422,
            "items[0]: invalid unitPrice",
        )
        .await?;
        let answer = app.place_raw(order_priced(price)).await?;
        assert!(
            answer.error().contains("has more than two decimals"),
            "{price}: {:?}",
            answer.error()
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_unit_price_that_is_negative_too_large_or_not_a_number_is_refused_with_422() -> TestResult
{
    let app = spawn_app().await?;
    let cases = [
        ("-1", "must not be negative"),
        ("100000000000.01", "is too large"),
        ("1e300", "is too large"),
        (
            r#""19.99""#,
            "invalid unitPrice: must be a number, not a string",
        ),
        ("null", "invalid unitPrice: must be a number, not null"),
    ];
    for (price, needle) in cases {
        refused(&app, json_post(order_priced(price))?, 422, needle).await?;
    }
    Ok(())
}

#[tokio::test]
async fn a_price_with_at_most_two_decimals_is_recorded_exactly_however_it_is_written() -> TestResult
{
    let app = spawn_app().await?;
    let cases = [
        ("19.99", json!(19.99)),
        ("1.500", json!(1.5)),
        ("0.1", json!(0.1)),
        ("1999e-2", json!(19.99)),
        ("99999999999.99", json!(99_999_999_999.99)),
        ("0", json!(0.0)),
    ];
    for (price, expected) in cases {
        let answer = app.place_raw(order_priced(price)).await?;
        assert_eq!(answer.status, 202, "{price}: {:?}", answer.body);
        let order_id = answer.body["orderId"].as_str().ok_or("no orderId")?;
        assert_eq!(app.recorded_prices(order_id).await?, [expected], "{price}");
    }
    Ok(())
}

#[tokio::test]
async fn a_body_that_is_an_array_is_refused_with_422() -> TestResult {
    let app = spawn_app().await?;
    refused(
        &app,
        json_post(r#"["c",[["SKU-1",1,1.0]],null,null]"#)?,
        422,
        "the body must be a JSON object, not an array",
    )
    .await?;
    refused(&app, json_post(r#""c""#)?, 422, "not a string").await
}

#[tokio::test]
async fn an_item_that_is_an_array_is_refused_with_422() -> TestResult {
    let app = spawn_app().await?;
    refused(
        &app,
        json_post(r#"{"customerId":"c","items":[["SKU-1",1,1.0]]}"#)?,
        422,
        "invalid items[0]: must be an object, not an array",
    )
    .await?;
    refused(
        &app,
        json_post(r#"{"customerId":"c","items":{"sku":"SKU-1"}}"#)?,
        422,
        "invalid items: must be an array, not an object",
    )
    .await
}

#[tokio::test]
async fn a_member_of_the_wrong_type_or_an_unknown_one_is_refused_naming_it() -> TestResult {
    let app = spawn_app().await?;
    let cases = [
        (
            format!(r#"{{"customerId":7,"items":[{}]}}"#, line("A", 1, "1")),
            "invalid customerId: must be a string, not a number",
        ),
        (
            r#"{"customerId":"c","items":[{"sku":"A","quantity":"2","unitPrice":1}]}"#.into(),
            "items[0]: invalid quantity: must be a whole number, not a string",
        ),
        (
            r#"{"customerId":"c","items":[{"sku":"A","quantity":1.5,"unitPrice":1}]}"#.into(),
            "items[0]: invalid quantity: must be a whole number, not 1.5",
        ),
        (
            r#"{"customerId":"c","items":[{"sku":"A","quantity":1}]}"#.into(),
            "items[0]: missing field `unitPrice`",
        ),
        (
            format!(
                r#"{{"customerId":"c","items":[{}],"coupon":"x"}}"#,
                line("A", 1, "1")
            ),
            "unknown field `coupon`",
        ),
        (
            format!(
                r#"{{"customerId":"c","items":[{}],"currency":"euro"}}"#,
                line("A", 1, "1")
            ),
            "invalid currency",
        ),
        (
            format!(
                r#"{{"customerId":"c","items":[{}],"shippingAddress":["x"]}}"#,
                line("A", 1, "1")
            ),
            "invalid shippingAddress: must be a string, not an array",
        ),
        (
            r#"{"customerId":"c","items":[]}"#.into(),
            "at least one item",
        ),
    ];
    for (body, needle) in cases {
        refused(&app, json_post(body)?, 422, needle).await?;
    }
    Ok(())
}

#[tokio::test]
async fn a_body_that_is_not_json_is_400() -> TestResult {
    let app = spawn_app().await?;
    refused(&app, json_post("{not json")?, 400, "the body is not JSON").await?;
    refused(&app, json_post("")?, 400, "the body is not JSON").await
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_413() -> TestResult {
    let app = spawn_app().await?;
    let limit = Limits::DEFAULT.max_body_bytes;
    let padded = |size: usize| {
        let body = order().to_string();
        format!("{}{}", body, " ".repeat(size - body.len()))
    };
    refused(
        &app,
        json_post(padded(limit + 1))?,
        413,
        "larger than 65536 bytes",
    )
    .await?;
    // Without a Content-Length (chunked), it is counted as it arrives.
    let chunks = padded(limit + 1)
        .into_bytes()
        .chunks(1000)
        .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
        .collect::<Vec<_>>();
    let streamed = post(
        "/orders",
        "application/json",
        Body::from_stream(stream::iter(chunks)),
    )?;
    refused(&app, streamed, 413, "larger than").await?;
    let answer = app.place_raw(padded(limit)).await?;
    assert_eq!(
        answer.status, 202,
        "a body at the limit is read: {:?}",
        answer.body
    );
    Ok(())
}

#[tokio::test]
async fn a_body_sent_as_anything_but_json_is_refused_with_415() -> TestResult {
    let app = spawn_app().await?;
    let body = order().to_string();
    refused(
        &app,
        post("/orders", "text/plain", body.clone())?,
        415,
        "is not JSON",
    )
    .await?;
    refused(
        &app,
        post("/orders", "application/x-www-form-urlencoded", body.clone())?,
        415,
        "is not JSON",
    )
    .await?;
    let bare = Request::builder()
        .method(Method::POST)
        .uri("/orders")
        .body(Body::from(body.clone()))?;
    refused(&app, bare, 415, "content-type: application/json").await?;
    for content_type in ["application/json; charset=utf-8", "application/merge+json"] {
        let answer = app
            .send(post("/orders", content_type, body.clone())?)
            .await?;
        assert_eq!(answer.status, 202, "{content_type}: {:?}", answer.body);
    }
    Ok(())
}

#[tokio::test]
async fn an_order_of_more_lines_than_the_limit_is_refused_with_422() -> TestResult {
    let app = spawn_app().await?;
    let lines = |n: usize| {
        let items: Vec<String> = (0..n)
            .map(|i| line(&format!("SKU-{i}"), 1, "1.00"))
            .collect();
        format!(r#"{{"customerId":"c","items":[{}]}}"#, items.join(","))
    };
    refused(
        &app,
        json_post(lines(101))?,
        422,
        "invalid items: 101 lines, at most 100 per order",
    )
    .await?;
    let answer = app.place_raw(lines(100)).await?;
    assert_eq!(answer.status, 202, "{:?}", answer.body);
    Ok(())
}

#[tokio::test]
async fn a_shipping_address_longer_than_the_limit_is_refused_with_422() -> TestResult {
    let app = spawn_app().await?;
    let with_address = |address: String| {
        let mut body = order();
        body["shippingAddress"] = json!(address);
        body.to_string()
    };
    refused(
        &app,
        json_post(with_address("é".repeat(1001)))?,
        422,
        "invalid shippingAddress: 1001 characters, at most 1000",
    )
    .await?;
    let answer = app.place_raw(with_address("é".repeat(1000))).await?;
    assert_eq!(
        answer.status, 202,
        "counted in characters: {:?}",
        answer.body
    );
    Ok(())
}

#[tokio::test]
async fn a_customer_id_or_sku_longer_than_the_limit_is_refused_with_422() -> TestResult {
    let app = spawn_app().await?;
    let long = "c".repeat(65);
    refused(
        &app,
        json_post(format!(
            r#"{{"customerId":"{long}","items":[{}]}}"#,
            line("A", 1, "1")
        ))?,
        422,
        "invalid customerId: 65 characters, at most 64",
    )
    .await?;
    refused(
        &app,
        json_post(format!(
            r#"{{"customerId":"c","items":[{}]}}"#,
            line(&long, 1, "1")
        ))?,
        422,
        "items[0]: invalid sku: 65 characters, at most 64",
    )
    .await?;
    let limits = Limits {
        max_id_length: 8,
        ..Limits::DEFAULT
    };
    let strict = TestApp::builder().limits(limits).spawn().await?;
    refused(
        &strict,
        json_post(format!(
            r#"{{"customerId":"customer9","items":[{}]}}"#,
            line("A", 1, "1")
        ))?,
        422,
        "invalid customerId: 9 characters, at most 8",
    )
    .await?;
    let answer = strict
        .place_raw(format!(
            r#"{{"customerId":"customer","items":[{}]}}"#,
            line("A", 1, "1")
        ))
        .await?;
    assert_eq!(answer.status, 202, "{:?}", answer.body);
    Ok(())
}

#[tokio::test]
async fn setting_stock_takes_a_json_object_only() -> TestResult {
    let app = spawn_app().await?;
    let put = |content_type: &str, body: &str| {
        Request::builder()
            .method(Method::PUT)
            .uri("/inventory/SKU-1")
            .header("content-type", content_type)
            .body(Body::from(body.to_owned()))
    };
    refused(&app, put("application/json", "[10]")?, 422, "not an array").await?;
    refused(
        &app,
        put("text/plain", r#"{"available":10}"#)?,
        415,
        "is not JSON",
    )
    .await?;
    let answer = app
        .send(put("application/json", r#"{"available":10}"#)?)
        .await?;
    assert!(answer.status < 300, "{:?}", answer.body);
    Ok(())
}

#[test]
fn a_limit_that_lets_nothing_through_or_ids_past_the_domain_bound_is_refused() -> TestResult {
    assert_eq!(Limits::DEFAULT.validate(), Ok(()));
    let zero_lines = Limits {
        max_order_lines: 0,
        ..Limits::DEFAULT
    };
    assert_eq!(
        zero_lines.validate(),
        Err("--max-order-lines must be at least 1".into())
    );
    let long_ids = Limits {
        max_id_length: 65,
        ..Limits::DEFAULT
    };
    let message = long_ids
        .validate()
        .err()
        .ok_or("65-character ids were allowed")?;
    assert!(message.contains("at most 64"), "{message}");
    Ok(())
}

#[tokio::test]
async fn a_customer_id_that_cannot_be_written_to_is_refused_with_422() -> TestResult {
    let app = spawn_app().await?;
    for bad in ["a:b", ":", ".x", "x.", "a..b"] {
        let mut body = order();
        body["customerId"] = json!(bad);
        refused(&app, json_post(body.to_string())?, 422, "customerId").await?;
    }
    Ok(())
}
