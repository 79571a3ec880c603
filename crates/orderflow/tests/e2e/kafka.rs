//! The pipeline on Apache Kafka, every service its own process: on the shared
//! three-broker cluster, and on clusters of a test's own where brokers are stopped.

mod brokers;

use serde_json::{Value, json};

use crate::support::*;

/// How many orders reached a final status.
async fn settled(api: &Api, ids: &[String], status: &str) -> Res<usize> {
    let mut n = 0;
    for id in ids {
        let (_, o) = api.get(&format!("/orders/{id}")).await?;
        n += usize::from(o["status"] == status);
    }
    Ok(n)
}

/// The total lag of a group, from `GET /consumers`.
async fn lag_of(api: &Api, group: &str) -> Res<Option<u64>> {
    let (_, body) = api.get("/consumers").await?;
    Ok(body["groups"]
        .as_array()
        .and_then(|gs| gs.iter().find(|g| g["group"] == group))
        .and_then(|g| g["lag"].as_u64()))
}

#[tokio::test]
async fn on_kafka_and_postgres_every_service_as_a_process_survives_kill_9() -> TestResult {
    let url = fresh_postgres_database().await?;
    // Small pools: the multi-process tests run side by side against one server, whose
    // 100 connections a dozen processes with 16 each could exhaust under load.
    let store = ["--store", url.as_str(), "--db-max-connections", "4"];
    let deployment = Deployment::on_kafka(&kafka_url())?;
    let core = deployment.start("api,projections,relay", &store).await?;
    let api = Api::of(&deployment, &core);
    let mut services = Vec::new();
    for service in ["orders", "shipping", "notification"] {
        services.push(deployment.start(service, &store).await?);
    }
    let mut inventory = deployment.start("inventory", &store).await?;
    // Two members of the payment group share its partitions.
    let slow_payment = [&store[..], &["--payment-latency-ms", "100"]].concat();
    let mut payment_a = deployment.start("payment", &slow_payment).await?;
    let _payment_b = deployment.start("payment", &slow_payment).await?;
    api.set_stock("K-1", 1_000).await?;

    // Half the orders before the kill and half after, so that it lands mid-run
    // whatever the timing.
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(
            api.place(&format!("c-{i}"), json!([item("K-1", 1, 3.0)]))
                .await?
                .0,
        );
    }

    // Mid-run: kill -9 one payment member (the other takes its partitions over after
    // the rebalance) and the inventory service (restarted), and cut every database
    // connection.
    let data_dir = deployment.data_dir();
    eventually(|| async { Ok((Provider::read(&data_dir)?.charged() >= 5).then_some(())) }).await?;
    payment_a.kill9().await?;
    for i in 20..40 {
        ids.push(
            api.place(&format!("c-{i}"), json!([item("K-1", 1, 3.0)]))
                .await?
                .0,
        );
    }
    let (unknown, _) = api.place("c-x", json!([item("NOPE", 1, 3.0)])).await?;
    inventory.kill9().await?;
    let admin = sqlx::PgPool::connect(&url).await?;
    cut_connections(&admin).await?;
    let _inventory = deployment.start("inventory", &store).await?;
    // And every database connection again while the pipeline is busy.
    eventually(|| async { Ok((settled(&api, &ids, "SHIPPED").await? >= 10).then_some(())) })
        .await?;
    cut_connections(&admin).await?;

    eventually(|| async { Ok((settled(&api, &ids, "SHIPPED").await? == ids.len()).then_some(())) })
        .await?;
    let cancelled = api.wait_status(&unknown, "CANCELLED").await?;
    assert_eq!(
        cancelled["cancelReason"],
        "stock unavailable: unknown SKU NOPE"
    );
    // Skipped, or charged and refunded if its charge was in flight when it was cancelled.
    let charged = assert_never_left_charged(&api, &unknown, &data_dir).await?;

    let replays = assert_each_effect_once(&api, &ids, &data_dir, 40 + usize::from(charged)).await?;
    eprintln!("a payment member killed mid-run: {replays} charges asked again, as replays");
    eventually(|| async { Ok((mails(&data_dir).len() == 2 * 40 + 2).then_some(())) }).await?;
    assert_stock_settled(&api, "K-1", &ids, 960).await?;
    // Kafka's committed offsets, as GET /consumers shows them, catch up.
    for group in ["payment", "inventory", "shipping", "notification", "orders"] {
        eventually(|| async { Ok((lag_of(&api, group).await? == Some(0)).then_some(())) }).await?;
    }
    Ok(())
}

