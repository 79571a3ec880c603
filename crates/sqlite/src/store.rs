//! The SQLite event store.
//!
//! Appends go through one connection that commits every request waiting at the moment
//! in a single transaction (group commit, [`group`]). Each append decides on the
//! versions and event ids it reads before it writes, so a conflict fails only its own
//! request and leaves nothing to roll back. SQLite has a single writer per file, so
//! global positions become visible strictly in order: a reader by position never skips
//! one.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use orderflow_core::store::{
    AppendRequest, Appended, Checkpoints, EventStore, StoreError, StoredEvent, StreamQuery,
};
use rusqlite::{Connection, OptionalExtension, params};

use tokio::sync::watch;
use uuid::Uuid;

use crate::db::{self, ReadPool, from_micros, micros};
use group::GroupWriter;

/// The events table and its correlation index, as the store creates them (the bench's
/// like-for-like baseline inserts into the same shape).
///
/// `position` is the rowid without `AUTOINCREMENT`: events are never deleted, so the next
/// rowid is always one past the largest, and `AUTOINCREMENT` (which only guards against
/// reusing the rowids of deleted rows) would cost an update of `sqlite_sequence`, and one
/// more page written, in every commit.
pub const EVENTS_TABLE: &str = "
CREATE TABLE IF NOT EXISTS events (
    position       INTEGER PRIMARY KEY,
    stream_id      TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    event_id       BLOB    NOT NULL UNIQUE,
    event_type     TEXT    NOT NULL,
    schema_id      INTEGER NOT NULL,
    payload        BLOB    NOT NULL,
    occurred_at    INTEGER NOT NULL,
    recorded_at    INTEGER NOT NULL,
    correlation_id TEXT    NOT NULL,
    causation_id   BLOB,
    actor          TEXT    NOT NULL,
    trace_context  TEXT,
    UNIQUE (stream_id, version)
);
CREATE INDEX IF NOT EXISTS events_by_correlation ON events (correlation_id, position);
";

/// The rest of the store's tables, beside [`EVENTS_TABLE`].
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS checkpoints (
    name     TEXT PRIMARY KEY,
    position INTEGER NOT NULL
);
";

const COLUMNS: &str = "position, stream_id, version, event_id, event_type, schema_id, payload, \
                       occurred_at, recorded_at, correlation_id, causation_id, actor, \
                       trace_context";

#[derive(Debug, thiserror::Error)]
enum Error {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Join(#[from] tokio::task::JoinError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<Error> for StoreError {
    fn from(e: Error) -> Self {
        match e {
            Error::Store(e) => e,
            Error::Sqlite(e) if db::is_damage(&e) => {
                StoreError::Corrupt(format!("the event store's SQLite file is damaged: {e}"))
            }
            other => StoreError::Unavailable(Box::new(other)),
        }
    }
}

/// Event store and checkpoints in one SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteEventStore {
    writer: GroupWriter,
    reads: ReadPool,
    /// The position of the last event this process's writer committed.
    appended: Arc<watch::Sender<u64>>,
}

impl SqliteEventStore {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let unavailable = |e: rusqlite::Error| StoreError::Unavailable(Box::new(e));
        let conn = db::open(path).map_err(unavailable)?;
        conn.execute_batch(EVENTS_TABLE).map_err(unavailable)?;
        add_trace_context(&conn).map_err(unavailable)?;
        conn.execute_batch(SCHEMA).map_err(unavailable)?;
        let head: u64 = conn
            .query_row("SELECT COALESCE(MAX(position), 0) FROM events", [], |r| {
                r.get(0)
            })
            .map_err(unavailable)?;
        Ok(Self {
            writer: GroupWriter::new(conn),
            reads: ReadPool::new(path),
            appended: Arc::new(watch::Sender::new(head)),
        })
    }

    /// What the appends' group commits did so far (see
    /// [`orderflow_core::commit_stats`]).
    pub fn commit_stats(&self) -> orderflow_core::commit_stats::GroupCommitStats {
        self.writer.stats()
    }

    /// Runs `f`, which fails only before it changes anything, in the writer's next
    /// group commit.
    async fn write_checked<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, StoreError> {
        Ok(self.writer.write_checked(f).await?)
    }
}

/// Gives an events table made before events carried a trace context its column (empty
/// for the events already there).
fn add_trace_context(conn: &Connection) -> rusqlite::Result<()> {
    let present: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM pragma_table_info('events') WHERE name = 'trace_context')",
        [],
        |r| r.get(0),
    )?;
    if !present {
        conn.execute_batch("ALTER TABLE events ADD COLUMN trace_context TEXT")?;
    }
    Ok(())
}

