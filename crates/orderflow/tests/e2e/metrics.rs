//! `GET /metrics`: the real binary's metrics after orders went through the pipeline, in
//! a format `promtool check metrics` finds no problem with, from the API's process and
//! from a process without the API; with tokens, only to an operator's token; and a
//! stopped group's lag.

use std::process::Stdio;

use serde_json::json;
use tokio::io::AsyncWriteExt;

use crate::support::*;

/// The process's metrics, in the text exposition format.
async fn scrape(api: &Api) -> Res<String> {
    let resp = api
        .client
        .get(format!("{}/metrics", api.base))
        .send()
        .await?;
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = resp.text().await?;
    assert_eq!(status, 200, "{text}");
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    Ok(text)
}

/// The sum of the samples of `name` whose labels include every one of `labels`
/// (`key="value"`); `None` when there is none.
fn sample(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    let values: Vec<f64> = text
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
            (metric == name && labels.iter().all(|l| rest.contains(l)))
                .then(|| value.parse().ok())
                .flatten()
        })
        .collect();
    (!values.is_empty()).then(|| values.iter().sum())
}

/// Runs `promtool check metrics` on `text`: it must find no problem.
async fn promtool_finds_no_problem(text: &str) -> TestResult {
    let mut promtool = tokio::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            format!("cannot run promtool ({e}): install it (Debian: apt-get install prometheus)")
        })?;
    let mut stdin = promtool.stdin.take().ok_or("no stdin")?;
    stdin.write_all(text.as_bytes()).await?;
    drop(stdin);
    let out = promtool.wait_with_output().await?;
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "promtool: {said}"
    );
    Ok(())
}

