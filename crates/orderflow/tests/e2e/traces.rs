//! One trace per order: the trace context of the request that placed an order is kept
//! with every event about it, whichever process records it.

use serde_json::{Value, json};

use crate::support::*;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// Places an order with the caller's `traceparent`.
async fn place_traced(api: &Api, traceparent: &str) -> Res<String> {
    let resp = api
        .client
        .post(format!("{}/orders", api.base))
        .header("traceparent", traceparent)
        .json(&json!({ "customerId": "c-1", "items": [item("SKU-1", 1, 5.0)] }))
        .send()
        .await?;
    assert_eq!(resp.status().as_u16(), 202);
    let body: Value = resp.json().await?;
    Ok(body["orderId"].as_str().ok_or("no orderId")?.to_owned())
}

/// The order's history once it is shipped and both emails are recorded.
async fn settled_history(api: &Api, order_id: &str) -> Res<Vec<Value>> {
    api.wait_status(order_id, "SHIPPED").await?;
    eventually(|| async {
        let history = api.history(order_id).await?;
        let emails = history
            .iter()
            .filter(|e| e["type"] == "NotificationSent")
            .count();
        let fulfilled = history.iter().any(|e| e["type"] == "StockFulfilled");
        Ok((emails == 2 && fulfilled).then_some(history))
    })
    .await
}

#[tokio::test]
async fn every_event_of_an_order_is_in_the_trace_of_the_request_that_placed_it() -> TestResult {
    one_trace_across_processes(Deployment::new()?).await
}

#[tokio::test]
async fn an_orders_trace_crosses_processes_on_kafka_too() -> TestResult {
    one_trace_across_processes(Deployment::on_kafka(&kafka_url())?).await
}

/// Each service in its own process: every event, whoever recorded it, has the trace id
/// of the `traceparent` the order was placed with.
async fn one_trace_across_processes(deployment: Deployment) -> TestResult {
    let front = deployment.start("api,relay,projections", &[]).await?;
    let mut services = Vec::new();
    for service in ["payment", "inventory", "orders", "shipping", "notification"] {
        services.push(deployment.start(service, &[]).await?);
    }
    let api = Api::of(&deployment, &front);
    api.set_stock("SKU-1", 10).await?;

    let traceparent = format!("00-{TRACE_ID}-00f067aa0ba902b7-01");
    let order_id = place_traced(&api, &traceparent).await?;
    let history = settled_history(&api, &order_id).await?;

    let actors: std::collections::BTreeSet<_> =
        history.iter().filter_map(|e| e["actor"].as_str()).collect();
    assert!(actors.len() >= 5, "recorded by {actors:?}");
    for event in &history {
        assert_eq!(event["traceId"], TRACE_ID, "{event}");
    }
    Ok(())
}

#[tokio::test]
async fn an_order_placed_without_a_trace_starts_one_of_its_own() -> TestResult {
    let deployment = Deployment::new()?;
    let app = deployment.start("run", &[]).await?;
    let api = Api::of(&deployment, &app);
    api.set_stock("SKU-1", 10).await?;
    let (first, _) = api.place("c-1", json!([item("SKU-1", 1, 5.0)])).await?;
    let (second, _) = api.place("c-2", json!([item("SKU-1", 1, 5.0)])).await?;

    let trace_of = |history: Vec<Value>| -> Res<String> {
        let ids: std::collections::BTreeSet<_> = history
            .iter()
            .map(|e| e["traceId"].as_str().unwrap_or("none").to_owned())
            .collect();
        assert_eq!(ids.len(), 1, "{ids:?}");
        Ok(ids.into_iter().next().ok_or("no events")?)
    };
    let first = trace_of(settled_history(&api, &first).await?)?;
    let second = trace_of(settled_history(&api, &second).await?)?;
    assert_eq!(first.len(), 32);
    assert_ne!(first, second);
    Ok(())
}
