//! Failure isolation: services as separate processes over one data dir, killed with
//! SIGKILL and restarted; poison records on the bus; a consumer added late.

use std::collections::HashMap;

use orderflow_core::EventBus;
use orderflow_core::bus::{OutgoingRecord, StartFrom};
use serde_json::json;

use crate::support::*;

const ORDERS: usize = 200;
const PIPELINE: &str = "api,orders,inventory,shipping,projections,relay";

async fn place_many(api: &Api, n: usize) -> Res<Vec<String>> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let (id, _) = api
            .place(&format!("c-{}", i % 17), json!([item("ISO-1", 1, 10.0)]))
            .await?;
        ids.push(id);
    }
    Ok(ids)
}

async fn wait_all(api: &Api, ids: &[String], status: &str) -> TestResult {
    eventually(|| async {
        let head = api.head().await?;
        let (_, _) = api
            .get(&format!("/orders/{}?min_position={head}", ids[0]))
            .await?;
        for id in ids {
            let (_, order) = api.get(&format!("/orders/{id}")).await?;
            if order["status"] != status {
                return Ok(None);
            }
        }
        Ok(Some(()))
    })
    .await
}

/// Counts of each event type per order, from the audit trail.
async fn counts(api: &Api, id: &str) -> Res<HashMap<String, usize>> {
    let mut out = HashMap::new();
    for t in api.history_types(id).await? {
        *out.entry(t).or_default() += 1;
    }
    Ok(out)
}

#[tokio::test]
async fn with_notification_killed_orders_still_ship_and_every_email_goes_out_once_it_is_back()
-> TestResult {
    let deployment = Deployment::new()?;
    let core = deployment.start(PIPELINE, &[]).await?;
    let api = Api::of(&deployment, &core);
    let _payment = deployment.start("payment", &[]).await?;
    let mut notification = deployment.start("notification", &[]).await?;
    api.set_stock("ISO-1", 10_000).await?;
    notification.kill9().await?;

    let ids = place_many(&api, ORDERS).await?;
    wait_all(&api, &ids, "SHIPPED").await?;
    assert!(
        mails(&deployment.data_dir()).is_empty(),
        "nobody sent mail while notification was down"
    );
    // Payment ran throughout: each order's charge asked for once, and made once.
    let provider = Provider::read(&deployment.data_dir())?;
    provider.assert_charged_once(&ids);
    provider.assert_asked_once(&ids);

    let _notification = deployment.start("notification", &[]).await?;
    eventually(|| async { Ok((mails(&deployment.data_dir()).len() == 2 * ORDERS).then_some(())) })
        .await?;
    for id in &ids {
        let c = eventually(|| async {
            let c = counts(&api, id).await?;
            Ok((c.get("NotificationSent") == Some(&2)).then_some(c))
        })
        .await?;
        assert_eq!(c.get("PaymentReceived"), Some(&1), "{id}: {c:?}");
    }
    assert_eq!(mails(&deployment.data_dir()).len(), 2 * ORDERS);
    Ok(())
}

#[tokio::test]
async fn with_payment_killed_orders_are_accepted_and_charged_exactly_once_after_restart()
-> TestResult {
    let deployment = Deployment::new()?;
    let core = deployment.start(PIPELINE, &[]).await?;
    let api = Api::of(&deployment, &core);
    let _notification = deployment.start("notification", &[]).await?;
    api.set_stock("ISO-1", 10_000).await?;

    let ids = place_many(&api, ORDERS).await?;
    // A backlog for a slow provider (100 ms a call, half of it on the answer's way back;
    // 64 calls at once), so the kill lands while charges are in flight, some of them
    // made but not yet answered.
    let slow = ["--payment-latency-ms", "100"];
    let mut payment = deployment.start("payment", &slow).await?;
    let data_dir = deployment.data_dir();
    eventually(|| async { Ok((Provider::read(&data_dir)?.charged() >= 10).then_some(())) }).await?;
    payment.kill9().await?;
    let charged_before_restart = Provider::read(&data_dir)?.charged();
    assert!(charged_before_restart < ORDERS, "the kill came mid-run");
    // Charges the provider made whose answer payment never recorded: back, it must ask
    // for each again under the same key, which the provider answers as a replay.
    let in_doubt = charged_but_unrecorded(&api, &data_dir).await?;

    let _payment = deployment.start("payment", &slow).await?;
    wait_all(&api, &ids, "SHIPPED").await?;
    let provider = Provider::read(&data_dir)?;
    assert_eq!(provider.charged(), ORDERS);
    provider.assert_charged_once(&ids);
    let replays = provider.assert_repeats_are_replays(&ids);
    provider.assert_replayed(&in_doubt);
    eprintln!(
        "payment killed with {} charges made but not recorded; {replays} replays in all",
        in_doubt.len()
    );
    for id in &ids {
        let c = counts(&api, id).await?;
        assert_eq!(c.get("PaymentReceived"), Some(&1), "{id}: {c:?}");
        assert_eq!(c.get("StockReserved"), Some(&1), "{id}: {c:?}");
    }
    eventually(|| async { Ok((mails(&data_dir).len() == 2 * ORDERS).then_some(())) }).await
}

