//! New consumers see all history, past the bus's retention: after retention deleted
//! the first orders' records, analytics made again from nothing (its read models
//! deleted) is backfilled from the event store and agrees with the read model.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::support::*;

const SKU: &str = "BF-1";
const FIRST: usize = 30;

/// Whether any record about these orders is still on the embedded bus's topics.
fn still_on_the_bus(deployment: &Deployment, ids: &HashSet<String>) -> Res<bool> {
    let bus = rusqlite::Connection::open_with_flags(
        deployment.data_dir().join("bus.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    let mut rows = bus.prepare("SELECT key FROM records WHERE topic NOT LIKE '%.dlq'")?;
    let keys: Vec<String> = rows
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(keys.iter().any(|k| ids.contains(k)))
}

/// Orders per status and revenue, from the order read model.
async fn from_the_read_model(api: &Api, ids: &[String]) -> Res<(Value, i64)> {
    let mut by_status = serde_json::Map::new();
    let mut revenue = 0i64;
    for id in ids {
        let order = api.wait_status(id, "SHIPPED").await?;
        let n = by_status.entry("SHIPPED").or_insert(json!(0));
        *n = json!(n.as_u64().unwrap_or(0) + 1);
        revenue += (order["totalAmount"].as_f64().ok_or("no totalAmount")? * 100.0).round() as i64;
    }
    Ok((Value::Object(by_status), revenue))
}

/// Stock, and the first orders, whose records the tests cut from the bus.
async fn first_orders(api: &Api) -> Res<Vec<String>> {
    api.set_stock(SKU, 10_000).await?;
    let mut ids = Vec::new();
    for i in 0..FIRST {
        let (id, _) = api
            .place(&format!("c-{}", i % 5), json!([item(SKU, 1, 4.5)]))
            .await?;
        ids.push(id);
    }
    Ok(ids)
}

/// Waits until every order shipped and both its emails went out, then stops `run`.
async fn settle_and_stop(
    deployment: &Deployment,
    api: &Api,
    run: &mut Process,
    ids: &[String],
) -> TestResult {
    for id in ids {
        api.wait_status(id, "SHIPPED").await?;
    }
    eventually(|| async {
        Ok((mails(&deployment.data_dir()).len() == 2 * ids.len()).then_some(()))
    })
    .await?;
    assert!(run.terminate().await?.success());
    Ok(())
}

#[tokio::test]
async fn analytics_made_again_after_retention_counts_every_order_from_the_store() -> TestResult {
    let deployment = Deployment::new()?;
    let retention = ["--topic-retention-ms", "1500"];
    let mut run = deployment.start("run", &retention).await?;
    let api = Api::of(&deployment, &run);
    let mut ids = first_orders(&api).await?;
    let first: HashSet<String> = ids.iter().cloned().collect();
    for id in &ids {
        api.wait_status(id, "SHIPPED").await?;
    }
    // Orders keep coming; publishing runs retention, which deletes the first orders'
    // records once they are past it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while still_on_the_bus(&deployment, &first)? {
        assert!(
            std::time::Instant::now() < deadline,
            "retention never deleted the first orders' records"
        );
        let (id, _) = api.place("c-late", json!([item(SKU, 1, 4.5)])).await?;
        ids.push(id);
    }
    settle_and_stop(&deployment, &api, &mut run, &ids).await?;
    made_again_agrees(&deployment, &ids, &["--topic-retention-hours", "1"]).await
}

/// Deletes the read models (analytics with them), starts the deployment again, and
/// checks that analytics counts every order as the read model shows it, and that no
/// other service ran again (no email sent twice).
async fn made_again_agrees(deployment: &Deployment, ids: &[String], extra: &[&str]) -> TestResult {
    let mails_before = mails(&deployment.data_dir()).len();
    assert_eq!(mails_before, 2 * ids.len());
    for suffix in ["", "-wal", "-shm"] {
        let path = deployment.data_dir().join(format!("read.db{suffix}"));
        if path.exists() {
            std::fs::remove_file(path)?;
        }
    }
    let run = deployment.start("run", extra).await?;
    let api = Api::of(deployment, &run);
    let (by_status, revenue) = from_the_read_model(&api, ids).await?;
    // Analytics catches up with the bus after the backfill: it must come to agree (it
    // never would with events missing or counted twice).
    let revenue_of = |analytics: &Value| -> i64 {
        analytics["revenueCentsByDay"]
            .as_object()
            .map(|days| days.values().filter_map(Value::as_i64).sum())
            .unwrap_or(0)
    };
    let last = std::sync::Mutex::new(Value::Null);
    let agreed = eventually(|| async {
        let (_, analytics) = api.get("/analytics").await?;
        let agrees = analytics["ordersByStatus"] == by_status && revenue_of(&analytics) == revenue;
        *last.lock().map_err(|_| "poisoned")? = analytics;
        Ok(agrees.then_some(()))
    })
    .await;
    let last = last.lock().map_err(|_| "poisoned")?.clone();
    assert!(
        agreed.is_ok(),
        "analytics {last} never agreed with the read model: {by_status}, {revenue} cents"
    );
    // The other services had committed past the cut: nothing of theirs ran again.
    assert_eq!(mails(&deployment.data_dir()).len(), mails_before);
    // And it stays so: nothing came in twice after it agreed.
    let (_, again) = api.get("/analytics").await?;
    assert_eq!(again, last);
    Ok(())
}

/// On Kafka, the cut is made as retention makes it: the log start offset of every
/// partition moved past the first orders' records (`DeleteRecords`).
#[tokio::test]
async fn on_kafka_analytics_made_again_after_the_log_start_moved_counts_every_order() -> TestResult
{
    use rdkafka::admin::{AdminClient, AdminOptions};
    use rdkafka::client::DefaultClientContext;
    use rdkafka::{ClientConfig, Offset, TopicPartitionList};

    let url = kafka_url();
    let deployment = Deployment::on_kafka(&url)?;
    let prefix = deployment
        .env
        .iter()
        .find(|(k, _)| k == "ORDERFLOW_TOPIC_PREFIX")
        .map(|(_, v)| v.clone())
        .ok_or("no prefix")?;
    let mut run = deployment.start("run", &[]).await?;
    let api = Api::of(&deployment, &run);
    let mut ids = first_orders(&api).await?;
    for id in &ids {
        api.wait_status(id, "SHIPPED").await?;
    }
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set(
            "bootstrap.servers",
            url.strip_prefix("kafka://").ok_or("a kafka:// URL")?,
        )
        .create()?;
    let mut everything = TopicPartitionList::new();
    for topic in ["orders", "payments"] {
        for partition in 0..12 {
            everything.add_partition_offset(&format!("{prefix}{topic}"), partition, Offset::End)?;
        }
    }
    let cut = admin
        .delete_records(&everything, &AdminOptions::new())
        .await?;
    for element in cut.elements() {
        element.error()?;
    }
    // Orders after the cut stay on the bus.
    for i in 0..10 {
        let (id, _) = api
            .place(&format!("c-{i}"), json!([item(SKU, 1, 4.5)]))
            .await?;
        ids.push(id);
    }
    settle_and_stop(&deployment, &api, &mut run, &ids).await?;
    made_again_agrees(&deployment, &ids, &[]).await
}