#[tokio::test]
async fn metrics_count_the_orders_placed_and_shipped_and_pass_promtool() -> TestResult {
    let deployment = Deployment::new()?;
    let app = deployment.start("run", &[]).await?;
    let api = Api::of(&deployment, &app);
    api.set_stock("SKU-1", 10).await?;
    let placed = 3;
    let mut orders = Vec::new();
    for customer in ["c-1", "c-2", "c-3"] {
        orders.push(api.place(customer, json!([item("SKU-1", 1, 5.0)])).await?.0);
    }
    for order_id in &orders {
        api.wait_status(order_id, "SHIPPED").await?;
    }
    // The lag gauges appear once the sampler has seen the groups.
    let text = eventually(|| async {
        let text = scrape(&api).await?;
        let sampled = sample(
            &text,
            "orderflow_consumer_lag_records",
            &[r#"group="payment""#],
        );
        Ok(sampled.is_some().then_some(text))
    })
    .await?;

    let value = |name: &str, labels: &[&str]| {
        sample(&text, name, labels).ok_or_else(|| format!("no {name} {labels:?} in:\n{text}"))
    };
    assert_eq!(
        value("orderflow_orders_accepted_total", &[])?,
        placed as f64
    );
    let shipped = [r#"status="SHIPPED""#];
    assert_eq!(
        value("orderflow_orders_finished_total", &shipped)?,
        placed as f64
    );
    let created = [r#"type="OrderCreated""#];
    assert_eq!(
        value("orderflow_events_appended_total", &created)?,
        placed as f64
    );
    // A histogram with buckets, not a summary: every order shipped is counted.
    let end_to_end = "orderflow_order_accepted_to_shipped_seconds";
    assert_eq!(value(&format!("{end_to_end}_count"), &[])?, placed as f64);
    assert_eq!(
        value(&format!("{end_to_end}_bucket"), &[r#"le="+Inf""#])?,
        placed as f64
    );
    assert!(value("orderflow_event_store_append_seconds_count", &[])? >= placed as f64);
    assert!(value("orderflow_event_store_group_commit_writes_count", &[])? >= 1.0);
    let payment = [r#"group="payment""#, r#"topic="orders""#];
    assert!(value("orderflow_consumer_records_handled_total", &payment)? >= placed as f64);
    assert!(value("orderflow_consumer_handler_seconds_count", &payment)? >= placed as f64);
    assert!(value("orderflow_consumer_lag_seconds", &payment)? >= 0.0);
    let relay = [r#"reader="relay""#];
    assert!(value("orderflow_store_reader_lag_events", &relay)? >= 0.0);
    assert!(value("orderflow_store_reader_lag_seconds", &relay)? >= 0.0);
    let placing = [r#"method="POST""#, r#"route="/orders""#, r#"status="202""#];
    assert_eq!(
        value("orderflow_http_requests_total", &placing)?,
        placed as f64
    );
    let reading = [r#"route="/orders/{order_id}""#];
    assert!(value("orderflow_http_request_duration_seconds_count", &reading)? >= 1.0);
    assert!(
        !text.contains(&format!("route=\"/orders/{}\"", orders[0])),
        "a raw path as a route label"
    );
    promtool_finds_no_problem(&text).await
}

#[tokio::test]
async fn a_process_without_the_api_serves_health_and_metrics_on_its_http_address() -> TestResult {
    let deployment = Deployment::new()?;
    let payment = deployment.start("payment", &[]).await?;
    let ops = Api::of(&deployment, &payment);
    let (status, health) = ops.get("/health").await?;
    assert_eq!((status, &health["status"]), (200, &json!("ok")), "{health}");
    let text = eventually(|| async {
        let text = scrape(&ops).await?;
        let sampled = sample(&text, "orderflow_store_reader_lag_events", &[]);
        Ok(sampled.is_some().then_some(text))
    })
    .await?;
    let (status, _) = ops.get("/orders/some-order").await?;
    assert_eq!(status, 404, "the API is not served here");
    promtool_finds_no_problem(&text).await
}

#[tokio::test]
async fn with_tokens_metrics_need_an_operator_token_as_a_scraper_sends_it() -> TestResult {
    const SHOP: &str = "shop-metrics-token-0123456789";
    const OPERATOR: &str = "operator-metrics-token-0123456789";
    let deployment = Deployment::new()?;
    let tokens = deployment.dir.path().join("tokens");
    std::fs::write(&tokens, format!("shop {SHOP}\noperator {OPERATOR}\n"))?;
    let tokens = tokens.to_str().ok_or("temp path is not UTF-8")?;
    let payment = deployment.start("payment", &["--tokens", tokens]).await?;
    let ops = Api::of(&deployment, &payment);
    let status = |path: &'static str, token: Option<&'static str>| {
        let ops = ops.clone();
        async move {
            let mut request = ops.client.get(format!("{}{path}", ops.base));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            Res::Ok(request.send().await?.status().as_u16())
        }
    };
    assert_eq!(status("/metrics", None).await?, 401);
    assert_eq!(status("/metrics", Some(SHOP)).await?, 403);
    assert_eq!(status("/metrics", Some(OPERATOR)).await?, 200);
    assert_eq!(status("/health", None).await?, 200, "probes need no token");
    Ok(())
}

#[tokio::test]
async fn a_stopped_group_shows_its_lag_in_records_and_in_seconds() -> TestResult {
    a_stopped_group_shows_its_lag(Deployment::new()?).await
}

#[tokio::test]
async fn a_stopped_group_shows_its_lag_in_records_and_in_seconds_on_kafka() -> TestResult {
    a_stopped_group_shows_its_lag(Deployment::on_kafka(&kafka_url())?).await
}

async fn a_stopped_group_shows_its_lag(deployment: Deployment) -> TestResult {
    let all_but_payment = "api,orders,inventory,shipping,notification,projections,relay";
    let app = deployment.start(all_but_payment, &[]).await?;
    let mut payment = deployment.start("payment", &[]).await?;
    let api = Api::of(&deployment, &app);
    api.set_stock("SKU-1", 10).await?;
    // The payment group has committed offsets on the bus; then its only process stops.
    let (first, _) = api.place("c-1", json!([item("SKU-1", 1, 5.0)])).await?;
    api.wait_status(&first, "SHIPPED").await?;
    payment.terminate().await?;
    api.place("c-2", json!([item("SKU-1", 1, 5.0)])).await?;
    let payment = [r#"group="payment""#, r#"topic="orders""#];
    // Records and seconds both, once the sampler has looked after the order was placed.
    // At least the second order: on Kafka, a commit the stopping member did not get in
    // leaves the first one counted too.
    eventually(|| async {
        let text = scrape(&api).await?;
        let records = sample(&text, "orderflow_consumer_lag_records", &payment);
        let seconds = sample(&text, "orderflow_consumer_lag_seconds", &payment);
        Ok(match (records, seconds) {
            (Some(r), Some(s)) if r >= 1.0 && s > 0.0 => Some(()),
            _ => None,
        })
    })
    .await
}
