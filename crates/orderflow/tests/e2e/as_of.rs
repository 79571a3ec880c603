//! Temporal queries beyond one order: a customer's orders, a SKU's stock and analytics
//! as they were at a past moment, answered from the event store.

use serde_json::{Value, json};

use crate::support::*;

/// Waits until analytics counts `orders` orders, all shipped, and nothing lags.
async fn analytics_settled(api: &Api, orders: u64) -> Res<Value> {
    eventually(|| async {
        let (_, s) = api.get("/analytics").await?;
        let (_, consumers) = api.get("/consumers").await?;
        let idle = consumers["groups"]
            .as_array()
            .is_some_and(|gs| gs.iter().all(|g| g["lag"].as_u64() == Some(0)));
        Ok((s["ordersByStatus"] == json!({ "SHIPPED": orders }) && idle).then_some(s))
    })
    .await
}

/// An `as_of` query parameter for `at`.
fn at(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339().replace('+', "%2B")
}

/// The ids and statuses of a customer's orders answer.
fn statuses(answer: &Value) -> Vec<(String, String)> {
    let mut out: Vec<_> = answer["orders"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| {
            let s = |k: &str| o[k].as_str().unwrap_or_default().to_owned();
            (s("orderId"), s("status"))
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn stock_a_customers_orders_and_analytics_answer_as_they_were_at_a_moment() -> TestResult {
    let deployment = Deployment::new()?;
    let app = deployment.start("run", &[]).await?;
    let api = Api::of(&deployment, &app);
    let before_anything = chrono::Utc::now();
    api.set_stock("T-1", 5).await?;
    for _ in 0..2 {
        let (id, _) = api.place("c-1", json!([item("T-1", 1, 4.0)])).await?;
        api.wait_status(&id, "SHIPPED").await?;
    }
    let analytics_then = analytics_settled(&api, 2).await?;
    let (_, stock_then) = api.get("/inventory/T-1").await?;
    let (_, orders_then) = api.get("/customers/c-1/orders").await?;
    let then = chrono::Utc::now();

    // Later: another order, and new stock.
    let (id, _) = api.place("c-1", json!([item("T-1", 2, 4.0)])).await?;
    api.wait_status(&id, "SHIPPED").await?;
    api.set_stock("T-1", 50).await?;
    analytics_settled(&api, 3).await?;

    let (status, analytics) = api.get(&format!("/analytics?as_of={}", at(then))).await?;
    assert_eq!(status, 200, "{analytics}");
    assert_eq!(
        analytics["ordersByStatus"],
        analytics_then["ordersByStatus"]
    );
    assert_eq!(
        analytics["revenueCentsByDay"],
        analytics_then["revenueCentsByDay"]
    );
    assert!(analytics["position"].as_u64() > Some(0));

    let (status, stock) = api
        .get(&format!("/inventory/T-1?as_of={}", at(then)))
        .await?;
    assert_eq!(status, 200, "{stock}");
    assert_eq!(
        (&stock["available"], &stock["reserved"]),
        (&stock_then["available"], &stock_then["reserved"])
    );
    assert_eq!(stock["available"], 3);

    let (status, orders) = api
        .get(&format!("/customers/c-1/orders?as_of={}", at(then)))
        .await?;
    assert_eq!(status, 200, "{orders}");
    assert_eq!(statuses(&orders), statuses(&orders_then));
    assert_eq!(statuses(&orders).len(), 2);

    // Before anything happened: nothing counted, no stock, no orders.
    let early = at(before_anything);
    let (_, analytics) = api.get(&format!("/analytics?as_of={early}")).await?;
    assert_eq!(analytics["ordersByStatus"], json!({}));
    let (status, _) = api.get(&format!("/inventory/T-1?as_of={early}")).await?;
    assert_eq!(status, 404);
    let (_, orders) = api
        .get(&format!("/customers/c-1/orders?as_of={early}"))
        .await?;
    assert_eq!(orders["orders"], json!([]));

    for path in ["/analytics", "/inventory/T-1", "/customers/c-1/orders"] {
        let (status, body) = api.get(&format!("{path}?as_of=yesterday")).await?;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(
            body["error"]
                .as_str()
                .unwrap_or_default()
                .contains("RFC 3339"),
            "{body}"
        );
    }
    Ok(())
}
