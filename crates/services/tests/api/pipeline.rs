//! `GET /pipeline`: the orders waiting at each stage, and every service's consumer
//! group with its members, lag and parked records.

use orderflow_core::bus::StartFrom;
use serde_json::Value;

use crate::orders::waiting::placed_order;
use crate::support::*;

fn find<'a>(list: &'a Value, key: &str, name: &str) -> Res<&'a Value> {
    Ok(list
        .as_array()
        .ok_or("no array")?
        .iter()
        .find(|v| v[key] == name)
        .ok_or_else(|| format!("no {name} in {list}"))?)
}

#[tokio::test]
async fn a_placed_order_waits_at_payment_stock_and_email_and_is_the_oldest_there() -> TestResult {
    let app = spawn_app().await?;
    let order_id = placed_order(&app).await?;
    let answer = app.get("/pipeline").await?;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let stages = &answer.body["stages"];
    for step in ["payment", "stock", "email"] {
        let stage = find(stages, "step", step)?;
        assert_eq!(stage["orders"], 1, "{stage}");
        assert_eq!(stage["oldestOrderId"], order_id.as_str(), "{stage}");
        assert!(stage["oldestAgeSeconds"].as_f64().is_some(), "{stage}");
    }
    for step in ["confirmation", "shipment"] {
        let stage = find(stages, "step", step)?;
        assert_eq!(stage["orders"], 0, "{stage}");
        assert_eq!(stage["oldestOrderId"], Value::Null, "{stage}");
    }
    assert_eq!(find(stages, "step", "payment")?["group"], "payment");
    assert_eq!(answer.body["complete"], true);
    Ok(())
}

#[tokio::test]
async fn every_services_group_is_listed_live_only_while_it_has_a_member() -> TestResult {
    let app = spawn_app().await?;
    let before = app.get("/pipeline").await?.body;
    let groups = &before["groups"];
    for group in [
        "analytics",
        "inventory",
        "notification",
        "orders",
        "payment",
        "shipping",
    ] {
        let g = find(groups, "group", group)?;
        assert_eq!(g["live"], false, "{g}");
        assert_eq!(g["members"], Value::Array(vec![]), "{g}");
    }
    let _member = app
        .state()
        .bus
        .subscribe("payment", &["orders"], StartFrom::Earliest)
        .await?;
    // The groups are read again once the last read is FRESH old: ask until then.
    let fresh = orderflow_services::pipeline::GroupsView::FRESH;
    let deadline = std::time::Instant::now() + fresh * 4;
    let payment = loop {
        let after = app.get("/pipeline").await?.body;
        let payment = find(&after["groups"], "group", "payment")?.clone();
        if payment["live"] == true || std::time::Instant::now() > deadline {
            break payment;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(payment["live"], true, "{payment}");
    assert_eq!(payment["members"][0]["alive"], true, "{payment}");
    assert!(payment["members"][0]["lastSeen"].is_string(), "{payment}");
    Ok(())
}
