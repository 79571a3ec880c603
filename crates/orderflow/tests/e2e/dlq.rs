//! Dead letters you can act on (`orderflow dlq`): on the embedded bus, a payment parked
//! while the provider was down is listed, shown decoded, replayed once the provider is
//! back, and the order completes; replaying it again changes nothing. On Kafka, a
//! record a foreign client produced to `orders` with a bad body is parked with its
//! reason while consumption goes on, shown as hex, and discarded with who and why.

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::{Value, json};

use crate::support::*;

/// Runs `orderflow dlq ARGS` to success; its stdout.
async fn dlq(deployment: &Deployment, args: &[&str]) -> Res<String> {
    let mut all = vec!["dlq"];
    all.extend_from_slice(args);
    let out = deployment.command(&all).await?;
    let stdout = String::from_utf8(out.stdout)?;
    if !out.status.success() {
        return Err(format!(
            "orderflow {} failed: {stdout}{}",
            all.join(" "),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(stdout)
}

/// The parked records `dlq list --json ARGS` lists.
async fn listed(deployment: &Deployment, args: &[&str]) -> Res<Vec<Value>> {
    let mut all = vec!["list", "--json"];
    all.extend_from_slice(args);
    let doc: Value = serde_json::from_str(&dlq(deployment, &all).await?)?;
    Ok(doc["parked"].as_array().cloned().unwrap_or_default())
}

/// Waits for a parked record of `key` (of `group`, if given) to be listed by
/// `dlq list --json ARGS`. A list that fails (the bus busy for a moment) is tried
/// again, as an operator would, and said.
async fn parked(
    deployment: &Deployment,
    args: &[&str],
    key: &str,
    group: Option<&str>,
) -> Res<Value> {
    eventually(|| async {
        let list = match listed(deployment, args).await {
            Ok(list) => list,
            Err(e) => {
                eprintln!("dlq list failed; trying again: {e}");
                return Ok(None);
            }
        };
        Ok(list
            .into_iter()
            .find(|p| p["key"] == key && group.is_none_or(|g| p["group"] == g)))
    })
    .await
}

/// Waits until `group` has handled every record on its topics.
async fn caught_up(deployment: &Deployment, group: &str) -> TestResult {
    eventually(|| async {
        let out = deployment.command(&["consumers", "--json"]).await?;
        let doc: Value = serde_json::from_slice(&out.stdout)?;
        let lag = doc["groups"]
            .as_array()
            .and_then(|gs| gs.iter().find(|g| g["group"] == group))
            .and_then(|g| g["lag"].as_u64());
        Ok((lag == Some(0)).then_some(()))
    })
    .await
}

#[tokio::test]
async fn a_payment_parked_while_the_provider_was_down_is_replayed_once_it_is_back() -> TestResult {
    let deployment = Deployment::new()?;
    let core = deployment.start(ALL_BUT_PAYMENT, &[]).await?;
    let api = Api::of(&deployment, &core);
    let down = [
        "--payment-failure-rate",
        "1",
        "--give-up-after-seconds",
        "1",
    ];
    let mut payment = deployment.start("payment", &down).await?;
    api.set_stock("DL-1", 10).await?;
    let (order_id, _) = api.place("c-dl", json!([item("DL-1", 1, 5.0)])).await?;

    let record = parked(&deployment, &[], &order_id, Some("payment")).await?;
    assert_eq!(record["kind"], "transient", "{record}");
    let reason = record["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("gave up after"), "{record}");
    assert!(record["attempts"].as_u64() > Some(1), "{record}");
    let id = record["id"].as_str().ok_or("no id")?.to_owned();
    let table = dlq(&deployment, &["list"]).await?;
    assert!(table.contains(&id) && table.contains("payment"), "{table}");
    let shown = dlq(&deployment, &["show", &id]).await?;
    assert!(shown.contains("reason:         gave up after"), "{shown}");
    assert!(
        shown.contains(&order_id),
        "decoded, with its order: {shown}"
    );
    assert!(!shown.contains("not decoded"), "{shown}");

    eventually(|| async {
        let (_, pipeline) = api.get("/pipeline").await?;
        let parked = pipeline["groups"]
            .as_array()
            .and_then(|gs| gs.iter().find(|g| g["group"] == "payment"))
            .map(|g| g["parked"].clone());
        Ok((parked == Some(json!(1))).then_some(()))
    })
    .await?;

    // The cause is fixed: the provider answers again.
    payment.terminate().await?;
    let _payment = deployment.start("payment", &[]).await?;
    let replayed = dlq(&deployment, &["replay", &id]).await?;
    assert!(replayed.contains(&format!("replayed {id}")), "{replayed}");
    api.wait_status(&order_id, "SHIPPED").await?;
    caught_up(&deployment, "payment").await?;
    // Done with: shipped, and both emails (confirmation, shipment) recorded.
    let history = eventually(|| async {
        let types = api.history_types(&order_id).await?;
        let sent = types.iter().filter(|t| *t == "NotificationSent").count();
        Ok((sent == 2).then_some(types))
    })
    .await?;
    let paid = history.iter().filter(|t| *t == "PaymentReceived").count();
    assert_eq!(paid, 1, "{history:?}");
    Provider::read(&deployment.data_dir())?.assert_charged_once(std::slice::from_ref(&order_id));
    assert!(
        listed(&deployment, &[]).await?.is_empty(),
        "no longer waiting"
    );
    // Nor counted as waiting, though its topic holds it and the record of its replay.
    eventually(|| async {
        let (_, pipeline) = api.get("/pipeline").await?;
        let payment = pipeline["groups"]
            .as_array()
            .and_then(|gs| gs.iter().find(|g| g["group"] == "payment"))
            .cloned();
        Ok(payment.filter(|g| g["parked"] == 0).map(drop))
    })
    .await?;
    let (_, consumers) = api.get("/consumers").await?;
    let orders_dlq = consumers["deadLetters"]
        .as_array()
        .and_then(|d| d.iter().find(|t| t["topic"] == "orders.dlq"))
        .cloned()
        .ok_or("no orders.dlq")?;
    assert_eq!(orders_dlq["waiting"], 0, "{orders_dlq}");
    assert!(orders_dlq["records"].as_u64() >= Some(2), "{orders_dlq}");

    // Replaying it again is delivered, and changes nothing.
    dlq(&deployment, &["replay", &id]).await?;
    caught_up(&deployment, "payment").await?;
    assert_eq!(api.history_types(&order_id).await?, history);
    Provider::read(&deployment.data_dir())?.assert_charged_once(std::slice::from_ref(&order_id));
    let all = listed(&deployment, &["--all"]).await?;
    let again = all
        .iter()
        .find(|p| p["id"] == id.as_str())
        .ok_or("not listed")?;
    assert_eq!(
        (&again["state"], &again["replays"]),
        (&json!("replayed"), &json!(2))
    );
    Ok(())
}

#[tokio::test]
async fn on_kafka_a_foreign_record_with_a_bad_body_is_parked_shown_as_hex_and_discarded()
-> TestResult {
    let url = kafka_url();
    let deployment = Deployment::on_kafka(&url)?;
    let app = deployment.start("run", &[]).await?;
    let api = Api::of(&deployment, &app);
    let prefix = deployment
        .env
        .iter()
        .find(|(k, _)| k == "ORDERFLOW_TOPIC_PREFIX")
        .map(|(_, v)| v.clone())
        .ok_or("no prefix")?;
    let producer: FutureProducer = ClientConfig::new()
        .set(
            "bootstrap.servers",
            url.strip_prefix("kafka://").ok_or("a kafka:// URL")?,
        )
        .create()?;
    let body = b"{\"order\": \"not avro\"}";
    producer
        .send(
            FutureRecord::to(&format!("{prefix}orders"))
                .key("foreign-1")
                .payload(&body[..]),
            Duration::from_secs(10),
        )
        .await
        .map_err(|(e, _)| e)?;

    // Consumption goes on.
    api.set_stock("FK-1", 5).await?;
    let (order_id, _) = api.place("c-fk", json!([item("FK-1", 1, 1.0)])).await?;
    api.wait_status(&order_id, "SHIPPED").await?;

    let record = parked(&deployment, &["--topic", "orders"], "foreign-1", None).await?;
    let reason = record["reason"].as_str().unwrap_or_default().to_owned();
    assert!(reason.contains("magic byte"), "{record}");
    let id = record["id"].as_str().ok_or("no id")?.to_owned();
    let shown = dlq(&deployment, &["show", &id]).await?;
    let hex: String = body.iter().map(|b| format!("{b:02x}")).collect();
    assert!(shown.replace(['\n', ' '], "").contains(&hex), "{shown}");
    assert!(shown.contains(&reason), "{shown}");
    assert!(shown.contains("not decoded"), "{shown}");

    let discard = [
        "discard", &id, "--reason", "not ours", "--actor", "ops@shop",
    ];
    dlq(&deployment, &discard).await?;
    let still = listed(&deployment, &[]).await?;
    assert!(still.iter().all(|p| p["id"] != id.as_str()), "{still:?}");
    let all = listed(&deployment, &["--all"]).await?;
    let gone = all
        .iter()
        .find(|p| p["id"] == id.as_str())
        .ok_or("not listed")?;
    assert_eq!(gone["state"], "discarded", "{gone}");
    assert_eq!(gone["action"]["actor"], "ops@shop", "{gone}");
    assert_eq!(gone["action"]["reason"], "not ours", "{gone}");
    assert!(gone["action"]["at"].is_string(), "{gone}");
    Ok(())
}
