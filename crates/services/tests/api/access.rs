//! Who may call what (docs/api.md "Access control"), in process: `401` without a known
//! token, `403` when its role is not enough, `GET /health` open for probes, the embedded
//! registry's refusals in Confluent's shape, and no state-changing request a web page
//! could send cross-site without a CORS preflight.

use axum::body::Body;
use axum::http::{Method, Request};
use orderflow_services::http::Access;
use serde_json::json;
use tower::ServiceExt;

use crate::support::*;

#[tokio::test]
async fn without_a_token_every_route_but_health_is_401_with_a_bearer_challenge() -> TestResult {
    let api = TestApp::builder()
        .with_registry()
        .with_tokens()?
        .spawn()
        .await?;
    let routes = [
        (Method::GET, "/orders/o-1"),
        (Method::GET, "/customers/c-1/orders"),
        (Method::POST, "/orders"),
        (Method::POST, "/orders/o-1/cancel"),
        (Method::PUT, "/inventory/SKU-1"),
        (Method::GET, "/analytics"),
        (Method::GET, "/no/such/route"),
    ];
    for (method, path) in routes {
        for token in [None, Some("unknown-token-0123456789")] {
            let answer = api.call(method.clone(), path, token, None).await?;
            assert_eq!(answer.status, 401, "{method} {path}: {:?}", answer.body);
            assert_eq!(answer.challenge.as_deref(), Some("Bearer"));
            assert!(answer.body["error"].is_string(), "{:?}", answer.body);
        }
    }
    let health = api.call(Method::GET, "/health", None, None).await?;
    assert_eq!(health.status, 200, "{:?}", health.body);
    Ok(())
}

#[tokio::test]
async fn a_shop_token_places_and_reads_orders_but_may_not_set_stock_or_cancel() -> TestResult {
    let api = TestApp::builder()
        .with_registry()
        .with_tokens()?
        .spawn()
        .await?;
    let order_id = api.place_as(SHOP).await?;
    let history = format!("/orders/{order_id}/history");
    let read = api.call(Method::GET, &history, Some(SHOP), None).await?;
    assert_eq!(read.status, 200, "{:?}", read.body);

    let stock = json!({ "available": 5 });
    let set = api
        .json(Method::PUT, "/inventory/SKU-1", SHOP, stock)
        .await?;
    assert_eq!(set.status, 403, "{:?}", set.body);
    assert!(
        set.body["error"]
            .as_str()
            .is_some_and(|m| m.contains("operator")),
        "{:?}",
        set.body
    );
    let cancel = format!("/orders/{order_id}/cancel");
    let cancel = api.call(Method::POST, &cancel, Some(SHOP), None).await?;
    assert_eq!(cancel.status, 403, "{:?}", cancel.body);
    let lag = api
        .call(Method::GET, "/consumers", Some(SHOP), None)
        .await?;
    assert_eq!(lag.status, 403, "{:?}", lag.body);
    Ok(())
}

#[tokio::test]
async fn an_operator_or_an_admin_sets_stock_and_cancels_orders() -> TestResult {
    let api = TestApp::builder()
        .with_registry()
        .with_tokens()?
        .spawn()
        .await?;
    for token in [OPERATOR, ADMIN] {
        let stock = json!({ "available": 5 });
        let set = api
            .json(Method::PUT, "/inventory/SKU-1", token, stock)
            .await?;
        assert_eq!(set.status, 200, "{:?}", set.body);
        let order_id = api.place_as(token).await?;
        // With a token, a cancel needs no body (nor a content type).
        let cancel = format!("/orders/{order_id}/cancel");
        let cancelled = api.call(Method::POST, &cancel, Some(token), None).await?;
        assert_eq!(cancelled.status, 202, "{:?}", cancelled.body);
        let lag = api
            .call(Method::GET, "/consumers", Some(token), None)
            .await?;
        assert_eq!(lag.status, 200, "{:?}", lag.body);
    }
    Ok(())
}

