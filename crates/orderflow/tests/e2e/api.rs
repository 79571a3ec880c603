//! The HTTP contract: validation, idempotency, read-your-writes, temporal queries.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn bad_requests_get_a_4xx_naming_the_problem_and_write_nothing() -> TestResult {
    let deployment = Deployment::new()?;
    let app = deployment.start("api", &[]).await?;
    let api = Api::of(&deployment, &app);
    let head = api.head().await?;
    let cases: Vec<(Value, &str)> = vec![
        (json!({ "items": [item("A", 1, 1.0)] }), "customerId"),
        (
            json!({ "customerId": "c", "items": [] }),
            "at least one item",
        ),
        (
            json!({ "customerId": "c", "items": [item("A", 0, 1.0)] }),
            "items[0]: invalid quantity",
        ),
        (
            json!({ "customerId": "c", "items": [item("A", 1, -1.0)] }),
            "must not be negative",
        ),
        (
            json!({ "customerId": "c", "items": [item("A", 1, 1.0)], "coupon": "x" }),
            "unknown field `coupon`",
        ),
        (
            json!({ "customerId": "c", "items": [{ "sku": "A", "quantity": 1 }] }),
            "unitPrice",
        ),
        (
            json!({ "customerId": "", "items": [item("A", 1, 1.0)] }),
            "invalid customerId",
        ),
        (
            json!({ "customerId": "c", "items": [item("A", 1, 1.0)], "currency": "euro" }),
            "invalid currency",
        ),
    ];
    for (body, needle) in cases {
        let (status, resp) = api
            .send(Method::POST, "/orders", Some(body.clone()))
            .await?;
        assert!(status == 400 || status == 422, "{body}: {status}");
        let error = resp["error"].as_str().unwrap_or_default();
        assert!(
            error.contains(needle),
            "{body}: {error:?} should mention {needle:?}"
        );
    }
    let resp = api
        .client
        .post(format!("{}/orders", api.base))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await?;
    assert_eq!(resp.status().as_u16(), 400);
    assert!(resp.json::<Value>().await?["error"].is_string());
    assert_eq!(api.head().await?, head, "nothing was written");
    Ok(())
}

#[tokio::test]
async fn a_retried_request_with_the_same_idempotency_key_returns_the_same_order() -> TestResult {
    let deployment = Deployment::new()?;
    let app = deployment.start("api", &[]).await?;
    let api = Api::of(&deployment, &app);
    let body = json!({ "customerId": "c-1", "items": [item("A", 1, 2.5)] });
    let post = |key: &'static str, body: Value| {
        let api = api.clone();
        async move {
            let resp = api
                .client
                .post(format!("{}/orders", api.base))
                .header("Idempotency-Key", key)
                .json(&body)
                .send()
                .await?;
            Ok::<_, reqwest::Error>((resp.status().as_u16(), resp.json::<Value>().await?))
        }
    };
    let (s1, first) = post("k-1", body.clone()).await?;
    let (s2, second) = post("k-1", body.clone()).await?;
    assert_eq!((s1, s2), (202, 202));
    assert_eq!(first["orderId"], second["orderId"]);
    assert_eq!(first["position"], second["position"]);
    let (_, other) = post("k-2", body.clone()).await?;
    assert_ne!(other["orderId"], first["orderId"]);
    let (status, misuse) = post(
        "k-1",
        json!({ "customerId": "c-1", "items": [item("B", 3, 1.0)] }),
    )
    .await?;
    assert_eq!(status, 422, "{misuse}");
    let order_id = first["orderId"].as_str().ok_or("no id")?;
    assert_eq!(api.history_types(order_id).await?, ["OrderCreated"]);
    Ok(())
}

#[tokio::test]
async fn a_client_reads_its_own_write_by_waiting_for_its_position() -> TestResult {
    let deployment = Deployment::new()?;
    let app = deployment.start("api,projections", &[]).await?;
    let api = Api::of(&deployment, &app);
    for _ in 0..5 {
        let (order_id, position) = api.place("c-ryw", json!([item("A", 1, 1.0)])).await?;
        let (status, order) = api
            .get(&format!("/orders/{order_id}?min_position={position}"))
            .await?;
        assert_eq!(status, 200, "{order}");
        assert_eq!(order["status"], "PENDING");
        assert!(order["position"].as_u64() >= Some(position));
        assert_eq!(order["caughtUp"], true);
    }
    let (_, list) = api
        .get(&format!(
            "/customers/c-ryw/orders?min_position={}",
            api.head().await?
        ))
        .await?;
    assert_eq!(list["orders"].as_array().map(Vec::len), Some(5));
    Ok(())
}