fn save_checkpoint(conn: &Connection, name: &str, position: u64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO checkpoints (name, position) VALUES (?1, ?2) \
         ON CONFLICT (name) DO UPDATE SET position = excluded.position",
    )?
    .execute(params![name, position])
    .map(drop)
}

/// Appends `requests` as one all-or-nothing write: first decides every request against
/// the stored versions and event ids (and the requests before it), writing nothing, then
/// inserts. So a refused append has changed nothing, and needs no savepoint
/// ([`GroupWriter::write_checked`]). The first event's id is left to the unique index:
/// its insert comes first, so when it fails nothing has changed yet, and the common
/// append of one event pays no lookup for it.
fn append_in(
    tx: &Connection,
    requests: &[AppendRequest],
    recorded_at: i64,
) -> Result<Vec<Appended>, Error> {
    let mut versions: HashMap<&str, u64> = HashMap::new();
    let mut ids = HashSet::new();
    let mut first_versions = Vec::with_capacity(requests.len());
    for request in requests {
        let actual = match versions.get(request.stream_id.as_str()) {
            Some(&version) => version,
            None => tx
                .prepare_cached(
                    "SELECT COALESCE(MAX(version), 0) FROM events WHERE stream_id = ?1",
                )?
                .query_row([&request.stream_id], |r| r.get(0))?,
        };
        if !request.expected.matches(actual) {
            return Err(StoreError::WrongExpectedVersion {
                stream_id: request.stream_id.clone(),
                expected: request.expected,
                actual,
            }
            .into());
        }
        for event in &request.events {
            let first = ids.is_empty();
            let known = || {
                tx.prepare_cached("SELECT EXISTS (SELECT 1 FROM events WHERE event_id = ?1)")?
                    .query_row([event.event_id.as_bytes()], |r| r.get::<_, bool>(0))
            };
            if !ids.insert(event.event_id) || (!first && known()?) {
                return Err(StoreError::DuplicateEvent(event.event_id).into());
            }
        }
        versions.insert(&request.stream_id, actual + request.events.len() as u64);
        first_versions.push(actual);
    }
    let mut insert = tx.prepare_cached(
        "INSERT INTO events (stream_id, version, event_id, event_type, schema_id, payload, \
         occurred_at, recorded_at, correlation_id, causation_id, actor, trace_context) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?;
    let mut out = Vec::with_capacity(requests.len());
    for (request, actual) in requests.iter().zip(first_versions) {
        let mut appended = Appended {
            version: actual,
            position: 0,
        };
        for event in &request.events {
            appended.version += 1;
            let inserted = insert.execute(params![
                request.stream_id,
                appended.version,
                event.event_id.as_bytes(),
                event.event_type,
                event.schema_id,
                event.payload,
                micros(event.occurred_at),
                recorded_at,
                event.correlation_id,
                event.causation_id.map(|c| c.as_bytes().to_vec()),
                event.actor,
                event.trace_context,
            ]);
            match inserted {
                Ok(_) => appended.position = tx.last_insert_rowid() as u64,
                // Versions were decided under the write lock and every later id looked
                // up, so the only key left to violate is the first event's id.
                Err(rusqlite::Error::SqliteFailure(f, _))
                    if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    return Err(StoreError::DuplicateEvent(event.event_id).into());
                }
                Err(e) => return Err(e.into()),
            }
        }
        out.push(appended);
    }
    Ok(out)
}

