//! `orderflow bench --store postgres://…`: durable appends per second through the
//! PostgreSQL event store with 8 and 64 concurrent writers, next to plain INSERT
//! baselines on the same server, in rounds that alternate store and baselines: single-row
//! commits over 8 connections; commits as large as the store's groups (their mean size in
//! the same round, measured by its writer) over one connection, as the store commits one
//! group at a time, into a copy of the events table (`LIKE events INCLUDING ALL`: the
//! same columns, identity and indexes); and 100-row commits over 8 connections. The lean
//! raw tables take their position from an identity column, as the events table does.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use orderflow_core::commit_stats::GroupCommitStats;
use orderflow_core::store::{AppendRequest, EventStore, ExpectedVersion, NewEvent};
use orderflow_postgres::{PgEventStore, PoolSettings};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use uuid::Uuid;

use super::groups::{Tally, describe, like_for_like, sum, verdict};
use super::scratch::{check_durable, filesystem_of, is_in_memory};
use super::{MANY_WRITERS, ROUNDS};

const CONNECTIONS: u32 = 8;

async fn pool_in(url: &str, schema: &str, connections: u32) -> anyhow::Result<PgPool> {
    let options: PgConnectOptions = url.parse()?;
    Ok(PgPoolOptions::new()
        .max_connections(connections)
        .connect_with(options.options([("search_path", schema)]))
        .await?)
}

/// A baseline table, shaped as the store's events table takes its positions.
async fn raw_table(pool: &PgPool, name: &str) -> anyhow::Result<()> {
    // The name is ours, not input.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE {name} (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \
         stream TEXT, version BIGINT, payload BYTEA)"
    )))
    .execute(pool)
    .await?;
    Ok(())
}

/// Inserts `n` rows into `table` over `connections` connections, `per_statement` rows
/// per INSERT (each its own commit); returns how many and the time taken.
async fn raw_inserts(
    pool: &PgPool,
    table: &'static str,
    n: usize,
    connections: usize,
    per_statement: usize,
) -> anyhow::Result<(usize, Duration)> {
    let start = Instant::now();
    let per_conn = n / connections;
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..connections {
        let pool = pool.clone();
        tasks.spawn(async move {
            for i in (0..per_conn).step_by(per_statement) {
                let rows = per_statement.min(per_conn - i);
                let streams: Vec<String> = (0..rows)
                    .map(|r| format!("s-{}-{c}-{}", Uuid::new_v4().simple(), i + r))
                    .collect();
                let versions: Vec<i64> = vec![1; rows];
                let payloads: Vec<Vec<u8>> = vec![vec![7u8; 64]; rows];
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO {table} (stream, version, payload) \
                     SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::bytea[])"
                )))
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
    Ok((per_conn * connections, start.elapsed()))
}

/// Inserts `n` events into `rawgroups` (a copy of the events table) over one
/// connection, one event to a new stream each, `per_statement` to an INSERT (each its
/// own commit); returns how many and the time taken.
async fn raw_events(
    pool: &PgPool,
    n: usize,
    per_statement: usize,
) -> anyhow::Result<(usize, Duration)> {
    let start = Instant::now();
    for first in (0..n).step_by(per_statement.max(1)) {
        let rows = per_statement.min(n - first);
        let streams: Vec<String> = (0..rows)
            .map(|_| format!("bench-{}", Uuid::new_v4().simple()))
            .collect();
        let event_ids: Vec<Uuid> = (0..rows).map(|_| Uuid::new_v4()).collect();
        let payloads: Vec<Vec<u8>> = vec![vec![7u8; 64]; rows];
        let now: Vec<chrono::DateTime<Utc>> = vec![Utc::now(); rows];
        sqlx::query(
            "INSERT INTO rawgroups (stream_id, version, event_id, event_type, schema_id, \
             payload, occurred_at, correlation_id, causation_id, actor) \
             SELECT s, 1, e, 'Bench', 1, p, o, s, NULL, 'bench' \
             FROM UNNEST($1::text[], $2::uuid[], $3::bytea[], $4::timestamptz[]) AS u(s, e, p, o)",
        )
        .bind(&streams)
        .bind(&event_ids)
        .bind(&payloads)
        .bind(&now)
        .execute(pool)
        .await?;
    }
    Ok((n, start.elapsed()))
}

async fn store_appends(
    store: &Arc<PgEventStore>,
    n: usize,
    writers: usize,
) -> anyhow::Result<(usize, Duration)> {
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
                            trace_context: None,
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
    Ok((per_writer * writers, start.elapsed()))
}