#[tokio::test]
async fn an_order_can_be_read_as_it_was_at_a_past_moment() -> TestResult {
    let deployment = Deployment::new()?;
    let app = deployment.start("run", &[]).await?;
    let api = Api::of(&deployment, &app);
    api.set_stock("T-1", 5).await?;
    let (order_id, _) = api.place("c-t", json!([item("T-1", 1, 3.0)])).await?;
    api.wait_status(&order_id, "SHIPPED").await?;
    let history = api.history(&order_id).await?;
    let created_at = history[0]["occurredAt"]
        .as_str()
        .ok_or("no time")?
        .to_owned();
    assert!(
        history
            .iter()
            .all(|e| e["eventId"].is_string() && e["position"].is_u64())
    );
    assert!(
        history.iter().skip(1).all(|e| e["causationId"].is_string()),
        "{history:?}"
    );
    assert_eq!(history[0]["data"]["totalAmount"], 3.0);

    let at = |t: &str| format!("/orders/{order_id}?as_of={}", t.replace('+', "%2B"));
    let (status, then) = api.get(&at(&created_at)).await?;
    assert_eq!(status, 200, "{then}");
    assert_eq!(then["status"], "PENDING");
    let (_, now) = api.get(&at(&chrono::Utc::now().to_rfc3339())).await?;
    assert_eq!(now["status"], "SHIPPED");
    let (status, _) = api.get(&at("2000-01-01T00:00:00Z")).await?;
    assert_eq!(status, 404);
    let (status, bad) = api.get(&at("yesterday")).await?;
    assert_eq!(status, 400, "{bad}");
    Ok(())
}

#[tokio::test]
async fn a_pending_order_can_be_cancelled_but_a_shipped_one_cannot() -> TestResult {
    let deployment = Deployment::new()?;
    // Only the API and the read model: the order stays pending.
    let api_only = deployment.start("api,projections", &[]).await?;
    let api = Api::of(&deployment, &api_only);
    let (pending, _) = api.place("c-x", json!([item("C-1", 1, 1.0)])).await?;
    let (status, body) = api
        .send(Method::POST, &format!("/orders/{pending}/cancel"), None)
        .await?;
    assert_eq!(status, 202, "{body}");
    let order = api.wait_status(&pending, "CANCELLED").await?;
    assert_eq!(order["cancelReason"], "cancelled by the customer");
    let (status, _) = api.send(Method::POST, "/orders/nope/cancel", None).await?;
    assert_eq!(status, 404);
    drop(api_only);

    let app = deployment.start("run", &[]).await?;
    let api = Api::of(&deployment, &app);
    api.set_stock("C-1", 3).await?;
    let (shipped, _) = api.place("c-x", json!([item("C-1", 1, 1.0)])).await?;
    api.wait_status(&shipped, "SHIPPED").await?;
    let (status, body) = api
        .send(Method::POST, &format!("/orders/{shipped}/cancel"), None)
        .await?;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("shipped"))
    );
    Ok(())
}

/// Each group's offsets from `GET /consumers`: (group, topic, partition) to (committed,
/// end).
type Offsets = std::collections::BTreeMap<(String, String, u64), (Option<u64>, u64)>;

fn offsets(consumers: &Value) -> Res<Offsets> {
    let mut offsets = Offsets::new();
    for group in consumers["groups"].as_array().ok_or("no groups")? {
        let name = group["group"].as_str().ok_or("a group without a name")?;
        for p in group["partitions"].as_array().ok_or("no partitions")? {
            let topic = p["topic"].as_str().ok_or("no topic")?;
            let partition = p["partition"].as_u64().ok_or("no partition")?;
            let end = p["end"].as_u64().ok_or("no end")?;
            offsets.insert(
                (name.to_owned(), topic.to_owned(), partition),
                (p["committed"].as_u64(), end),
            );
        }
    }
    Ok(offsets)
}

/// The records on `topic`, as the groups reading it see its ends.
fn records_on(offsets: &Offsets, topic: &str) -> u64 {
    let mut ends = std::collections::BTreeMap::new();
    for ((_, t, partition), (_, end)) in offsets {
        if t == topic {
            ends.insert(*partition, *end);
        }
    }
    ends.values().sum()
}

/// A store reader's field from `GET /consumers`.
fn store_reader(consumers: &Value, name: &str, field: &str) -> Option<u64> {
    consumers["storeReaders"]
        .as_array()?
        .iter()
        .find(|r| r["name"] == name)?[field]
        .as_u64()
}

