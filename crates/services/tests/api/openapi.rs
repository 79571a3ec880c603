//! The OpenAPI document at `GET /openapi.json` against the router itself: every route
//! the router serves is documented with its method and path template, every documented
//! route reaches a handler, and each documented answer has the members the API sends.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Method, Request};
use orderflow_core::read_model::ReadModel;
use orderflow_services::http;
use serde_json::{Value, json};

use crate::support::*;

/// `(METHOD, path template)` of every operation of `doc`.
fn documented(doc: &Value) -> Res<BTreeSet<(String, String)>> {
    let paths = doc["paths"].as_object().ok_or("no paths")?;
    let mut operations = BTreeSet::new();
    for (path, item) in paths {
        for method in ["get", "put", "post", "delete", "patch", "head", "options"] {
            if item.get(method).is_some() {
                operations.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    Ok(operations)
}

/// `(METHOD, path template)` of every route the router serves.
fn served(app: &TestApp) -> BTreeSet<(String, String)> {
    http::route_table(app.state().clone())
        .into_iter()
        .map(|route| (route.method.to_string(), route.path))
        .collect()
}

async fn document(app: &TestApp) -> Res<Value> {
    let answer = app.get("/openapi.json").await?;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    Ok(answer.body)
}

#[tokio::test]
async fn the_document_lists_exactly_the_routes_the_router_serves() -> TestResult {
    for app in [
        spawn_app().await?,
        TestApp::builder().with_registry().spawn().await?,
    ] {
        let doc = document(&app).await?;
        assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
        let served = served(&app);
        assert!(served.contains(&("GET".into(), "/orders/{order_id}".into())));
        assert_eq!(documented(&doc)?, served);
    }
    Ok(())
}

#[tokio::test]
async fn each_operation_has_an_id_of_its_own() -> TestResult {
    let doc = document(&TestApp::builder().with_registry().spawn().await?).await?;
    let mut ids = Vec::new();
    for item in doc["paths"].as_object().ok_or("no paths")?.values() {
        for operation in item.as_object().ok_or("no item")?.values() {
            ids.push(operation["operationId"].as_str().ok_or("no id")?.to_owned());
        }
    }
    let distinct: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len(), "{ids:?}");
    Ok(())
}

#[tokio::test]
async fn the_registrys_routes_are_documented_only_where_it_is_served() -> TestResult {
    let without = documented(&document(&spawn_app().await?).await?)?;
    let with = documented(&document(&TestApp::builder().with_registry().spawn().await?).await?)?;
    let registry: Vec<_> = with.difference(&without).collect();
    assert!(registry.len() > 10, "{registry:?}");
    assert!(
        registry
            .iter()
            .all(|(_, path)| path.starts_with("/schema-registry"))
    );
    assert!(registry.contains(&&("GET".to_owned(), "/schema-registry".to_owned())));
    Ok(())
}

#[tokio::test]
async fn every_documented_route_reaches_a_handler_rather_than_the_fallback() -> TestResult {
    let app = TestApp::builder().with_registry().spawn().await?;
    for (method, template) in documented(&document(&app).await?)? {
        let path: String = template
            .split('/')
            .map(|s| if s.starts_with('{') { "x" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        let request = Request::builder()
            .method(Method::from_bytes(method.as_bytes())?)
            .uri(&path)
            .header("content-type", "application/json")
            .body(Body::from("{}"))?;
        let (status, body) = app.raw(request).await?;
        assert_ne!(status, 405, "{method} {template}: {body}");
        assert_ne!(body["error"], "no such route", "{method} {template}");
        assert_ne!(body["error_code"], 404, "{method} {template}: {body}");
    }
    Ok(())
}

/// The members a schema of `doc` describes (through `$ref` and `allOf`), and those it
/// requires.
fn members_of(doc: &Value, schema: &Value) -> (BTreeSet<String>, BTreeSet<String>) {
    if let Some(name) = schema["$ref"].as_str() {
        let name = name.trim_start_matches("#/components/schemas/");
        return members_of(doc, &doc["components"]["schemas"][name]);
    }
    let mut all = BTreeSet::new();
    let mut required = BTreeSet::new();
    for part in schema["allOf"].as_array().into_iter().flatten() {
        let (a, r) = members_of(doc, part);
        all.extend(a);
        required.extend(r);
    }
    if let Some(properties) = schema["properties"].as_object() {
        all.extend(properties.keys().cloned());
    }
    for name in schema["required"].as_array().into_iter().flatten() {
        required.extend(name.as_str().map(str::to_owned));
    }
    (all, required)
}

/// Checks that `answer` has every member `schema` requires and none it does not
/// describe.
fn check(doc: &Value, schema: &str, answer: &Value) {
    let (all, required) = members_of(doc, &json!({ "$ref": schema }));
    let sent: BTreeSet<String> = answer
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    assert!(!all.is_empty(), "{schema} is not documented");
    assert!(
        sent.is_subset(&all),
        "{schema}: {sent:?} not all in {all:?}"
    );
    assert!(
        required.is_subset(&sent),
        "{schema}: {required:?} not all in {sent:?}"
    );
}

#[tokio::test]
async fn each_documented_answer_has_the_members_the_api_sends() -> TestResult {
    let app = spawn_app().await?;
    let doc = document(&app).await?;
    let placed = app.place_with_key("k-1", &order()).await?;
    check(&doc, "Accepted", &placed.body);
    let order_id = placed.body["orderId"].as_str().ok_or("no orderId")?;
    let as_of = format!("/orders/{order_id}?as_of=2999-01-01T00:00:00Z");
    let as_of = app.get(&as_of).await?.body;
    check(&doc, "OrderAsOf", &as_of);
    for member in ["currency", "shippingAddress"] {
        assert!(as_of.get(member).is_some(), "{member}");
    }
    let history = app.get(&format!("/orders/{order_id}/history")).await?.body;
    check(&doc, "History", &history);
    let waiting = app.state().read_model.clone();
    waiting.apply(placed_projected(order_id)).await?;
    let read = app.get(&format!("/orders/{order_id}")).await?.body;
    check(&doc, "WaitingBody", &read["waitingFor"][0]);
    check(&doc, "HistoryEvent", &history["events"][0]);
    app.read_model().apply(projected()).await?;
    let read = app.get("/orders/o-1").await?.body;
    check(&doc, "OrderRead", &read);
    check(&doc, "OrderList", &app.get("/orders").await?.body);
    let customer = app.get("/customers/c-1/orders").await?.body;
    check(&doc, "CustomerOrders", &customer);
    check(&doc, "OrderBody", &customer["orders"][0]);
    check(&doc, "Stock", &app.get("/inventory/SKU-1").await?.body);
    check(&doc, "Analytics", &app.get("/analytics").await?.body);
    let consumers = app.get("/consumers").await?.body;
    check(&doc, "Consumers", &consumers);
    check(&doc, "StoreReader", &consumers["storeReaders"][0]);
    check(&doc, "DeadLetters", &consumers["deadLetters"][0]);
    let pipeline = app.get("/pipeline").await?.body;
    check(&doc, "Pipeline", &pipeline);
    check(&doc, "StageBody", &pipeline["stages"][0]);
    check(&doc, "GroupBody", &pipeline["groups"][0]);
    check(&doc, "ErrorBody", &app.get("/orders/nowhere").await?.body);
    Ok(())
}

/// The order just placed, as the projections would have left it.
fn placed_projected(order_id: &str) -> orderflow_core::read_model::ReadModelBatch {
    let mut batch = projected();
    batch.orders[0].order_id = order_id.to_owned();
    batch.stock.clear();
    // Before `projected()`'s, which would otherwise be behind it and change nothing.
    batch.position = 1;
    batch
}

/// An order and a SKU as the projections would have left them.
fn projected() -> orderflow_core::read_model::ReadModelBatch {
    use orderflow_core::read_model::{
        OrderLineSummary, OrderSummary, ReadModelBatch, StockSummary,
    };
    let now = chrono::Utc::now();
    ReadModelBatch {
        forgotten: Vec::new(),
        orders: vec![OrderSummary {
            order_id: "o-1".into(),
            customer_id: "c-1".into(),
            status: "PENDING".into(),
            items: vec![OrderLineSummary {
                sku: "SKU-1".into(),
                quantity: 1,
                unit_price_cents: 250,
            }],
            total_cents: 250,
            currency: "EUR".into(),
            shipping_address: None,
            created_at: now,
            updated_at: now,
            cancel_reason: None,
            tracking_number: None,
            failures: vec![],
        }],
        stock: vec![StockSummary {
            sku: "SKU-1".into(),
            available: 3,
            reserved: 0,
        }],
        position: 2,
    }
}
