//! A step given up on shows on the order: `GET /orders/{id}` says which and why, and the
//! order's history holds the `StepFailed` event.

use std::time::Duration;

use orderflow_services::consumer::{Delivery, Origin, Parked};
use orderflow_services::handlers::{payment, step_failed};
use orderflow_services::projections;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::support::*;

const REASON: &str = "payment provider refused the request: card blocked";

/// Places an order and records, as the payment service does when it sets the order's
/// record aside, that its payment was given up on.
async fn an_order_whose_payment_was_given_up_on(app: &TestApp) -> Res<String> {
    let order_id = app.place_raw(order().to_string()).await?.body["orderId"]
        .as_str()
        .ok_or("no orderId")?
        .to_owned();
    let recorder = &app.state().recorder;
    let history = recorder.history(&order_id).await?;
    let (stored, created) = history.into_iter().next().ok_or("no OrderCreated")?;
    let delivery = Delivery {
        event_id: Some(stored.event_id),
        occurred_at: stored.occurred_at,
        origin: Origin {
            topic: "orders".into(),
            partition: 5,
            offset: 17,
        },
    };
    let parked = Parked {
        event: &created?,
        delivery: &delivery,
        reason: REASON,
    };
    step_failed::record(recorder, payment::GROUP, &parked).await?;
    Ok(order_id)
}

#[tokio::test]
async fn get_order_says_which_step_was_given_up_on_and_why() -> TestResult {
    let app = spawn_app().await?;
    let order_id = an_order_whose_payment_was_given_up_on(&app).await?;
    let state = app.state();
    let shutdown = CancellationToken::new();
    let projecting = tokio::spawn(projections::run(
        state.recorder.store.clone(),
        state.recorder.codec.clone(),
        state.read_model.clone(),
        shutdown.clone(),
    ));
    let head = app.head().await?;
    let order = app
        .get(&format!("/orders/{order_id}?min_position={head}"))
        .await?;
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(30), projecting).await???;

    assert_eq!(order.status, 200, "{:?}", order.body);
    assert_eq!(order.body["status"], "PENDING");
    let failures = order.body["failures"].as_array().ok_or("no failures")?;
    assert_eq!(failures.len(), 1, "{failures:?}");
    let failure = failures[0].as_str().unwrap_or_default();
    assert!(
        failure.contains("payment") && failure.contains(REASON),
        "{failure}"
    );
    assert!(
        failure.contains("orders partition 5 offset 17"),
        "{failure}"
    );
    Ok(())
}

#[tokio::test]
async fn the_order_history_holds_the_step_given_up_on() -> TestResult {
    let app = spawn_app().await?;
    let order_id = an_order_whose_payment_was_given_up_on(&app).await?;
    let history = app.get(&format!("/orders/{order_id}/history")).await?;
    assert_eq!(history.status, 200, "{:?}", history.body);
    let events = history.body["events"].as_array().ok_or("no events")?;
    let failed = events
        .iter()
        .find(|e| e["type"] == "StepFailed")
        .ok_or("no StepFailed in the history")?;
    assert_eq!(failed["stream"], format!("steps-{order_id}"));
    let data = &failed["data"];
    assert_eq!(
        (&data["step"], &data["eventType"], &data["reason"]),
        (&json!("payment"), &json!("OrderCreated"), &json!(REASON))
    );
    assert_eq!(
        (&data["topic"], &data["partition"], &data["offset"]),
        (&json!("orders"), &json!(5), &json!(17))
    );
    Ok(())
}
