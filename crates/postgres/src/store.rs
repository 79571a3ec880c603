//! The PostgreSQL event store.
//!
//! # Gap safety
//!
//! Global positions come from an identity sequence, and a sequence hands out numbers in
//! the order transactions *ask*, not the order they *commit*: a transaction that took
//! position 10 may commit after one that took 11. A reader "from position 9" that saw 11
//! first would move past 10 and never see it. Filtering by the oldest in-flight
//! transaction (`pg_snapshot_xmin`) does not close this on its own, because transaction
//! ids are also assigned in an order unrelated to the sequence's.
//!
//! Appends here do not take turns; their commits overlap, as independent inserts do.
//! Instead a reader never moves past a *hole*:
//!
//! - Every append holds one advisory lock, `APPEND_LOCK`, in *shared* mode from before it
//!   takes positions until it commits. Shared holders do not wait for one another.
//! - `read_all(after, …)` returns what it reads if the positions run on from `after + 1`
//!   without a hole. Committed rows are final, so nothing can appear among them later.
//!   This is the common case, and costs one query.
//! - Where a position is missing, its append may still be in flight, or may have rolled
//!   back (a conflict, say) and left a hole that never fills. The reader then notes the
//!   sequence's last value `L`, takes the lock in *exclusive* mode for an instant (which
//!   waits until every append in flight has committed or rolled back: PostgreSQL makes a
//!   commit visible before it releases the transaction's locks), and reads again up to
//!   `L`. Every position up to `L` was taken by an append that held the shared lock or
//!   had already finished, so after the wait every hole up to `L` is permanent.
//!
//! The identity sequence must keep its default `CACHE 1`: a session that cached numbers
//! ahead could hand one out below `L` after the wait. `head_position` is the highest
//! committed position; it may run ahead of a hole for a moment, which only the lag
//! figures see.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use orderflow_core::store::{
    AppendRequest, Appended, Checkpoints, EventStore, StoreError, StoredEvent, StreamQuery,
};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{PgPool, Row};

/// The advisory lock appends hold shared while they take positions and commit, and a
/// reader that meets a hole takes exclusively for an instant ("orderflo").
const APPEND_LOCK: i64 = 0x6f72_6465_7266_6c6f;

/// A query over every column of `events`, with the rest of the statement appended.
macro_rules! select_events {
    ($rest:literal) => {
        concat!(
            "SELECT position, stream_id, version, event_id, event_type, schema_id, payload, ",
            "occurred_at, recorded_at, correlation_id, causation_id, actor, trace_context FROM events ",
            $rest
        )
    };
}

/// Connection pool settings.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// A schema to work in (`search_path`), e.g. one per test.
    pub schema: Option<String>,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(10),
            schema: None,
        }
    }
}

fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Unavailable(Box::new(e))
}

/// Event store and checkpoints in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgEventStore {
    pool: PgPool,
    writer: group::Writer,
    /// The highest position an append of this process committed at: wakes followers.
    appended: Arc<tokio::sync::watch::Sender<u64>>,
}

impl PgEventStore {
    /// Connects and runs the migrations.
    pub async fn connect(url: &str, settings: &PoolSettings) -> Result<Self, StoreError> {
        let mut options = PgConnectOptions::from_str(url).map_err(unavailable)?;
        // PostgreSQL's default plan caching: every query here has an index for its
        // condition, and their generic plans use it even on an empty table (checked
        // with EXPLAIN under force_generic_plan). Planning each execution afresh
        // (force_custom_plan) cost a third of the append rate once appends went
        // through one statement per group: with `orderflow bench --store`, 8 writers
        // made 0.56-0.66x the single-row baseline that way and 0.73-1.02x without.
        if let Some(schema) = &settings.schema {
            options = options.options([("search_path", schema.as_str())]);
        }
        connect::preflight(&options).await.map_err(unavailable)?;
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout)
            .connect_with(options)
            .await
            .map_err(unavailable)?;
        let store = Self {
            writer: group::spawn_writer(pool.clone(), group::IN_FLIGHT),
            appended: Arc::new(tokio::sync::watch::Sender::new(0)),
            pool,
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Applies the versioned migrations in `migrations/` that have not run yet.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations")
            .run(&self.pool)
            .await
            .map_err(unavailable)
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// What the appends' group commits did so far (see
    /// [`orderflow_core::commit_stats`]).
    pub fn commit_stats(&self) -> orderflow_core::commit_stats::GroupCommitStats {
        self.writer.stats()
    }
}

fn row_to_event(row: &PgRow) -> Result<StoredEvent, sqlx::Error> {
    Ok(StoredEvent {
        position: row.try_get::<i64, _>("position")? as u64,
        stream_id: row.try_get("stream_id")?,
        version: row.try_get::<i64, _>("version")? as u64,
        event_id: row.try_get("event_id")?,
        event_type: row.try_get("event_type")?,
        schema_id: row.try_get::<i32, _>("schema_id")? as u32,
        payload: row.try_get("payload")?,
        occurred_at: row.try_get("occurred_at")?,
        recorded_at: row.try_get("recorded_at")?,
        correlation_id: row.try_get("correlation_id")?,
        causation_id: row.try_get("causation_id")?,
        actor: row.try_get("actor")?,
        trace_context: row.try_get("trace_context")?,
    })
}

fn rows_to_events(rows: Vec<PgRow>) -> Result<Vec<StoredEvent>, StoreError> {
    rows.iter()
        .map(row_to_event)
        .collect::<Result<_, _>>()
        .map_err(unavailable)
}

#[async_trait]
impl EventStore for PgEventStore {
    async fn append(&self, requests: Vec<AppendRequest>) -> Result<Vec<Appended>, StoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let stopped = || StoreError::Unavailable("the append writer has stopped".into());
        self.writer
            .send(group::Job { requests, reply })
            .map_err(|_| stopped())?;
        let appended = answer.await.map_err(|_| stopped())??;
        orderflow_core::store::advance_head(&self.appended, &appended);
        Ok(appended)
    }

