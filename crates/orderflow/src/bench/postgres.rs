//! `orderflow bench --store postgres://…`: durable appends per second through the
//! PostgreSQL event store with 8 and 64 concurrent writers, next to plain INSERT
//! baselines on the same server in the same run (single-row commits over 8 connections,
//! and 100-row multi-row inserts over 8 connections).

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use chrono::Utc;
use orderflow_core::store::{AppendRequest, EventStore, ExpectedVersion, NewEvent};
use orderflow_postgres::{PgEventStore, PoolSettings};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use uuid::Uuid;

const CONNECTIONS: u32 = 8;

async fn pool_in(url: &str, schema: &str, connections: u32) -> anyhow::Result<PgPool> {
    let options: PgConnectOptions = url.parse()?;
    Ok(PgPoolOptions::new()
        .max_connections(connections)
        .connect_with(options.options([("search_path", schema)]))
        .await?)
}

/// Rows per second inserting `n` rows over 8 connections, `per_statement` rows per
/// INSERT (each its own commit).
async fn raw_inserts(pool: &PgPool, n: usize, per_statement: usize) -> anyhow::Result<f64> {
    sqlx::query("DROP TABLE IF EXISTS raw")
        .execute(pool)
        .await?;
    sqlx::query(
        "CREATE TABLE raw (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \
         stream TEXT, version BIGINT, payload BYTEA)",
    )
    .execute(pool)
    .await?;
    let start = Instant::now();
    let per_conn = n / CONNECTIONS as usize;
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..CONNECTIONS {
        let pool = pool.clone();
        tasks.spawn(async move {
            for i in (0..per_conn).step_by(per_statement) {
                let rows = per_statement.min(per_conn - i);
                let streams: Vec<String> = (0..rows).map(|r| format!("s-{c}-{}", i + r)).collect();
                let versions: Vec<i64> = vec![1; rows];
                let payloads: Vec<Vec<u8>> = vec![vec![7u8; 64]; rows];
                sqlx::query("INSERT INTO raw (stream, version, payload) SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::bytea[])")
                    .bind(&streams)
                    .bind(&versions)
                    .bind(&payloads)
                    .execute(&pool)
                    .await?;
            }
            Ok::<_, sqlx::Error>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok((per_conn * CONNECTIONS as usize) as f64 / start.elapsed().as_secs_f64())
}

async fn store_appends(store: Arc<PgEventStore>, n: usize, writers: usize) -> anyhow::Result<f64> {
    let start = Instant::now();
    let per_writer = n / writers;
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..writers {
        let store = store.clone();
        tasks.spawn(async move {
            for i in 0..per_writer {
                let stream = format!("bench-{w}-{i}-{}", Uuid::new_v4().simple());
                store
                    .append(vec![AppendRequest {
                        stream_id: stream.clone(),
                        expected: ExpectedVersion::NoStream,
                        events: vec![NewEvent {
                            event_id: Uuid::new_v4(),
                            event_type: "Bench".into(),
                            schema_id: 1,
                            payload: vec![7u8; 64],
                            occurred_at: Utc::now(),
                            correlation_id: stream,
                            causation_id: None,
                            actor: "bench".into(),
                        }],
                    }])
                    .await?;
            }
            Ok::<_, orderflow_core::StoreError>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok((per_writer * writers) as f64 / start.elapsed().as_secs_f64())
}

pub async fn appends(url: &str, n: usize) -> anyhow::Result<()> {
    let schema = format!("orderflow_bench_{}", Uuid::new_v4().simple());
    let admin = PgPool::connect(url)
        .await
        .with_context(|| format!("connecting to {url}"))?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&admin)
        .await?;
    let result = async {
        let raw = pool_in(url, &schema, CONNECTIONS).await?;
        let single = raw_inserts(&raw, n, 1).await?;
        let batched = raw_inserts(&raw, n * 10, 100).await?;
        let settings = PoolSettings {
            schema: Some(schema.clone()),
            max_connections: CONNECTIONS,
            ..PoolSettings::default()
        };
        let store = Arc::new(PgEventStore::connect(url, &settings).await?);
        let eight = store_appends(store.clone(), n, 8).await?;
        let many = store_appends(store, n * 4, 64).await?;
        out!("durable appends (PostgreSQL at {url})");
        out!("  baseline single-row INSERT commits, 8 connections   {single:>9.0} rows/s");
        out!("  baseline 100-row INSERTs, 8 connections             {batched:>9.0} rows/s");
        out!(
            "  event store, 8 writers                              {eight:>9.0} events/s  = {:.2}x single-row (target >= 0.8x)",
            eight / single
        );
        out!(
            "  event store, 64 writers (group commit)              {many:>9.0} events/s  = {:.2}x 100-row (target >= 1.0x)",
            many / batched
        );
        // Little's law: 64 writers that each wait for a commit have at most 64 appends
        // in flight, against 8 x 100 rows in the batched baseline's. At the single-row
        // baseline's commit latency (8 connections, each always committing) that is
        // at most 64 / 8 times its rate.
        let ceiling = 8.0 * single;
        out!(
            "    ceiling for 64 waiting writers                    {ceiling:>9.0} events/s  = {:.2}x 100-row (8 x single-row over 8 connections)",
            ceiling / batched
        );
        anyhow::Ok(())
    }
    .await;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&admin)
        .await?;
    result
}