#[tokio::test]
async fn consumers_and_health_report_positions_and_lag() -> TestResult {
    let deployment = Deployment::new()?;
    let mut app = deployment.start("run", &[]).await?;
    let api = Api::of(&deployment, &app);
    api.set_stock("L-1", 5).await?;
    let (order_id, _) = api.place("c-l", json!([item("L-1", 1, 1.0)])).await?;
    api.wait_status(&order_id, "SHIPPED").await?;
    let (status, health) = api.get("/health").await?;
    assert_eq!((status, &health["status"]), (200, &json!("ok")));
    let consumers = eventually(|| async {
        let (_, c) = api.get("/consumers").await?;
        let groups = c["groups"].as_array().cloned().unwrap_or_default();
        let all_caught_up = groups.len() == 6 && groups.iter().all(|g| g["lag"] == 0);
        // And the store's readers too: nothing is left to publish or to project.
        let readers_caught_up = ["relay", "projections"]
            .iter()
            .all(|r| store_reader(&c, r, "lag") == Some(0));
        Ok((all_caught_up && readers_caught_up).then_some(c))
    })
    .await?;
    let names: Vec<&str> = consumers["groups"]
        .as_array()
        .ok_or("groups")?
        .iter()
        .filter_map(|g| g["group"].as_str())
        .collect();
    for group in [
        "analytics",
        "inventory",
        "notification",
        "orders",
        "payment",
        "shipping",
    ] {
        assert!(names.contains(&group), "{names:?}");
    }
    assert_eq!(consumers["storeReaders"][0]["name"], "relay");
    // Caught up, every group has committed the end of every partition holding records,
    // and every group has read something: one order went through every topic.
    let caught_up = offsets(&consumers)?;
    for ((group, topic, partition), (committed, end)) in &caught_up {
        if *end > 0 {
            assert_eq!(committed, &Some(*end), "{group} on {topic}/{partition}");
        }
    }
    for group in &names {
        let read: u64 = caught_up
            .iter()
            .filter(|((g, _, _), _)| g == group)
            .filter_map(|(_, (committed, _))| *committed)
            .sum();
        assert!(read > 0, "{group} committed nothing: {consumers}");
    }
    let projected = store_reader(&consumers, "projections", "position").ok_or("projections")?;
    app.terminate().await?;

    // With every consumer stopped, orders are accepted and the relay publishes them.
    let publisher = deployment.start("api,relay", &[]).await?;
    let api = Api::of(&deployment, &publisher);
    let placed = 3;
    for i in 0..placed {
        api.place(&format!("c-l{i}"), json!([item("L-1", 1, 1.0)]))
            .await?;
    }
    let orders_before = records_on(&caught_up, "orders");
    let stopped = eventually(|| async {
        let (_, c) = api.get("/consumers").await?;
        let published = records_on(&offsets(&c)?, "orders") == orders_before + placed;
        let relayed = store_reader(&c, "relay", "lag") == Some(0);
        Ok((published && relayed).then_some(c))
    })
    .await?;
    // Nothing more was committed, and each group reading `orders` lags by exactly the
    // records published since; the others do not lag.
    let now = offsets(&stopped)?;
    let mut orders_readers = 0;
    for group in &names {
        let reads_orders = now.keys().any(|(g, t, _)| g == group && t == "orders");
        orders_readers += usize::from(reads_orders);
        let lag = stopped["groups"]
            .as_array()
            .and_then(|gs| gs.iter().find(|g| g["group"] == *group))
            .and_then(|g| g["lag"].as_u64());
        let expected = if reads_orders { placed } else { 0 };
        assert_eq!(lag, Some(expected), "{group}: {stopped}");
    }
    assert!(orders_readers > 0, "no group reads orders: {stopped}");
    for (key, (committed, _)) in &now {
        assert_eq!(
            Some(committed),
            caught_up.get(key).map(|(c, _)| c),
            "{key:?}"
        );
    }
    // The read model stopped where it was, and lags by the orders placed since.
    assert_eq!(
        store_reader(&stopped, "projections", "position"),
        Some(projected)
    );
    assert_eq!(store_reader(&stopped, "projections", "lag"), Some(placed));
    Ok(())
}

#[tokio::test]
async fn an_order_keeps_its_currency_and_shipping_address() -> TestResult {
    let deployment = Deployment::new()?;
    let app = deployment.start("api,projections", &[]).await?;
    let api = Api::of(&deployment, &app);
    let body = json!({
        "customerId": "c-v2",
        "items": [item("A", 1, 5.0)],
        "currency": "USD",
        "shippingAddress": "1 Main St, Springfield",
    });
    let (status, placed) = api.send(Method::POST, "/orders", Some(body)).await?;
    assert_eq!(status, 202, "{placed}");
    let id = placed["orderId"].as_str().ok_or("no id")?;
    let (_, order) = api
        .get(&format!("/orders/{id}?min_position={}", placed["position"]))
        .await?;
    assert_eq!(order["currency"], "USD");
    assert_eq!(order["shippingAddress"], "1 Main St, Springfield");
    let (plain, position) = api.place("c-v1", json!([item("A", 1, 5.0)])).await?;
    let (_, order) = api
        .get(&format!("/orders/{plain}?min_position={position}"))
        .await?;
    assert_eq!(order["currency"], "EUR");
    assert_eq!(order["shippingAddress"], Value::Null);
    Ok(())
}
