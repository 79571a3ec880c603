//! The operator console's pages, rendered over the same state as the API: the
//! pipeline, the order list with its filters, one order's story with its slider, and
//! the console behind the operator role.

use chrono::Utc;
use orderflow_core::read_model::ReadModel;
use orderflow_core::store::ExpectedVersion;
use orderflow_domain::events::OrderConfirmed;
use orderflow_domain::{Event, OrderId, streams};
use orderflow_services::context::Cause;

use crate::support::*;

#[tokio::test]
async fn the_pipeline_page_shows_every_stage_and_group_red_without_a_live_member() -> TestResult {
    let app = spawn_app().await?;
    let (status, _, html) = app.page("/ui").await?;
    assert_eq!(status, 200, "{html}");
    for step in ["payment", "stock", "confirmation", "shipment", "email"] {
        assert!(
            html.contains(&format!("data-step=\"{step}\"")),
            "{step}: {html}"
        );
    }
    // No service runs beside this API: every group is shown in trouble.
    assert!(
        html.contains("<tr class=\"bad\" data-group=\"payment\">"),
        "{html}"
    );
    assert!(
        html.contains("http-equiv=\"refresh\""),
        "it refreshes itself"
    );
    Ok(())
}

#[tokio::test]
async fn the_order_list_filters_and_an_id_opens_the_order() -> TestResult {
    let app = spawn_app().await?;
    let placed = app.place_with_key("k-1", &order()).await?;
    let order_id = placed.body["orderId"]
        .as_str()
        .ok_or("no orderId")?
        .to_owned();
    let position = placed.body["position"].as_u64().ok_or("no position")?;
    // The order as the projections leave it.
    let mut events = Vec::new();
    for (stored, event) in app.state().recorder.history(&order_id).await? {
        events.push((stored, event?));
    }
    let mut summaries = std::collections::HashMap::new();
    for (stored, event) in &events {
        orderflow_services::projections::project_order(&mut summaries, stored, event);
    }
    app.read_model()
        .apply(orderflow_core::read_model::ReadModelBatch {
            forgotten: Vec::new(),
            orders: summaries.into_values().collect(),
            stock: vec![],
            position,
        })
        .await?;
    let (status, _, html) = app.page("/ui/orders?status=PENDING").await?;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains(&format!("href=\"/ui/orders/{order_id}\"")),
        "{html}"
    );
    let (_, _, none) = app.page("/ui/orders?status=SHIPPED").await?;
    assert!(none.contains("No order matches."), "{none}");
    let (status, location, _) = app.page(&format!("/ui/orders?id={order_id}")).await?;
    assert!(matches!(status, 303 | 302 | 307), "{status}");
    assert_eq!(location, Some(format!("/ui/orders/{order_id}")));
    let (status, _, bad) = app.page("/ui/orders?status=LOST").await?;
    assert_eq!(status, 400, "{bad}");
    assert!(bad.contains("is not a status"), "{bad}");
    Ok(())
}

#[tokio::test]
async fn an_orders_story_has_its_timeline_and_the_slider_shows_it_as_it_was() -> TestResult {
    let app = spawn_app().await?;
    let placed = app.place_with_key("k-1", &order()).await?;
    let order_id = placed.body["orderId"]
        .as_str()
        .ok_or("no orderId")?
        .to_owned();
    let id = OrderId::parse(order_id.clone())?;
    let confirmed: Event = OrderConfirmed {
        order_id: id.clone(),
    }
    .into();
    app.state()
        .recorder
        .append(
            &streams::order(&id),
            ExpectedVersion::Exact(1),
            &[confirmed],
            Cause {
                causation_id: None,
                actor: "orders",
                now: Utc::now(),
            },
        )
        .await?;

    let (status, _, now) = app.page(&format!("/ui/orders/{order_id}")).await?;
    assert_eq!(status, 200, "{now}");
    assert!(
        now.contains("<dd class=\"status\" id=\"now-status\">CONFIRMED</dd>"),
        "{now}"
    );
    assert!(
        now.contains("data-lane=\"api\" data-type=\"OrderCreated\""),
        "{now}"
    );
    assert!(
        now.contains("data-lane=\"orders\" data-type=\"OrderConfirmed\""),
        "{now}"
    );
    // The slider moved to the first step: the order as it was then.
    let (_, _, then) = app.page(&format!("/ui/orders/{order_id}?step=1")).await?;
    assert!(
        then.contains("<dd class=\"status\" id=\"then-status\">PENDING</dd>"),
        "{then}"
    );
    assert!(then.contains("type=\"range\""), "{then}");

    let (status, _, missing) = app.page("/ui/orders/order-nowhere").await?;
    assert_eq!(status, 404, "{missing}");
    Ok(())
}