#[tokio::test]
async fn the_embedded_registry_refuses_in_confluents_shape_with_its_codes() -> TestResult {
    let api = TestApp::builder()
        .with_registry()
        .with_tokens()?
        .spawn()
        .await?;
    let subjects = "/schema-registry/subjects";
    let anonymous = api.call(Method::GET, subjects, None, None).await?;
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.challenge.as_deref(), Some("Bearer"));
    assert_eq!(anonymous.body["error_code"], 40101);
    let read = api.call(Method::GET, subjects, Some(SHOP), None).await?;
    assert_eq!(read.status, 200, "{:?}", read.body);

    let schema = json!({ "schema": "\"string\"" });
    let versions = "/schema-registry/subjects/s/versions";
    let weak = api
        .json(Method::POST, versions, SHOP, schema.clone())
        .await?;
    assert_eq!(
        (weak.status, &weak.body["error_code"]),
        (403, &json!(40301))
    );
    let registered = api.json(Method::POST, versions, OPERATOR, schema).await?;
    assert_eq!(registered.status, 200, "{:?}", registered.body);
    Ok(())
}

#[tokio::test]
async fn without_tokens_a_post_needs_a_json_content_type_so_no_page_can_send_it_cross_site()
-> TestResult {
    let api = TestApp::builder()
        .with_registry()
        .access(Access::Open)
        .spawn()
        .await?;
    let cancel = "/orders/0190d1a4-0000-7000-8000-000000000000/cancel";
    let bare = api.call(Method::POST, cancel, None, None).await?;
    assert_eq!(bare.status, 415, "{:?}", bare.body);
    let simple = [
        "text/plain",
        "text/plain; charset=utf-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ];
    for content_type in simple {
        for (method, path) in [
            (Method::POST, cancel),
            (Method::POST, "/orders"),
            (Method::PUT, "/inventory/SKU-1"),
        ] {
            let body = Some((content_type, "{}".to_owned()));
            let answer = api.call(method.clone(), path, None, body).await?;
            assert_eq!(answer.status, 415, "{method} {path} as {content_type}");
        }
    }
    let registry = "/schema-registry/subjects/s/versions";
    let bare = api.call(Method::POST, registry, None, None).await?;
    assert_eq!((bare.status, &bare.body["error_code"]), (415, &json!(415)));

    // Declared JSON, even with no body, it reaches the route (an unknown order here).
    let json = Some(("application/json", String::new()));
    let declared = api.call(Method::POST, cancel, None, json).await?;
    assert_eq!(declared.status, 404, "{:?}", declared.body);
    Ok(())
}

#[tokio::test]
async fn with_a_token_a_simple_content_type_is_still_refused() -> TestResult {
    let api = TestApp::builder()
        .with_registry()
        .with_tokens()?
        .spawn()
        .await?;
    let body = Some(("text/plain", r#"{"available": 5}"#.to_owned()));
    let answer = api
        .call(Method::PUT, "/inventory/SKU-1", Some(OPERATOR), body)
        .await?;
    assert_eq!(answer.status, 415, "{:?}", answer.body);
    Ok(())
}

#[tokio::test]
async fn without_tokens_on_loopback_a_request_addressed_to_another_name_is_403() -> TestResult {
    let api = TestApp::builder()
        .with_registry()
        .access(Access::Loopback)
        .spawn()
        .await?;
    let to = |host: &'static str, path: &'static str| {
        Request::builder()
            .uri(path)
            .header("host", host)
            .body(Body::empty())
    };
    for path in ["/health", "/orders/o-1", "/schema-registry/subjects"] {
        let rebound = api
            .router()
            .clone()
            .oneshot(to("evil.example", path)?)
            .await?;
        assert_eq!(rebound.status().as_u16(), 403, "{path}");
        let local = api
            .router()
            .clone()
            .oneshot(to("localhost:8080", path)?)
            .await?;
        assert_ne!(local.status().as_u16(), 403, "{path}");
    }
    Ok(())
}
