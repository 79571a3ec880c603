//! Reaching the PostgreSQL event store: its pool, where a URL points (without the
//! password), and whether a database already has this build's migrations.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use orderflow_postgres::{PgEventStore, PoolSettings};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

pub(super) fn pool_settings(max_connections: u32, acquire_timeout_ms: u64) -> PoolSettings {
    PoolSettings {
        max_connections,
        acquire_timeout: Duration::from_millis(acquire_timeout_ms),
        schema: None,
    }
}

/// Where a PostgreSQL URL points, without its password, for messages.
pub fn postgres_place(url: &str) -> String {
    match url.parse::<PgConnectOptions>() {
        Ok(o) => format!(
            "{}:{}/{}",
            o.get_host(),
            o.get_port(),
            o.get_database().unwrap_or_default()
        ),
        Err(_) => "the --store URL".to_owned(),
    }
}

/// Connects to the PostgreSQL event store at `url`, which runs the migrations it lacks.
pub(super) async fn connect_postgres(
    url: &str,
    pool: &PoolSettings,
) -> anyhow::Result<Arc<PgEventStore>> {
    Ok(Arc::new(
        PgEventStore::connect(url, pool).await.with_context(|| {
            format!(
                "connecting to the PostgreSQL event store at {}",
                postgres_place(url)
            )
        })?,
    ))
}

/// The PostgreSQL migrations of this build, the ones `PgEventStore::connect` runs.
static PG_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../postgres/migrations");

/// Fails, saying why, unless the database at `url` already has every migration of this
/// build: then connecting the event store (which runs the missing ones) changes nothing.
pub(super) async fn require_migrated(url: &str, pool: &PoolSettings) -> anyhow::Result<()> {
    let place = postgres_place(url);
    let options = url
        .parse::<PgConnectOptions>()
        .context("reading the PostgreSQL URL")?;
    let db = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(pool.acquire_timeout)
        .connect_with(options)
        .await
        .map_err(|e| match e {
            sqlx::Error::PoolTimedOut => anyhow::anyhow!(
                "no PostgreSQL server answered at {place} within {} ms (--db-acquire-timeout-ms)",
                pool.acquire_timeout.as_millis()
            ),
            e => anyhow::Error::new(e).context(format!("cannot connect to PostgreSQL at {place}")),
        })?;
    let applied: Vec<i64> = async {
        let table: Option<String> =
            sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations')::text")
                .fetch_one(&db)
                .await?;
        match table {
            None => Ok(Vec::new()),
            Some(_) => {
                sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                    .fetch_all(&db)
                    .await
            }
        }
    }
    .await
    .with_context(|| format!("reading the migrations applied to {place}"))?;
    db.close().await;
    if applied.is_empty() {
        bail!(
            "no orderflow event store in the database {place} (it has none of orderflow's \
             tables): point --store at one"
        );
    }
    let missing: Vec<String> = PG_MIGRATIONS
        .iter()
        .filter(|m| m.migration_type.is_up_migration() && !applied.contains(&m.version))
        .map(|m| format!("{} {}", m.version, m.description))
        .collect();
    if !missing.is_empty() {
        bail!(
            "the database {place} lacks migrations of this build of orderflow ({}); this \
             command only reads and does not change it: run `orderflow migrate --store …` \
             first",
            missing.join(", ")
        );
    }
    Ok(())
}
