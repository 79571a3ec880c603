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

/// The services of the pipeline, each run as a process of its own in the spans tests.
const SERVICES: [&str; 5] = ["payment", "inventory", "orders", "shipping", "notification"];

/// The variables that point a process's spans at `collector` as `service`.
fn otel<'a>(
    collector: &'a Collector,
    protocol: &'a str,
    service: &'a str,
) -> [(&'a str, &'a str); 4] {
    [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint.as_str()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
        ("OTEL_SERVICE_NAME", service),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment.name=e2e",
        ),
    ]
}

#[tokio::test]
async fn an_orders_spans_form_one_trace_across_processes_over_otlp_http() -> TestResult {
    spans_across_processes(
        Deployment::new()?,
        Collector::http().await?,
        "http/protobuf",
    )
    .await
}

#[tokio::test]
async fn an_orders_spans_form_one_trace_across_processes_over_otlp_grpc_on_kafka() -> TestResult {
    let deployment = Deployment::on_kafka(&kafka_url())?;
    spans_across_processes(deployment, Collector::grpc().await?, "grpc").await
}

/// Each service in its own process, each exporting its spans as itself: one order's
/// spans, from every process, form one tree under the caller's span, each handler's span
/// the child of the span that recorded the event it handled.
async fn spans_across_processes(
    deployment: Deployment,
    collector: Collector,
    protocol: &str,
) -> TestResult {
    let mut processes = vec![
        deployment
            .start_with_env(
                "api,relay,projections",
                &[],
                &otel(&collector, protocol, "front"),
            )
            .await?,
    ];
    for service in SERVICES {
        processes.push(
            deployment
                .start_with_env(service, &[], &otel(&collector, protocol, service))
                .await?,
        );
    }
    let api = Api::of(&deployment, &processes[0]);
    api.set_stock("SKU-1", 10).await?;
    let caller_span = "00f067aa0ba902b7";
    let order_id = place_traced(&api, &format!("00-{TRACE_ID}-{caller_span}-01")).await?;
    settled_history(&api, &order_id).await?;
    // A process flushes the spans it still holds as it stops.
    for process in &mut processes {
        assert!(process.terminate().await?.success());
    }

    let spans: Vec<SpanSeen> = collector
        .spans()
        .into_iter()
        .filter(|s| s.trace_id == TRACE_ID)
        .collect();
    let services: std::collections::BTreeSet<_> =
        spans.iter().map(|s| s.service.as_str()).collect();
    for service in SERVICES.iter().chain(&["front"]) {
        assert!(
            services.contains(service),
            "no span from {service}: {services:?}"
        );
    }
    // OTEL_RESOURCE_ATTRIBUTES reach every process's resource.
    assert!(
        spans
            .iter()
            .all(|s| s.environment.as_deref() == Some("e2e"))
    );
    let ids: std::collections::BTreeSet<_> = spans.iter().map(|s| s.span_id.as_str()).collect();
    for span in &spans {
        assert!(
            span.parent_span_id == caller_span || ids.contains(span.parent_span_id.as_str()),
            "{span:?} hangs outside the order's trace"
        );
    }
    let named = |name: &'static str| spans.iter().filter(move |s| s.name == name);
    let placed = named("POST /orders")
        .next()
        .ok_or_else(|| format!("no span of the request in {spans:#?}"))?;
    assert_eq!(placed.parent_span_id, caller_span);
    // Payment handles the `OrderCreated` the request recorded: its span is the child of
    // the request's, across processes.
    let charged = spans
        .iter()
        .find(|s| s.service == "payment" && s.parent_span_id == placed.span_id)
        .ok_or("payment's span is not the child of the request's")?;
    let charge = named("payment.charge")
        .next()
        .ok_or("no span of the provider call")?;
    assert_eq!(charge.parent_span_id, charged.span_id);
    assert_eq!(named("mail.send").count(), 2, "one span per email");
    for service in SERVICES.iter().chain(&["front"]) {
        assert!(
            spans
                .iter()
                .any(|s| s.service == *service && s.name == "store.append"),
            "{service} recorded no append in the trace"
        );
    }
    Ok(())
}

#[tokio::test]
async fn no_span_is_exported_when_the_exporter_is_set_to_none() -> TestResult {
    let collector = Collector::http().await?;
    let deployment = Deployment::new()?;
    let mut env = otel(&collector, "http/protobuf", "orderflow").to_vec();
    env.push(("OTEL_TRACES_EXPORTER", "none"));
    let mut app = deployment.start_with_env("run", &[], &env).await?;
    let api = Api::of(&deployment, &app);
    api.set_stock("SKU-1", 10).await?;
    let (order_id, _) = api.place("c-1", json!([item("SKU-1", 1, 5.0)])).await?;
    settled_history(&api, &order_id).await?;
    assert!(app.terminate().await?.success());
    assert_eq!(collector.spans().len(), 0);
    Ok(())
}