#[tokio::test]
async fn with_the_broker_down_orders_are_accepted_and_flow_once_it_is_back() -> TestResult {
    let cluster = Cluster::start(1).await?;
    let deployment = cluster.deployment()?;
    let app = deployment.start("run", &[]).await?;
    let api = Api::of(&deployment, &app);
    api.set_stock("B-1", 100).await?;
    let (first, _) = api.place("c-b", json!([item("B-1", 1, 4.0)])).await?;
    api.wait_status(&first, "SHIPPED").await?;

    cluster.kill_broker(1).await?;
    let mut ids = Vec::new();
    for _ in 0..5 {
        // Accepted: the order is in the event store; the bus is not needed for that.
        ids.push(api.place("c-b", json!([item("B-1", 1, 4.0)])).await?.0);
    }
    let (_, pending) = api.get(&format!("/orders/{}", ids[0])).await?;
    assert_eq!(pending["status"], "PENDING");

    cluster.start_broker(1).await?;
    for id in &ids {
        api.wait_status(id, "SHIPPED").await?;
    }
    // Nothing crashed: each order's charge asked for once, and made once.
    ids.push(first);
    let provider = Provider::read(&deployment.data_dir())?;
    assert_eq!(provider.charged(), 6);
    provider.assert_charged_once(&ids);
    provider.assert_asked_once(&ids);
    Ok(())
}

fn revenue(summary: &Value) -> i64 {
    summary["revenueCentsByDay"]
        .as_object()
        .map(|days| days.values().filter_map(Value::as_i64).sum())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_new_analytics_group_replays_history_on_kafka_and_agrees_with_the_read_model()
-> TestResult {
    let deployment = Deployment::on_kafka(&kafka_url())?;
    let core = deployment
        .start(
            "api,orders,payment,inventory,shipping,notification,projections,relay",
            &[],
        )
        .await?;
    let api = Api::of(&deployment, &core);
    api.set_stock("R-1", 3).await?;
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(api.place("c-r", json!([item("R-1", 1, 2.5)])).await?.0);
    }
    eventually(|| async {
        let done = settled(&api, &ids, "SHIPPED").await? + settled(&api, &ids, "CANCELLED").await?;
        Ok((done == ids.len()).then_some(()))
    })
    .await?;
    // What the read model says.
    let (_, listed) = api.get("/customers/c-r/orders").await?;
    let mut by_status = std::collections::BTreeMap::<String, u64>::new();
    for o in listed["orders"].as_array().ok_or("no orders")? {
        *by_status
            .entry(o["status"].as_str().unwrap_or_default().to_owned())
            .or_default() += 1;
    }
    assert_eq!(by_status.values().sum::<u64>(), 4);

    let agrees = || async {
        let (_, s) = api.get("/analytics").await?;
        let statuses: std::collections::BTreeMap<String, u64> =
            serde_json::from_value(s["ordersByStatus"].clone())?;
        Ok((statuses == by_status && revenue(&s) == 3 * 250).then_some(()))
    };
    let mut analytics = deployment.start("analytics", &[]).await?;
    eventually(agrees).await?;

    // Replay: refused while the group runs; then stop it, move it back to the
    // beginning, and start it again.
    let replay = ["replay", "--group", "analytics", "--from-beginning"];
    let out = deployment.command(&replay).await?;
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr)?;
    assert!(err.contains("active member"), "{err}");
    analytics.terminate().await?;
    let out = deployment.command(&replay).await?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(lag_of(&api, "analytics").await?.is_some_and(|lag| lag > 0));
    let out = deployment.command(&["consumers", "--json"]).await?;
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let stopped = listed["groups"]
        .as_array()
        .and_then(|gs| gs.iter().find(|g| g["group"] == "analytics"))
        .ok_or_else(|| format!("no analytics group in {listed}"))?;
    assert!(
        stopped["lag"].as_u64().is_some_and(|lag| lag > 0),
        "{stopped}"
    );
    assert_eq!(stopped["live"], false, "{stopped}");
    assert!(
        stopped["lagSeconds"].as_f64().is_some_and(|s| s > 0.0),
        "{stopped}"
    );
    let _analytics = deployment.start("analytics", &[]).await?;
    eventually(|| async { Ok((lag_of(&api, "analytics").await? == Some(0)).then_some(())) })
        .await?;
    eventually(agrees).await?;
    Ok(())
}