/// `method path` with `headers`: the status, the headers, the body as text.
async fn with_headers(
    app: &TestApp,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Res<(u16, axum::http::HeaderMap, String)> {
    use tower::ServiceExt;
    let mut request = axum::http::Request::builder().method(method).uri(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = app
        .router()
        .clone()
        .oneshot(request.body(axum::body::Body::from(body.to_owned()))?)
        .await?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
    Ok((status, headers, String::from_utf8(bytes.to_vec())?))
}

#[tokio::test]
async fn with_tokens_the_console_signs_an_operator_in_with_a_cookie() -> TestResult {
    let app = TestApp::builder().with_tokens()?.spawn().await?;
    // A page asked without a token leads to the sign-in page.
    let (status, location, _) = app.page("/ui/orders").await?;
    assert_eq!(status, 303);
    assert_eq!(location.as_deref(), Some("/ui/login"));
    let (status, _, form) = app.page("/ui/login").await?;
    assert_eq!(status, 200, "{form}");
    assert!(form.contains("type=\"password\""), "{form}");

    let json = [("content-type", "application/json")];
    let body = format!("{{\"token\": \"{OPERATOR}\"}}");
    let (status, headers, _) = with_headers(&app, "POST", "/ui/login", &json, &body).await?;
    assert_eq!(status, 204);
    let cookie = headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .ok_or("no cookie")?
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let signed_in = format!("orderflow_token={OPERATOR}");
    let (status, _, page) =
        with_headers(&app, "GET", "/ui/orders", &[("cookie", &signed_in)], "").await?;
    assert_eq!(status, 200, "{page}");
    // The console's buttons call the API with the same cookie.
    let (status, _, _) = with_headers(&app, "GET", "/dlq", &[("cookie", &signed_in)], "").await?;
    assert_eq!(status, 200);
    // A shop's token is known, but not enough for the console.
    let shop = format!("orderflow_token={SHOP}");
    let (status, _, _) = with_headers(&app, "GET", "/ui", &[("cookie", &shop)], "").await?;
    assert_eq!(status, 403);

    let (status, headers, _) = with_headers(&app, "POST", "/ui/logout", &json, "").await?;
    assert_eq!(status, 204);
    let cleared = headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    Ok(())
}

#[tokio::test]
async fn the_event_browser_shows_the_log_decoded_and_filtered_by_type() -> TestResult {
    let app = spawn_app().await?;
    app.place_with_key("k-1", &order()).await?;
    app.place_with_key("k-2", &order()).await?;
    let (status, _, html) = app.page("/ui/events?type=OrderCreated").await?;
    assert_eq!(status, 200, "{html}");
    assert_eq!(
        html.matches("data-type=\"OrderCreated\"").count(),
        2,
        "{html}"
    );
    assert!(html.contains("customerId"), "decoded: {html}");
    let (_, _, later) = app.page("/ui/events?after=2").await?;
    assert!(
        later.contains("No event matches after position 2."),
        "{later}"
    );
    let (status, _, bad) = app.page("/ui/events?from=noon").await?;
    assert_eq!(status, 400, "{bad}");
    Ok(())
}

#[tokio::test]
async fn the_consumers_page_lists_each_group_with_its_members_and_partitions() -> TestResult {
    let app = spawn_app().await?;
    let _member = app
        .state()
        .bus
        .subscribe(
            "payment",
            &["orders"],
            orderflow_core::bus::StartFrom::Earliest,
        )
        .await?;
    let (status, _, html) = app.page("/ui/consumers").await?;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("data-group=\"payment\""), "{html}");
    assert!(html.contains("1 live member(s)"), "{html}");
    assert!(
        html.contains("<details>"),
        "partitions behind a click: {html}"
    );
    assert!(
        html.contains("class=\"filters replay\" data-group=\"payment\""),
        "a replay form: {html}"
    );
    Ok(())
}

#[tokio::test]
async fn the_dead_letters_page_shows_a_parked_record_with_why_and_its_actions() -> TestResult {
    let app = spawn_app().await?;
    let (_, _, empty) = app.page("/ui/dlq").await?;
    assert!(empty.contains("Nothing is parked."), "{empty}");
    let id = crate::dlq::park(&app, "o-1", &[0, 0, 0, 0, 99]).await?;
    let (status, _, html) = app.page("/ui/dlq").await?;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains(&format!("data-id=\"{id}\"")), "{html}");
    assert!(html.contains("unknown schema id 99"), "the reason: {html}");
    assert!(html.contains("0000000063"), "the bytes as hex: {html}");
    assert!(html.contains("data-action=\"replay\""), "{html}");
    assert!(html.contains("data-action=\"discard\""), "{html}");
    Ok(())
}

