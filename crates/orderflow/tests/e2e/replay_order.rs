//! `orderflow replay-order`: an order's history replayed step by step from the event
//! store of a stopped deployment; and `orderflow verify`, the same history re-decided
//! (`replay_order/verify.rs`).

use serde_json::{Value, json};

use crate::support::*;

mod verify;

/// A stopped deployment whose store holds a shipped order and one cancelled for want
/// of stock, each with every step of the pipeline done; returns (shipped, cancelled).
pub async fn settled_orders(deployment: &Deployment) -> Res<(String, String)> {
    let mut app = deployment.start("run", &[]).await?;
    let api = Api::of(deployment, &app);
    api.set_stock("SKU-1", 10).await?;
    let (shipped, _) = api.place("c-1", json!([item("SKU-1", 2, 19.99)])).await?;
    let (cancelled, _) = api.place("c-2", json!([item("SKU-404", 1, 5.0)])).await?;
    for (order, last_steps) in [
        (&shipped, ["StockFulfilled", "NotificationSent"]),
        (&cancelled, ["OrderCancelled", "NotificationSent"]),
    ] {
        eventually(|| async {
            let types = api.history_types(order).await?;
            let emails = types.iter().filter(|t| *t == last_steps[1]).count();
            let paid_back = types
                .iter()
                .any(|t| t == "PaymentRefunded" || t == "PaymentSkipped");
            let done = types.iter().any(|t| t == last_steps[0])
                && emails == 2
                && (order == &shipped || paid_back);
            Ok(done.then_some(()))
        })
        .await?;
    }
    app.terminate().await?;
    Ok((shipped, cancelled))
}

#[tokio::test]
async fn replay_order_prints_every_step_of_an_order_with_the_state_it_left() -> TestResult {
    let deployment = Deployment::new()?;
    let (order, _) = settled_orders(&deployment).await?;

    let text = stdout(&deployment.command(&["replay-order", &order]).await?)?;
    let json: Value = serde_json::from_str(&stdout(
        &deployment
            .command(&["replay-order", &order, "--json"])
            .await?,
    )?)?;

    let headers: Vec<&str> = text.lines().filter(|l| l.starts_with('#')).collect();
    let steps = json.as_array().ok_or("not an array")?;
    assert_eq!(headers.len(), steps.len(), "{text}");
    assert!(
        headers[0].ends_with(&format!("order-{order} v1  OrderCreated")),
        "{text}"
    );
    for expected in [
        "PaymentReceived",
        "StockReserved",
        "OrderConfirmed",
        "ShipmentDispatched",
        "OrderShipped",
        "StockFulfilled",
    ] {
        assert!(
            headers.iter().any(|h| h.ends_with(expected)),
            "{expected} in {text}"
        );
    }
    // Positions rise: the order's streams interleaved in global order.
    let positions: Vec<u64> = steps
        .iter()
        .filter_map(|s| s["position"].as_u64())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    // Shipping it changed the order's status and tracking number, and nothing else.
    let shipped = steps
        .iter()
        .find(|s| s["type"] == "OrderShipped")
        .ok_or("no OrderShipped")?;
    let changed: Vec<&str> = shipped["state"]
        .as_array()
        .ok_or("no state")?
        .iter()
        .filter(|f| f["changed"] == true)
        .filter_map(|f| f["field"].as_str())
        .collect();
    assert_eq!(changed, ["status", "tracking_number"]);
    assert_eq!(shipped["actor"], "orders");
    assert!(shipped["causationId"].is_string(), "{shipped}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("  * status ") && l.ends_with(" SHIPPED")),
        "{text}"
    );
    assert!(!text.contains('\u{1b}'), "colour codes in a pipe");
    Ok(())
}

#[tokio::test]
async fn replay_order_at_a_time_stops_there() -> TestResult {
    let deployment = Deployment::new()?;
    let (order, _) = settled_orders(&deployment).await?;
    let all: Value = serde_json::from_str(&stdout(
        &deployment
            .command(&["replay-order", &order, "--json"])
            .await?,
    )?)?;
    let created_at = all[0]["occurredAt"].as_str().ok_or("no time")?;

    let first: Value = serde_json::from_str(&stdout(
        &deployment
            .command(&["replay-order", &order, "--json", "--at", created_at])
            .await?,
    )?)?;

    let types: Vec<&str> = first
        .as_array()
        .ok_or("not an array")?
        .iter()
        .filter_map(|s| s["type"].as_str())
        .collect();
    assert_eq!(types, ["OrderCreated"]);
    Ok(())
}

#[tokio::test]
async fn replay_order_of_an_order_that_does_not_exist_fails_saying_so() -> TestResult {
    let deployment = Deployment::new()?;
    // An event store with nothing about that order.
    deployment.start("api", &[]).await?.terminate().await?;

    let out = deployment
        .command(&["replay-order", "no-such-order"])
        .await?;

    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("no events about order no-such-order"),
        "{stderr}"
    );
    Ok(())
}
