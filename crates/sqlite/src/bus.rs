//! The embedded event bus: a durable, partitioned log in SQLite with Kafka's semantics.
//!
//! Every record gets its partition from Kafka's default partitioner, an offset within
//! its partition, and a global sequence number. Subscriptions read by sequence (see
//! [`subscription`]). Consumer groups commit offsets (the next record to read). Several
//! processes may share the file: a waiting poll is woken at once by a publish in the
//! same process and re-checks the file briefly otherwise. A group has one member at a
//! time, which holds the group's lease in the file (see [`members`]): the log has no
//! rebalancing, so a second member and a reset of a running group are refused. Records
//! past retention are deleted in the background (see [`retention`]). A damaged file is
//! reported as such, never as a bus unavailable for a while (see [`damage`]).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use orderflow_core::bus::{
    BusError, DEFAULT_PARTITIONS, DEFAULT_RETENTION, EventBus, GroupLag, Offset, OutgoingRecord,
    Record, RetainedLog, StartFrom, Subscription, partition_for,
};
use rusqlite::{Connection, params};
use tokio::sync::Notify;

use crate::db::{self, from_micros, micros};

mod damage;
mod durability;
mod headers;
mod members;
mod offsets;
mod read;
mod retention;
mod subscription;
mod tail;

use damage::{classify, failed};
use durability::{flush_in, open_bus};
pub use members::GroupMember;
use members::MemberLease;
use offsets::{SAVE_OFFSET_SQL, add_group_topic, group_lags, log_start, start_offset};
use retention::Retention;
use subscription::SqliteSubscription;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS records (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    topic      TEXT    NOT NULL,
    partition  INTEGER NOT NULL,
    offset     INTEGER NOT NULL,
    key        TEXT    NOT NULL,
    value      BLOB    NOT NULL,
    headers    BLOB    NOT NULL,
    timestamp  INTEGER NOT NULL,
    UNIQUE (topic, partition, offset)
);
DROP INDEX IF EXISTS records_by_time;
CREATE TABLE IF NOT EXISTS identity (
    id TEXT NOT NULL -- made once, when the file is created
);
CREATE TABLE IF NOT EXISTS partition_ends (
    topic       TEXT    NOT NULL,
    partition   INTEGER NOT NULL,
    next_offset INTEGER NOT NULL,
    PRIMARY KEY (topic, partition)
);
CREATE TABLE IF NOT EXISTS group_topics (
    group_id TEXT NOT NULL,
    topic    TEXT NOT NULL,
    PRIMARY KEY (group_id, topic)
);
CREATE TABLE IF NOT EXISTS flushes (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS group_offsets (
    group_id  TEXT    NOT NULL,
    topic     TEXT    NOT NULL,
    partition INTEGER NOT NULL,
    offset    INTEGER NOT NULL,
    PRIMARY KEY (group_id, topic, partition)
);
";

#[derive(Debug)]
struct Shared {
    path: std::path::PathBuf,
    partitions: u32,
    retention: Retention,
    lease: MemberLease,
    /// What SQLite reported when it found the file damaged, once it has.
    damaged: Mutex<Option<String>>,
    writer: Mutex<Connection>,
    published: Notify,
    /// What this process published last, for subscriptions to read from memory.
    tail: Mutex<tail::Tail>,
}

/// The embedded bus over one SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteBus {
    shared: Arc<Shared>,
}

impl SqliteBus {
    /// Opens the bus with 12 partitions per topic and 7 days of retention.
    pub fn open(path: &Path) -> Result<Self, BusError> {
        Self::open_with(path, DEFAULT_PARTITIONS, DEFAULT_RETENTION)
    }

    pub fn open_with(path: &Path, partitions: u32, retention: Duration) -> Result<Self, BusError> {
        Self::open_with_lease(path, partitions, retention, MemberLease::default())
    }

    fn open_with_lease(
        path: &Path,
        partitions: u32,
        retention: Duration,
        lease: MemberLease,
    ) -> Result<Self, BusError> {
        if partitions == 0 {
            return Err(BusError::Config(
                "a topic needs at least one partition".into(),
            ));
        }
        let failed = |e| classify(path, e);
        let conn = open_bus(path).map_err(failed)?;
        conn.execute_batch(SCHEMA).map_err(failed)?;
        conn.execute_batch(members::SCHEMA).map_err(failed)?;
        conn.execute(
            "INSERT INTO identity (id) SELECT ?1 WHERE NOT EXISTS (SELECT 1 FROM identity)",
            [uuid::Uuid::new_v4().to_string()],
        )
        .map_err(failed)?;
        Ok(Self {
            shared: Arc::new(Shared {
                path: path.to_owned(),
                partitions,
                retention: Retention::new(retention),
                lease,
                damaged: Mutex::default(),
                writer: Mutex::new(conn),
                published: Notify::new(),
                tail: Mutex::default(),
            }),
        })
    }