fn row_to_event(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredEvent> {
    let uuid = |bytes: Vec<u8>| Uuid::from_slice(&bytes).unwrap_or_default();
    Ok(StoredEvent {
        position: row.get(0)?,
        stream_id: row.get(1)?,
        version: row.get(2)?,
        event_id: uuid(row.get(3)?),
        event_type: row.get(4)?,
        schema_id: row.get(5)?,
        payload: row.get(6)?,
        occurred_at: from_micros(row.get(7)?),
        recorded_at: from_micros(row.get(8)?),
        correlation_id: row.get(9)?,
        causation_id: row.get::<_, Option<Vec<u8>>>(10)?.map(uuid),
        actor: row.get(11)?,
        trace_context: row.get(12)?,
    })
}

fn query_events(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<StoredEvent>, Error> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params, row_to_event)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[async_trait]
impl EventStore for SqliteEventStore {
    async fn append(&self, requests: Vec<AppendRequest>) -> Result<Vec<Appended>, StoreError> {
        let appended = self
            .write_checked(move |tx| append_in(tx, &requests, micros(chrono::Utc::now())))
            .await?;
        orderflow_core::store::advance_head(&self.appended, &appended);
        Ok(appended)
    }

    async fn read_stream(
        &self,
        stream_id: &str,
        query: StreamQuery,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let stream_id = stream_id.to_owned();
        let sql = format!(
            "SELECT {COLUMNS} FROM events WHERE stream_id = ?1 AND version > ?2 \
             AND version <= ?3 AND occurred_at <= ?4 ORDER BY version"
        );
        Ok(self
            .reads
            .with(move |conn| {
                query_events(
                    conn,
                    &sql,
                    params![
                        stream_id,
                        query.after_version,
                        query.up_to_version.map_or(i64::MAX, |v| v as i64),
                        query.until.map_or(i64::MAX, micros),
                    ],
                )
            })
            .await?)
    }

    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM events WHERE position > ?1 ORDER BY position LIMIT ?2");
        Ok(self
            .reads
            .with(move |conn| query_events(conn, &sql, params![after, limit as i64]))
            .await?)
    }

    /// Positions start at 1: everything is after 0.
    async fn read_correlated(&self, correlation_id: &str) -> Result<Vec<StoredEvent>, StoreError> {
        self.read_correlated_since(correlation_id, 0).await
    }

    /// Only the events after `seen`: SQLite has one writer per file, and a new event's
    /// position is one past the largest committed, so an event not visible at the
    /// earlier read has a position above everything that was, `seen` included.
    async fn read_correlated_since(
        &self,
        correlation_id: &str,
        seen: u64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let id = correlation_id.to_owned();
        let sql = format!(
            "SELECT {COLUMNS} FROM events WHERE correlation_id = ?1 AND position > ?2 \
             ORDER BY position"
        );
        Ok(self
            .reads
            .with(move |conn| query_events(conn, &sql, params![id, seen]))
            .await?)
    }

    async fn wait_for_append(&self, after: u64, timeout: std::time::Duration) {
        let mut appended = self.appended.subscribe();
        let _ = tokio::time::timeout(timeout, appended.wait_for(|head| *head > after)).await;
    }

    async fn head_position(&self) -> Result<u64, StoreError> {
        Ok(self
            .reads
            .with(|conn| -> Result<u64, Error> {
                Ok(
                    conn.query_row("SELECT COALESCE(MAX(position), 0) FROM events", [], |r| {
                        r.get(0)
                    })?,
                )
            })
            .await?)
    }
}

#[async_trait]
impl Checkpoints for SqliteEventStore {
    async fn load(&self, name: &str) -> Result<Option<u64>, StoreError> {
        let name = name.to_owned();
        Ok(self
            .reads
            .with(move |conn| -> Result<Option<u64>, Error> {
                Ok(conn
                    .query_row(
                        "SELECT position FROM checkpoints WHERE name = ?1",
                        [name],
                        |r| r.get(0),
                    )
                    .optional()?)
            })
            .await?)
    }

    async fn save(&self, name: &str, position: u64) -> Result<(), StoreError> {
        let name = name.to_owned();
        // One statement: it fails, if at all, without changing anything.
        self.write_checked(move |conn| Ok(save_checkpoint(conn, &name, position)?))
            .await
    }
}

pub(crate) mod group;
mod import;

#[cfg(test)]
mod contract {
    use orderflow_core::contract::store::Reopen;
    use orderflow_core::store::StoreError;

    use super::SqliteEventStore;

    #[async_trait::async_trait]
    impl Reopen for SqliteEventStore {
        async fn reopen(self) -> Result<Self, StoreError> {
            let path = self
                .reads
                .with(|conn| -> Result<_, super::Error> {
                    Ok(conn.path().map(std::path::PathBuf::from))
                })
                .await?
                .ok_or_else(|| StoreError::Unavailable("the store has no file".into()))?;
            drop(self);
            SqliteEventStore::open(&path)
        }
    }

    impl orderflow_core::contract::group_commit::CountsCommits for SqliteEventStore {
        fn commit_stats(&self) -> orderflow_core::commit_stats::GroupCommitStats {
            SqliteEventStore::commit_stats(self)
        }
    }

    /// A store in a temp dir of its own.
    async fn fresh_store() -> (SqliteEventStore, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteEventStore::open(&dir.path().join("events.db")).expect("open store");
        (store, dir)
    }

    orderflow_core::event_store_contract!(fresh_store());

    mod import {
        orderflow_core::event_import_contract!(super::fresh_store());
    }

    mod group_commit {
        orderflow_core::group_commit_contract!(super::fresh_store());
    }
}

#[cfg(test)]
mod tests;
