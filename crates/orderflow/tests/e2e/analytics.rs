//! Analytics keeps its bus offsets with its counts in `read.db`, so it is made again
//! with the read models, and a `read.db` restored from an older copy counts what came
//! after it: on the embedded bus and on Kafka alike, every order counted exactly once;
//! on PostgreSQL the same for analytics' tables restored from an older copy.
//! A bus ahead of a restored store is made again, with what analytics counted from it.

use std::path::Path;

use serde_json::{Value, json};

use crate::support::*;

/// Each order costs this much, in cents (one item at 2.50).
const PRICE: i64 = 250;

fn revenue(summary: &Value) -> i64 {
    summary["revenueCentsByDay"]
        .as_object()
        .map(|days| days.values().filter_map(Value::as_i64).sum())
        .unwrap_or_default()
}

/// Copies a SQLite file with its write-ahead log from one directory to another (a
/// missing file is left out), or deletes it there when `from` is `None`.
fn replace_db(name: &str, from: Option<&Path>, to: &Path) -> TestResult {
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{name}{suffix}");
        match std::fs::remove_file(to.join(&file)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
        if let Some(from) = from
            && from.join(&file).exists()
        {
            std::fs::copy(from.join(&file), to.join(&file))?;
        }
    }
    Ok(())
}

/// Starts the whole pipeline, places `n` orders, and waits until analytics counts every
/// order placed so far (`total`) as shipped and its revenue; then stops it.
async fn place_and_count(
    deployment: &Deployment,
    extra: &[&str],
    n: usize,
    total: u64,
) -> TestResult {
    let mut run = deployment.start("run", extra).await?;
    let api = Api::of(deployment, &run);
    api.set_stock("A-1", 100).await?;
    for i in 0..n {
        let (id, _) = api
            .place(&format!("c-{i}"), json!([item("A-1", 1, 2.5)]))
            .await?;
        api.wait_status(&id, "SHIPPED").await?;
    }
    counts_exactly(&api, total).await?;
    run.terminate().await?;
    Ok(())
}

/// Waits until analytics counts `total` orders, all shipped, and their revenue, and has
/// read everything there is; then checks it counted nothing twice.
async fn counts_exactly(api: &Api, total: u64) -> TestResult {
    let counted = || async {
        let (_, s) = api.get("/analytics").await?;
        Ok((s["ordersByStatus"]["SHIPPED"].as_u64() == Some(total)
            && revenue(&s) == total as i64 * PRICE)
            .then_some(()))
    };
    eventually(counted).await?;
    eventually(|| async {
        let (_, body) = api.get("/consumers").await?;
        let lag = body["groups"]
            .as_array()
            .and_then(|gs| gs.iter().find(|g| g["group"] == "analytics"))
            .and_then(|g| g["lag"].as_u64());
        Ok((lag == Some(0)).then_some(()))
    })
    .await?;
    let (_, s) = api.get("/analytics").await?;
    assert_eq!(s["ordersByStatus"], json!({ "SHIPPED": total }), "{s}");
    assert_eq!(revenue(&s), total as i64 * PRICE, "{s}");
    Ok(())
}

async fn a_lost_read_db_counts_every_order_again(deployment: Deployment) -> TestResult {
    place_and_count(&deployment, &[], 3, 3).await?;
    replace_db("read.db", None, &deployment.data_dir())?;
    let again = deployment.start("run", &[]).await?;
    counts_exactly(&Api::of(&deployment, &again), 3).await
}

async fn a_read_db_restored_from_an_older_copy_counts_every_order_once(
    deployment: Deployment,
) -> TestResult {
    place_and_count(&deployment, &[], 2, 2).await?;
    let backup = tempfile::tempdir()?;
    replace_db("read.db", Some(&deployment.data_dir()), backup.path())?;
    place_and_count(&deployment, &[], 2, 4).await?;
    replace_db("read.db", Some(backup.path()), &deployment.data_dir())?;
    let again = deployment.start("run", &[]).await?;
    counts_exactly(&Api::of(&deployment, &again), 4).await
}

/// The bus and `read.db` kept beside an `events.db` restored from an older copy hold
/// orders the store no longer has: they are made again, and analytics counts only the
/// store's orders.
#[tokio::test]
async fn an_event_store_restored_from_an_older_copy_is_counted_as_it_is() -> TestResult {
    let deployment = Deployment::new()?;
    place_and_count(&deployment, &[], 2, 2).await?;
    let backup = tempfile::tempdir()?;
    replace_db("events.db", Some(&deployment.data_dir()), backup.path())?;
    place_and_count(&deployment, &[], 2, 4).await?;
    replace_db("events.db", Some(backup.path()), &deployment.data_dir())?;
    let again = deployment.start("run", &[]).await?;
    counts_exactly(&Api::of(&deployment, &again), 2).await
}

#[tokio::test]
async fn a_lost_read_db_counts_every_order_again_on_the_embedded_bus() -> TestResult {
    a_lost_read_db_counts_every_order_again(Deployment::new()?).await
}

#[tokio::test]
async fn a_lost_read_db_counts_every_order_again_on_kafka() -> TestResult {
    a_lost_read_db_counts_every_order_again(Deployment::on_kafka(&kafka_url())?).await
}

#[tokio::test]
async fn a_read_db_restored_from_an_older_copy_counts_every_order_once_on_the_embedded_bus()
-> TestResult {
    a_read_db_restored_from_an_older_copy_counts_every_order_once(Deployment::new()?).await
}

#[tokio::test]
async fn a_read_db_restored_from_an_older_copy_counts_every_order_once_on_kafka() -> TestResult {
    a_read_db_restored_from_an_older_copy_counts_every_order_once(Deployment::on_kafka(
        &kafka_url(),
    )?)
    .await
}

/// The analytics tables of a PostgreSQL store.
const ANALYTICS_TABLES: [&str; 5] = [
    "analytics_seen_events",
    "analytics_order_status",
    "analytics_revenue",
    "analytics_offsets",
    "analytics_bus",
];

/// Copies the analytics tables into `backup_*` tables, or back from them.
async fn copy_analytics(url: &str, restore: bool) -> TestResult {
    use sqlx::Connection;
    let mut db = sqlx::PgConnection::connect(url).await?;
    for table in ANALYTICS_TABLES {
        let sql = if restore {
            format!("TRUNCATE {table}; INSERT INTO {table} SELECT * FROM backup_{table}")
        } else {
            format!("CREATE TABLE backup_{table} AS SELECT * FROM {table}")
        };
        // The names are the constants above, not input.
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut db)
            .await?;
    }
    db.close().await?;
    Ok(())
}

#[tokio::test]
async fn analytics_restored_from_an_older_copy_counts_every_order_once_on_postgres() -> TestResult {
    let url = fresh_postgres_database().await?;
    let store = ["--store", url.as_str(), "--db-max-connections", "4"];
    let deployment = Deployment::new()?;
    place_and_count(&deployment, &store, 2, 2).await?;
    copy_analytics(&url, false).await?;
    place_and_count(&deployment, &store, 2, 4).await?;
    copy_analytics(&url, true).await?;
    let again = deployment.start("run", &store).await?;
    counts_exactly(&Api::of(&deployment, &again), 4).await
}