pub async fn appends(url: &str, n: usize, allow_tmpfs: bool) -> anyhow::Result<()> {
    let schema = format!("orderflow_bench_{}", Uuid::new_v4().simple());
    let admin = PgPool::connect(url)
        .await
        .with_context(|| format!("connecting to {url}"))?;
    out!(
        "append scenarios: {}",
        server_files(&admin, allow_tmpfs).await?
    );
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&admin)
        .await?;
    let result = measure(url, &schema, n).await;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&admin)
        .await?;
    result
}

/// Where the server keeps its files, and on what, when this machine can see them (a
/// server on this machine, and a role allowed to read `data_directory`); refuses a data
/// directory in memory unless `allow_tmpfs`.
async fn server_files(admin: &PgPool, allow_tmpfs: bool) -> anyhow::Result<String> {
    let dir: Option<String> = sqlx::query_scalar("SELECT current_setting('data_directory')")
        .fetch_one(admin)
        .await
        .ok();
    let Some(dir) = dir else {
        return Ok("the server's files (its data directory is not readable by this role)".into());
    };
    let path = Path::new(&dir);
    let Some(fs_type) = filesystem_of(path) else {
        return Ok(format!(
            "the server's files in {dir} (not on this machine, or its file system unknown)"
        ));
    };
    check_durable(path, Some(&fs_type), allow_tmpfs)?;
    let warning = if is_in_memory(&fs_type) {
        "  *** IN MEMORY: no append below is durable ***"
    } else {
        ""
    };
    Ok(format!(
        "the server's files in {dir} (on {fs_type}){warning}"
    ))
}

async fn measure(url: &str, schema: &str, n: usize) -> anyhow::Result<()> {
    let raw = pool_in(url, schema, CONNECTIONS).await?;
    for table in ["raw1", "raw100"] {
        raw_table(&raw, table).await?;
    }
    let settings = PoolSettings {
        schema: Some(schema.to_owned()),
        max_connections: CONNECTIONS,
        ..PoolSettings::default()
    };
    let store = Arc::new(PgEventStore::connect(url, &settings).await?);
    // The store's migrations made `events` in this schema.
    sqlx::query("CREATE TABLE rawgroups (LIKE events INCLUDING ALL)")
        .execute(&raw)
        .await?;
    let one_connection = pool_in(url, schema, 1).await?;
    let conns = CONNECTIONS as usize;
    let per_round = n / ROUNDS;
    let [mut single, mut batched, mut grouped, mut eight, mut many] = [Tally::default(); 5];
    let mut eight_groups = Vec::new();
    let mut many_groups = Vec::new();
    let mut group_rows = Vec::new();
    for _ in 0..ROUNDS {
        single.add(raw_inserts(&raw, "raw1", per_round, conns, 1).await?);
        let before = store.commit_stats();
        eight.add(store_appends(&store, per_round, 8).await?);
        eight_groups.push(store.commit_stats().since(&before));
        batched.add(raw_inserts(&raw, "raw100", per_round * 10, conns, 100).await?);
        let before = store.commit_stats();
        many.add(store_appends(&store, per_round * 4, MANY_WRITERS).await?);
        let groups = store.commit_stats().since(&before);
        // Like for like: the same rows, one commit as large as a group at a time.
        let rows = like_for_like(&groups);
        group_rows.push(rows.to_string());
        grouped.add(raw_events(&one_connection, groups.writes_total as usize, rows).await?);
        many_groups.push(groups);
    }
    let total = |all: &[GroupCommitStats]| all.iter().fold(Default::default(), |t, g| sum(&t, g));
    let (raw1, raw100, raw_g) = (single.rate(), batched.rate(), grouped.rate());
    let (eight_rate, many_rate) = (eight.rate(), many.rate());
    out!("durable appends (PostgreSQL at {url}; {ROUNDS} rounds, each next to its baselines)");
    out!("  baseline single-row INSERT commits, 8 connections   {raw1:>9.0} rows/s");
    out!("  baseline 100-row INSERTs, 8 connections             {raw100:>9.0} rows/s");
    out!(
        "  baseline group-sized INSERTs, 1 connection          {raw_g:>9.0} rows/s   (into a copy of the events table; rows/INSERT = the 64 writers' mean group size in each round: {})",
        group_rows.join(", ")
    );
    out!(
        "  event store, 8 writers                              {eight_rate:>9.0} events/s = {}",
        verdict(eight_rate / raw1, "single-row", 0.8)
    );
    out!(
        "    its group commits: {}",
        describe(&total(&eight_groups), eight.took)
    );
    out!(
        "  event store, {MANY_WRITERS} writers                             {many_rate:>9.0} events/s = {}; {:.2}x 100-row",
        verdict(many_rate / raw_g, "group-sized", 0.5),
        many_rate / raw100
    );
    out!(
        "    its group commits: {}",
        describe(&total(&many_groups), many.took)
    );
    Ok(())
}