    async fn read_stream(
        &self,
        stream_id: &str,
        query: StreamQuery,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let until: DateTime<Utc> = query.until.unwrap_or(DateTime::<Utc>::MAX_UTC);
        let rows = sqlx::query(select_events!(
            "WHERE stream_id = $1 AND version > $2 AND version <= $3 AND occurred_at <= $4 \
             ORDER BY version"
        ))
        .bind(stream_id)
        .bind(query.after_version as i64)
        .bind(query.up_to_version.map_or(i64::MAX, |v| v as i64))
        .bind(until)
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        rows_to_events(rows)
    }

    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let read = |up_to: i64| {
            sqlx::query(select_events!(
                "WHERE position > $1 AND position <= $2 ORDER BY position LIMIT $3"
            ))
            .bind(after as i64)
            .bind(up_to)
            .bind(limit as i64)
            .fetch_all(&self.pool)
        };
        let rows = read(i64::MAX).await.map_err(unavailable)?;
        let events = rows_to_events(rows)?;
        if runs_on_from(after, &events) {
            return Ok(events);
        }
        // A hole: wait out the appends in flight, then every hole up to `last` is final.
        let last: i64 = sqlx::query_scalar(
            "SELECT COALESCE(pg_sequence_last_value(\
             pg_get_serial_sequence('events', 'position')::regclass), 0)",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(unavailable)?;
        // Its own transaction: the lock is released as soon as it is granted.
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(APPEND_LOCK)
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        rows_to_events(read(last).await.map_err(unavailable)?)
    }

    async fn read_correlated(&self, correlation_id: &str) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = sqlx::query(select_events!(
            "WHERE correlation_id = $1 ORDER BY position"
        ))
        .bind(correlation_id)
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        rows_to_events(rows)
    }

    /// Appends of this process wake the wait at once; other processes' appends are seen
    /// at the timeout. A position seen here may still be behind a hole, which `read_all`
    /// then waits out.
    async fn wait_for_append(&self, after: u64, timeout: Duration) {
        let mut appended = self.appended.subscribe();
        let _ = tokio::time::timeout(timeout, appended.wait_for(|head| *head > after)).await;
    }

    async fn head_position(&self) -> Result<u64, StoreError> {
        let head: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(position), 0) FROM events")
            .fetch_one(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(head as u64)
    }
}

#[async_trait]
impl Checkpoints for PgEventStore {
    async fn load(&self, name: &str) -> Result<Option<u64>, StoreError> {
        let position: Option<i64> =
            sqlx::query_scalar("SELECT position FROM checkpoints WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await
                .map_err(unavailable)?;
        Ok(position.map(|p| p as u64))
    }

    async fn save(&self, name: &str, position: u64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO checkpoints (name, position) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET position = excluded.position",
        )
        .bind(name)
        .bind(position as i64)
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(())
    }
}

/// Whether `events` (in position order) are exactly the positions after `after`.
fn runs_on_from(after: u64, events: &[StoredEvent]) -> bool {
    events
        .iter()
        .zip(after + 1..)
        .all(|(event, position)| event.position == position)
}

mod connect;
mod group;
mod import;

#[cfg(test)]
mod tests;