/// Runs a command that must fail, and returns what it said on stderr.
async fn refused(deployment: &Deployment, args: &[&str]) -> Res<String> {
    let out = deployment.command(args).await?;
    assert!(!out.status.success(), "{args:?} succeeded");
    Ok(String::from_utf8(out.stderr)?)
}

#[tokio::test]
async fn topics_are_provisioned_as_configured_a_mismatch_is_reported_and_they_can_be_deleted()
-> TestResult {
    let deployment = Deployment::on_kafka(&kafka_url())?;
    let out = deployment.command(&["topics", "create"]).await?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = deployment.command(&["topics", "describe"]).await?;
    let described = String::from_utf8(out.stdout)?;
    for topic in [
        "orders",
        "payments",
        "inventory",
        "shipments",
        "notifications",
        "orders.dlq",
    ] {
        let line = described
            .lines()
            .find(|l| {
                l.split_whitespace()
                    .next()
                    .is_some_and(|n| n.ends_with(&format!("-{topic}")))
            })
            .ok_or_else(|| format!("{topic} not described:\n{described}"))?;
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields[1..], ["12", "3", "604800000", "2"], "{line}");
    }

    let err = refused(
        &deployment,
        &["topics", "create", "--topic-partitions", "6"],
    )
    .await?;
    assert!(
        err.contains("has 12 partitions but 6 are configured"),
        "{err}"
    );

    let err = refused(
        &deployment,
        &["topics", "create", "--topic-retention-hours", "24"],
    )
    .await?;
    assert!(err.contains("retention.ms=604800000 but 86400000"), "{err}");

    let err = refused(
        &deployment,
        &["topics", "create", "--topic-replication-factor", "2"],
    )
    .await?;
    assert!(
        err.contains("has replication factor 3 but 2 is configured"),
        "{err}"
    );

    let err = refused(
        &deployment,
        &["topics", "create", "--topic-replication-factor", "4"],
    )
    .await?;
    assert!(
        err.contains("replication factor of 4, but the cluster has 3 broker")
            && err.contains("ORDERFLOW_TOPIC_REPLICATION_FACTOR"),
        "{err}"
    );

    let out = deployment.command(&["topics", "delete"]).await?;
    assert!(!out.status.success(), "deleting needs --yes");
    let out = deployment.command(&["topics", "delete", "--yes"]).await?;
    let deleted = String::from_utf8(out.stdout)?;
    assert_eq!(deleted.lines().count(), 10, "{deleted}");
    let out = deployment.command(&["topics", "describe"]).await?;
    let described = String::from_utf8(out.stdout)?;
    assert_eq!(
        described.lines().count(),
        2,
        "only the header lines:\n{described}"
    );
    Ok(())
}

/// An orchestrator sends SIGKILL 30 s after SIGTERM: shutdown must end well before,
/// whatever the broker does, and what was not published stays in the store.
#[tokio::test]
async fn with_the_broker_unreachable_shutdown_is_bounded_and_loses_nothing() -> TestResult {
    let cluster = Cluster::start(1).await?;
    let deployment = cluster.deployment()?;
    let mut app = deployment.start("run", &[]).await?;
    let api = Api::of(&deployment, &app);
    api.set_stock("T-1", 10).await?;
    let (first, _) = api.place("c-t", json!([item("T-1", 1, 4.0)])).await?;
    api.wait_status(&first, "SHIPPED").await?;

    cluster.kill_broker(1).await?;
    let (stranded, _) = api.place("c-t", json!([item("T-1", 1, 4.0)])).await?;
    let asked = std::time::Instant::now();
    app.terminate().await?;
    let took = asked.elapsed();
    assert!(
        took < std::time::Duration::from_secs(20),
        "shutdown took {took:?} with the broker down"
    );

    cluster.start_broker(1).await?;
    let again = deployment.start("run", &[]).await?;
    let api = Api::of(&deployment, &again);
    api.wait_status(&stranded, "SHIPPED").await?;
    Ok(())
}