#[tokio::test]
async fn the_schemas_page_lists_subjects_and_diffs_two_versions() -> TestResult {
    let app = TestApp::builder().with_registry().spawn().await?;
    let registry = app.state().registry.clone().ok_or("no embedded registry")?;
    let (status, _, list) = app.page("/ui/schemas").await?;
    assert_eq!(status, 200, "{list}");
    let mut evolved = None;
    for subject in registry.subjects(false).await? {
        assert!(
            list.contains(&format!("data-subject=\"{subject}\"")),
            "{subject}: {list}"
        );
        if registry.versions(&subject, false).await?.len() >= 2 {
            evolved = Some(subject);
        }
    }
    let subject = evolved.ok_or("no subject with two versions")?;
    let (status, _, diff) = app
        .page(&format!("/ui/schemas?subject={subject}&from=1&to=2"))
        .await?;
    assert_eq!(status, 200, "{diff}");
    assert!(diff.contains("<ins>+ "), "what version 2 added: {diff}");
    assert!(diff.contains("id=\"check\""), "{diff}");
    let (status, _, _) = app.page("/ui/schemas?subject=nowhere-value").await?;
    assert_eq!(status, 404);
    Ok(())
}

#[tokio::test]
async fn the_pipeline_page_is_kept_up_to_date_by_server_sent_events() -> TestResult {
    use axum::body::Body;
    use futures::StreamExt;
    use tower::ServiceExt;

    let app = spawn_app().await?;
    let request = axum::http::Request::builder()
        .uri("/ui/pipeline/updates")
        .body(Body::empty())?;
    let response = app.router().clone().oneshot(request).await?;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers().get("content-type").map(|v| v.as_bytes()),
        Some(&b"text/event-stream"[..])
    );
    let mut stream = response.into_body().into_data_stream();
    let mut seen = String::new();
    while !(seen.contains("event: pipeline") && seen.contains("event: sample")) {
        let chunk = stream.next().await.ok_or("the stream ended")??;
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("data-step=\"payment\""), "the tables: {seen}");
    assert!(seen.contains("\"waiting\":0"), "the sample: {seen}");
    // The process stops: the stream ends, so the server's shutdown is not held up.
    app.state().shutdown.cancel();
    while let Some(chunk) = stream.next().await {
        chunk?;
    }
    Ok(())
}
