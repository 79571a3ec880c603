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
//! This store makes positions commit in order instead: every append takes one
//! transaction-scoped advisory lock before it takes positions, and holds it until it
//! commits. PostgreSQL makes a commit visible before it releases the transaction's locks,
//! so the next append can only take a higher position after the previous one is visible.
//! Positions therefore become visible strictly in order, every reader by position is
//! safe, and so is `head_position`. The cost is that appends from all processes take
//! turns for the length of their transaction; the store keeps those transactions short
//! (one round trip per request) and callers batch (one transaction may carry many
//! requests). Rolled-back appends leave holes in the numbering, never gaps that fill in
//! later. Appends waiting at the same moment share one transaction (group commit, see
//! `group.rs`).

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use orderflow_core::store::{
    AppendRequest, Appended, Checkpoints, EventStore, StoreError, StoredEvent, StreamQuery,
};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{PgPool, Row};

/// The advisory lock every append holds while it takes positions ("orderflo").
const APPEND_LOCK: i64 = 0x6f72_6465_7266_6c6f;

/// A query over every column of `events`, with the rest of the statement appended.
macro_rules! select_events {
    ($rest:literal) => {
        concat!(
            "SELECT position, stream_id, version, event_id, event_type, schema_id, payload, ",
            "occurred_at, recorded_at, correlation_id, causation_id, actor FROM events ",
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
    writer: tokio::sync::mpsc::UnboundedSender<group::Job>,
}

impl PgEventStore {
    /// Connects and runs the migrations.
    pub async fn connect(url: &str, settings: &PoolSettings) -> Result<Self, StoreError> {
        let mut options = PgConnectOptions::from_str(url).map_err(unavailable)?;
        // Plans for this store's queries depend on the array sizes and the table's
        // growth since it was last analysed; a generic plan cached while the table was
        // small would scan it whole later.
        options = options.options([("plan_cache_mode", "force_custom_plan")]);
        if let Some(schema) = &settings.schema {
            options = options.options([("search_path", schema.as_str())]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout)
            .connect_with(options)
            .await
            .map_err(unavailable)?;
        let store = Self {
            writer: group::spawn_writer(pool.clone()),
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
        answer.await.map_err(|_| stopped())?
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
        let rows = sqlx::query(select_events!(
            "WHERE position > $1 ORDER BY position LIMIT $2"
        ))
        .bind(after as i64)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        rows_to_events(rows)
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

mod group;

#[cfg(test)]
mod tests;
