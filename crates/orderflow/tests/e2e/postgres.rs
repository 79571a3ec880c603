//! The pipeline on PostgreSQL, every service its own process.

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn on_postgres_every_service_as_a_process_ships_cancels_and_survives_kill_9() -> TestResult {
    let url = fresh_postgres_database().await?;
    // Small pools: the multi-process tests run side by side against one server, whose
    // 100 connections a dozen processes with 16 each could exhaust under load.
    let store = ["--store", url.as_str(), "--db-max-connections", "4"];
    let deployment = Deployment::new()?;
    let core = deployment.start("api,projections,relay", &store).await?;
    let api = Api::of(&deployment, &core);
    let mut services = Vec::new();
    for service in ["orders", "inventory", "shipping", "notification"] {
        services.push(deployment.start(service, &store).await?);
    }
    let slow_payment = [&store[..], &["--payment-latency-ms", "100"]].concat();
    let mut payment = deployment.start("payment", &slow_payment).await?;
    api.set_stock("PG-1", 1_000).await?;

    // Half the orders before the kill and half after, so that it lands mid-run
    // whatever the timing.
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(
            api.place(&format!("c-{i}"), json!([item("PG-1", 1, 3.0)]))
                .await?
                .0,
        );
    }

    // Mid-run: kill -9 the payment service, and cut every database connection.
    let data_dir = deployment.data_dir();
    eventually(|| async { Ok((Provider::read(&data_dir)?.charged() >= 5).then_some(())) }).await?;
    payment.kill9().await?;
    for i in 20..40 {
        ids.push(
            api.place(&format!("c-{i}"), json!([item("PG-1", 1, 3.0)]))
                .await?
                .0,
        );
    }
    let (unknown, _) = api.place("c-x", json!([item("NOPE", 1, 3.0)])).await?;
    let admin = sqlx::PgPool::connect(&url).await?;
    cut_connections(&admin).await?;
    let _payment = deployment.start("payment", &slow_payment).await?;
    // Cut them again while the pipeline is busy, at two more moments.
    for shipped_at_least in [10, 25] {
        eventually(|| async {
            let mut shipped = 0;
            for id in &ids {
                let (_, o) = api.get(&format!("/orders/{id}")).await?;
                shipped += usize::from(o["status"] == "SHIPPED");
            }
            Ok((shipped >= shipped_at_least).then_some(()))
        })
        .await?;
        cut_connections(&admin).await?;
    }

    for id in &ids {
        api.wait_status(id, "SHIPPED").await?;
    }
    let cancelled = api.wait_status(&unknown, "CANCELLED").await?;
    assert_eq!(
        cancelled["cancelReason"],
        "stock unavailable: unknown SKU NOPE"
    );
    // Skipped, or charged and refunded if its charge was in flight when it was cancelled.
    let charged = assert_never_left_charged(&api, &unknown, &data_dir).await?;

    let replays = assert_each_effect_once(&api, &ids, &data_dir, 40 + usize::from(charged)).await?;
    eprintln!("payment killed mid-run: {replays} charges asked again, as replays");
    eventually(|| async { Ok((mails(&data_dir).len() == 2 * 40 + 2).then_some(())) }).await?;
    assert_stock_settled(&api, "PG-1", &ids, 960).await?;
    Ok(())
}

#[tokio::test]
async fn migrate_creates_the_tables_of_a_new_database() -> TestResult {
    let url = fresh_postgres_database().await?;
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_orderflow"))
        .args(["migrate", "--store", &url])
        .output()
        .await?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pool = sqlx::PgPool::connect(&url).await?;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
    )
    .fetch_all(&pool)
    .await?;
    for table in [
        "checkpoints",
        "events",
        "order_views",
        "registry_schemas",
        "registry_versions",
    ] {
        assert!(
            tables.iter().any(|t| t == table),
            "{table} missing from {tables:?}"
        );
    }
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(&pool)
        .await?;
    let migrations =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../postgres/migrations");
    assert_eq!(applied as usize, std::fs::read_dir(migrations)?.count());
    Ok(())
}

#[tokio::test]
async fn migrate_run_again_says_only_that_the_tables_are_up_to_date() -> TestResult {
    let url = fresh_postgres_database().await?;
    for _ in 0..2 {
        // Logging as configured out of the box.
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_orderflow"))
            .args(["migrate", "--store", &url])
            .env_remove("ORDERFLOW_LOG")
            .env_remove("ORDERFLOW_LOG_FORMAT")
            .output()
            .await?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        // PostgreSQL's "relation already exists, skipping", logged by sqlx, is no news.
        assert!(stderr.trim().is_empty(), "{stderr}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "orderflow: PostgreSQL migrations are up to date\n"
        );
    }
    Ok(())
}