    /// The group's live member (the embedded bus has at most one), if it has one.
    pub async fn member(&self, group: &str) -> Result<Option<GroupMember>, BusError> {
        let group = group.to_owned();
        on_writer(&self.shared, move |conn, shared| {
            members::live_member(conn, &group, shared.lease)
        })
        .await
    }
}

/// Appends the records in one transaction; returns them as stored, with their sequence
/// numbers.
fn publish_in(
    conn: &mut Connection,
    records: Vec<OutgoingRecord>,
    partitions: u32,
) -> rusqlite::Result<Vec<(i64, Record)>> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut stored = Vec::with_capacity(records.len());
    {
        let mut next = tx.prepare_cached(
            "INSERT INTO partition_ends (topic, partition, next_offset) VALUES (?1, ?2, 1) \
             ON CONFLICT (topic, partition) DO UPDATE SET next_offset = next_offset + 1 \
             RETURNING next_offset - 1",
        )?;
        let mut insert = tx.prepare_cached(
            "INSERT INTO records (topic, partition, offset, key, value, headers, timestamp) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for r in records {
            let partition = partition_for(r.key.as_bytes(), partitions);
            let offset: u64 = next.query_row(params![r.topic, partition], |row| row.get(0))?;
            let timestamp = micros(r.timestamp);
            insert.execute(params![
                r.topic,
                partition,
                offset,
                r.key,
                r.value,
                headers::encode(&r.headers),
                timestamp,
            ])?;
            let record = Record {
                topic: r.topic,
                partition,
                offset,
                key: r.key,
                value: r.value,
                headers: r.headers,
                // As read back from the file: whole microseconds.
                timestamp: from_micros(timestamp),
            };
            stored.push((tx.last_insert_rowid(), record));
        }
    }
    tx.commit()?;
    Ok(stored)
}
/// Runs `f` on the bus's one writer connection, on the blocking pool.
async fn on_writer<T: Send + 'static>(
    shared: &Arc<Shared>,
    f: impl FnOnce(&mut Connection, &Shared) -> rusqlite::Result<T> + Send + 'static,
) -> Result<T, BusError> {
    let on = shared.clone();
    tokio::task::spawn_blocking(move || f(&mut lock(&on.writer), &on))
        .await
        .map_err(|e| failed(shared, e))?
        .map_err(|e| failed(shared, e))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[async_trait]
impl EventBus for SqliteBus {
    async fn publish(&self, records: Vec<OutgoingRecord>) -> Result<(), BusError> {
        if records.is_empty() {
            return Ok(());
        }
        on_writer(&self.shared, |conn, shared| {
            let stored = publish_in(conn, records, shared.partitions)?;
            // Still under the writer lock, so runs enter the tail in sequence order.
            lock(&shared.tail).extend(stored);
            Ok(())
        })
        .await?;
        self.shared.published.notify_waiters();
        self.start_retention_if_due();
        Ok(())
    }

    async fn flush(&self) -> Result<(), BusError> {
        on_writer(&self.shared, |conn, _| flush_in(conn)).await
    }

    async fn subscribe(
        &self,
        group: &str,
        topics: &[&str],
        start: StartFrom,
    ) -> Result<Box<dyn Subscription>, BusError> {
        Ok(Box::new(
            SqliteSubscription::start(&self.shared, group, topics, start).await?,
        ))
    }

    async fn end_offsets(&self, topic: &str) -> Result<Vec<(u32, u64)>, BusError> {
        let topic = topic.to_owned();
        on_writer(&self.shared, move |conn, _| {
            let mut stmt = conn.prepare_cached(
                "SELECT partition, next_offset FROM partition_ends WHERE topic = ?1 ORDER BY partition",
            )?;
            let rows = stmt.query_map([topic], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        })
        .await
    }

    async fn retained(&self, topic: &str) -> Result<RetainedLog, BusError> {
        let topic = topic.to_owned();
        let partitions = self.shared.partitions;
        let starts = on_writer(&self.shared, move |conn, _| {
            read::retained_starts(conn, &topic)
        })
        .await?;
        Ok(RetainedLog { partitions, starts })
    }

    async fn identity(&self) -> Result<Option<String>, BusError> {
        on_writer(&self.shared, |conn, _| {
            conn.query_row("SELECT id FROM identity", [], |r| r.get(0))
        })
        .await
        .map(Some)
    }

    /// The last record of each partition (one lookup by key each) holds the highest
    /// position published to it: the relay publishes in store order.
    async fn published_up_to(&self) -> Result<Option<u64>, BusError> {
        on_writer(&self.shared, |conn, _| {
            let mut stmt = conn.prepare_cached(
                "SELECT r.headers FROM partition_ends e JOIN records r \
                 ON r.topic = e.topic AND r.partition = e.partition AND r.offset = e.next_offset - 1 \
                 WHERE e.topic NOT LIKE '%.dlq'",
            )?;
            let rows = stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
            let mut highest = None;
            for blob in rows {
                highest = highest.max(read::position_of(&headers::decode(&blob?)));
            }
            Ok(highest)
        })
        .await
    }

    /// Refused while the group has a live member, whose commits would undo the reset.
    async fn reset_offsets(
        &self,
        group: &str,
        topics: &[&str],
        to: StartFrom,
    ) -> Result<Vec<Offset>, BusError> {
        self.reset(group, topics, to, &[]).await
    }

    async fn reset_offsets_to(
        &self,
        group: &str,
        topics: &[&str],
        to: &[Offset],
    ) -> Result<Vec<Offset>, BusError> {
        self.reset(group, topics, StartFrom::Earliest, to).await
    }

    /// One read of the `(topic, partition, offset)` index, filtered by key.
    async fn records_of_key(
        &self,
        topic: &str,
        key: &str,
        max: usize,
    ) -> Result<Vec<Record>, BusError> {
        let partition = partition_for(key.as_bytes(), self.shared.partitions);
        self.read(
            "SELECT topic, partition, offset, key, value, headers, timestamp FROM records \
             WHERE topic = ?1 AND partition = ?2 AND key = ?3 ORDER BY offset LIMIT ?4",
            (topic.to_owned(), partition, key.to_owned(), max as i64),
        )
        .await
    }

    /// One read of the `(topic, partition, offset)` index.
    async fn records(&self, topic: &str, max: usize) -> Result<Vec<Record>, BusError> {
        self.read(
            "SELECT topic, partition, offset, key, value, headers, timestamp FROM records \
             WHERE topic = ?1 ORDER BY partition, offset LIMIT ?2",
            (topic.to_owned(), max as i64),
        )
        .await
    }

    async fn groups(&self) -> Result<Vec<GroupLag>, BusError> {
        let shared = self.shared.clone();
        let on = shared.clone();
        tokio::task::spawn_blocking(move || -> rusqlite::Result<Vec<GroupLag>> {
            let conn = db::open(&on.path)?;
            group_lags(&conn, on.partitions, on.lease)
        })
        .await
        .map_err(|e| failed(&shared, e))?
        .map_err(|e| failed(&shared, e))
    }

    /// Damage met by any earlier call; otherwise a fresh connection reads the file's
    /// header, its schema and the bus's identity (a read that no cached page answers).
    async fn check_integrity(&self) -> Result<(), BusError> {
        if let Some(found) = lock(&self.shared.damaged).clone() {
            return Err(BusError::Corrupt(found));
        }
        let shared = self.shared.clone();
        let on = shared.clone();
        tokio::task::spawn_blocking(move || -> rusqlite::Result<()> {
            let conn = db::open(&on.path)?;
            conn.query_row("SELECT id FROM identity", [], |r| r.get::<_, String>(0))
                .map(drop)
        })
        .await
        .map_err(|e| failed(&shared, e))?
        .map_err(|e| failed(&shared, e))
    }
}

impl SqliteBus {
    /// Moves a stopped group's partitions of `topics` to `given`'s offset for them (no
    /// lower than the log's start), the others to `to`.
    async fn reset(
        &self,
        group: &str,
        topics: &[&str],
        to: StartFrom,
        given: &[Offset],
    ) -> Result<Vec<Offset>, BusError> {
        let group = group.to_owned();
        let topics: Vec<String> = topics.iter().map(|t| (*t).to_owned()).collect();
        let given: HashMap<(String, u32), u64> = given
            .iter()
            .map(|o| ((o.topic.clone(), o.partition), o.offset))
            .collect();
        on_writer(&self.shared, move |conn, shared| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            if let Err(running) = members::check_stopped(&tx, &group, shared.lease)? {
                return Ok(Err(running));
            }
            let mut offsets = Vec::new();
            for topic in &topics {
                add_group_topic(&tx, &group, topic)?;
                for partition in 0..shared.partitions {
                    let offset = match given.get(&(topic.clone(), partition)) {
                        Some(&offset) => offset.max(log_start(&tx, topic, partition)?),
                        None => start_offset(&tx, topic, partition, to)?,
                    };
                    tx.prepare_cached(SAVE_OFFSET_SQL)?
                        .execute(params![group, topic, partition, offset])?;
                    offsets.push(Offset {
                        topic: topic.clone(),
                        partition,
                        offset,
                    });
                }
            }
            tx.commit()?;
            Ok(Ok(offsets))
        })
        .await?
    }
}

#[cfg(test)]
mod contract {
    use super::SqliteBus;

    orderflow_core::event_bus_contract!(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let bus = SqliteBus::open(&dir.path().join("bus.db")).expect("open bus");
        (bus, dir)
    });
}

#[cfg(test)]
mod tests;