#[tokio::test]
async fn a_poison_record_is_dead_lettered_and_consumption_goes_on() -> TestResult {
    let deployment = Deployment::new()?;
    let app = deployment.start("run", &[]).await?;
    let api = Api::of(&deployment, &app);
    let bus = orderflow_sqlite::SqliteBus::open(&deployment.data_dir().join("bus.db"))?;
    let poison = |value: Vec<u8>| OutgoingRecord {
        topic: "orders".into(),
        key: "poison".into(),
        value,
        headers: vec![],
        timestamp: chrono::Utc::now(),
    };
    bus.publish(vec![
        poison(b"not avro at all".to_vec()),
        poison(vec![0, 0, 0, 0x7f, 0x7f, 1, 2, 3]),
    ])
    .await?;
    api.set_stock("P-1", 5).await?;
    let (order_id, _) = api.place("c-p", json!([item("P-1", 1, 1.0)])).await?;
    api.wait_status(&order_id, "SHIPPED").await?;

    let mut dlq = bus
        .subscribe("test-dlq-reader", &["orders.dlq"], StartFrom::Earliest)
        .await?;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let mut letters = Vec::new();
    while letters.is_empty() && tokio::time::Instant::now() < deadline {
        letters = dlq.poll(100, std::time::Duration::from_millis(100)).await?;
    }
    assert!(!letters.is_empty(), "nothing was dead-lettered");
    let letter = &letters[0];
    assert_eq!(letter.value, b"not avro at all");
    let error =
        String::from_utf8_lossy(letter.header("error").ok_or("no error header")?).into_owned();
    assert!(error.contains("magic byte"), "{error}");
    assert!(letter.header("consumer-group").is_some());
    // Both poison records are set aside (by every group that reads `orders`), and
    // counted.
    eventually(|| async {
        let (_, consumers) = api.get("/consumers").await?;
        let counted = consumers["deadLetters"]
            .as_array()
            .and_then(|d| d.iter().find(|t| t["topic"] == "orders.dlq"))
            .and_then(|t| t["records"].as_u64());
        Ok((counted >= Some(2)).then_some(()))
    })
    .await?;
    Ok(())
}

#[tokio::test]
async fn analytics_added_later_starts_from_the_beginning_of_history() -> TestResult {
    let deployment = Deployment::new()?;
    let everything_but_analytics =
        "api,orders,payment,inventory,shipping,notification,projections,relay";
    let core = deployment.start(everything_but_analytics, &[]).await?;
    let api = Api::of(&deployment, &core);
    api.set_stock("A-1", 3).await?;
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(api.place("c-an", json!([item("A-1", 1, 2.5)])).await?.0);
    }
    for id in &ids {
        eventually(|| async {
            let (_, o) = api.get(&format!("/orders/{id}")).await?;
            Ok((o["status"] == "SHIPPED" || o["status"] == "CANCELLED").then_some(()))
        })
        .await?;
    }
    let (_, before) = api.get("/analytics").await?;
    assert_eq!(before["ordersByStatus"], json!({}));

    let _analytics = deployment.start("analytics", &[]).await?;
    // Three paid and shipped; one cancelled for stock (not charged, or charged and
    // refunded). A refund may still be on its way when the statuses are final, so wait
    // for all of it.
    let revenue = |s: &serde_json::Value| -> i64 {
        s["revenueCentsByDay"]
            .as_object()
            .map(|days| days.values().filter_map(|v| v.as_i64()).sum())
            .unwrap_or_default()
    };
    eventually(|| async {
        let (_, s) = api.get("/analytics").await?;
        let shipped = s["ordersByStatus"]["SHIPPED"].as_u64();
        let cancelled = s["ordersByStatus"]["CANCELLED"].as_u64();
        Ok((shipped == Some(3) && cancelled == Some(1) && revenue(&s) == 3 * 250).then_some(()))
    })
    .await?;
    Ok(())
}
