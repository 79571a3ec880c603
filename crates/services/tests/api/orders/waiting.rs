//! `waitingFor` of `GET /orders/{id}`: the steps an order still misses, and for each
//! whether its consumer group is running, how far behind it is, and what it parked of
//! the order.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use orderflow_core::bus::{
    BusError, EventBus, GroupLag, Offset, OutgoingRecord, StartFrom, Subscription,
};
use orderflow_core::read_model::{OrderSummary, ReadModel, ReadModelBatch};
use serde_json::{Value, json};

use crate::support::*;

/// Places an order (its `OrderCreated` is in the event store) and gives it a read-model
/// row, as the projections would: nothing downstream has run.
pub async fn placed_order(app: &TestApp) -> Res<String> {
    let placed = app.place_with_key("k-1", &order()).await?;
    assert_eq!(placed.status, 202, "{:?}", placed.body);
    let order_id = placed.body["orderId"]
        .as_str()
        .ok_or("no orderId")?
        .to_owned();
    let now = Utc::now();
    let summary = OrderSummary {
        order_id: order_id.clone(),
        customer_id: "c-1".into(),
        status: "PENDING".into(),
        items: vec![],
        total_cents: 0,
        currency: "EUR".into(),
        shipping_address: None,
        created_at: now,
        updated_at: now,
        cancel_reason: None,
        tracking_number: None,
        failures: vec![],
    };
    app.read_model()
        .apply(ReadModelBatch {
            forgotten: Vec::new(),
            orders: vec![summary],
            stock: vec![],
            position: 1,
        })
        .await?;
    Ok(order_id)
}

fn record(topic: &str, key: &str, headers: &[(&str, &str)]) -> OutgoingRecord {
    OutgoingRecord {
        topic: topic.into(),
        key: key.into(),
        value: b"{}".to_vec(),
        headers: headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.as_bytes().to_vec()))
            .collect(),
        timestamp: Utc::now() - chrono::Duration::minutes(5),
    }
}

async fn waiting_for(app: &TestApp, order_id: &str) -> Res<Value> {
    let answer = app.get(&format!("/orders/{order_id}")).await?;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    Ok(answer.body["waitingFor"].clone())
}

fn step<'a>(waiting: &'a Value, name: &str) -> Res<&'a Value> {
    let steps = waiting.as_array().ok_or("waitingFor is no array")?;
    Ok(steps
        .iter()
        .find(|s| s["step"] == name)
        .ok_or_else(|| format!("no step {name} in {waiting}"))?)
}

#[tokio::test]
async fn a_new_order_with_no_payment_service_running_waits_for_a_group_without_member() -> TestResult
{
    let app = spawn_app().await?;
    let order_id = placed_order(&app).await?;
    let waiting = waiting_for(&app, &order_id).await?;
    let steps: Vec<&str> = waiting
        .as_array()
        .ok_or("no array")?
        .iter()
        .filter_map(|s| s["step"].as_str())
        .collect();
    assert_eq!(steps, ["payment", "stock", "email"]);
    assert_eq!(
        step(&waiting, "payment")?,
        &json!({
            "step": "payment", "group": "payment", "live": false,
            "lag": 0, "lagSeconds": 0.0, "parked": [],
        })
    );
    assert_eq!(step(&waiting, "stock")?["group"], "inventory");
    assert_eq!(step(&waiting, "email")?["group"], "notification");
    Ok(())
}

#[tokio::test]
async fn a_running_payment_group_is_live_and_says_how_far_behind_it_is() -> TestResult {
    let app = spawn_app().await?;
    let order_id = placed_order(&app).await?;
    let bus = app.state().bus.clone();
    bus.publish(vec![record("orders", &order_id, &[])]).await?;
    let _member = bus
        .subscribe("payment", &["orders"], StartFrom::Earliest)
        .await?;
    let waiting = waiting_for(&app, &order_id).await?;
    let payment = step(&waiting, "payment")?;
    assert_eq!(payment["live"], true, "{payment}");
    assert_eq!(payment["lag"], 1, "{payment}");
    let seconds = payment["lagSeconds"].as_f64().ok_or("no lagSeconds")?;
    assert!(seconds >= 300.0, "{payment}");
    assert_eq!(step(&waiting, "stock")?["live"], false);
    Ok(())
}

#[tokio::test]
async fn a_record_of_the_order_parked_by_payment_is_shown_with_its_reason() -> TestResult {
    let app = spawn_app().await?;
    let order_id = placed_order(&app).await?;
    let parked = |group: &'static str| {
        record(
            "orders.dlq",
            &order_id,
            &[
                ("consumer-group", group),
                ("error", "the provider refused it"),
            ],
        )
    };
    let other = record(
        "orders.dlq",
        "another-order",
        &[("consumer-group", "payment")],
    );
    app.state()
        .bus
        .publish(vec![parked("payment"), parked("inventory"), other])
        .await?;
    let waiting = waiting_for(&app, &order_id).await?;
    assert_eq!(
        step(&waiting, "payment")?["parked"],
        json!([{ "topic": "orders.dlq", "offset": 0, "reason": "the provider refused it" }])
    );
    assert_eq!(
        step(&waiting, "stock")?["parked"],
        json!([{ "topic": "orders.dlq", "offset": 1, "reason": "the provider refused it" }])
    );
    assert_eq!(step(&waiting, "email")?["parked"], json!([]));
    Ok(())
}

/// A bus that cannot be reached: every call fails for now.
#[derive(Debug)]
struct UnreachableBus;

fn unreachable() -> BusError {
    BusError::Unavailable("the broker does not answer".into())
}

#[async_trait]
impl EventBus for UnreachableBus {
    async fn publish(&self, _: Vec<OutgoingRecord>) -> Result<(), BusError> {
        Err(unreachable())
    }
    async fn flush(&self) -> Result<(), BusError> {
        Err(unreachable())
    }
    async fn subscribe(
        &self,
        _: &str,
        _: &[&str],
        _: StartFrom,
    ) -> Result<Box<dyn Subscription>, BusError> {
        Err(unreachable())
    }
    async fn groups(&self) -> Result<Vec<GroupLag>, BusError> {
        Err(unreachable())
    }
    async fn end_offsets(&self, _: &str) -> Result<Vec<(u32, u64)>, BusError> {
        Err(unreachable())
    }
    async fn reset_offsets(
        &self,
        _: &str,
        _: &[&str],
        _: StartFrom,
    ) -> Result<Vec<Offset>, BusError> {
        Err(unreachable())
    }
}

#[tokio::test]
async fn with_the_bus_unreachable_an_order_is_still_read_with_its_steps_and_no_group_state()
-> TestResult {
    let app = TestApp::builder()
        .over_bus(Arc::new(UnreachableBus))
        .spawn()
        .await?;
    let order_id = placed_order(&app).await?;
    let waiting = waiting_for(&app, &order_id).await?;
    assert_eq!(
        step(&waiting, "payment")?,
        &json!({
            "step": "payment", "group": "payment", "live": null,
            "lag": null, "lagSeconds": null, "parked": null,
        })
    );
    Ok(())
}
