//! The embedded event bus: a durable, partitioned log in SQLite with Kafka's semantics.
//!
//! Every record gets its partition from Kafka's default partitioner, an offset within
//! its partition, and a global sequence number. A subscription reads by sequence and
//! delivers a record only at or past its partition's position, so one indexed query per
//! poll serves any number of partitions. Consumer groups commit offsets (the next record
//! to read). Several processes may share the file: a waiting poll is woken at once by a
//! publish in the same process and re-checks the file briefly otherwise. A group has one
//! member at a time, which holds the group's lease in the file (see [`members`]): the
//! log has no rebalancing, so a second member and a reset of a running group are
//! refused.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use orderflow_core::bus::{
    BusError, DEFAULT_PARTITIONS, DEFAULT_RETENTION, EventBus, GroupLag, Offset, OutgoingRecord,
    Record, StartFrom, Subscription, partition_for,
};
use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::Notify;

use orderflow_core::idle::IdlePause;

use crate::db::{self, from_micros, micros};

mod durability;
mod headers;
mod members;
mod offsets;
mod tail;

use durability::{flush_in, open_bus};
pub use members::GroupMember;
use members::{MemberLease, Membership};

use offsets::{Positions, group_lags, start_offset, start_positions};

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

/// How often publishing also deletes records past retention.
const RETENTION_EVERY: Duration = Duration::from_secs(60);
/// Records deleted per transaction by retention.
const RETENTION_CHUNK: usize = 1000;
/// Where a partition's retained log starts: its first record not past retention, in
/// offset order. Walks the partition's offset index from its start, so it reads what
/// retention will delete and one record more.
const RETENTION_BOUNDARY_SQL: &str = "SELECT offset FROM records \
    WHERE topic = ?1 AND partition = ?2 AND timestamp >= ?3 ORDER BY offset LIMIT 1";
/// One chunk of a partition's records below an offset.
const RETENTION_SQL: &str = "DELETE FROM records WHERE seq IN \
    (SELECT seq FROM records WHERE topic = ?1 AND partition = ?2 AND offset < ?3 \
     ORDER BY offset LIMIT ?4)";

fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> BusError {
    BusError::Unavailable(Box::new(e))
}

#[derive(Debug)]
struct Shared {
    path: std::path::PathBuf,
    partitions: u32,
    retention: Duration,
    lease: MemberLease,
    writer: Mutex<Connection>,
    published: Notify,
    /// What this process published last, for subscriptions to read from memory.
    tail: Mutex<tail::Tail>,
    last_retention: Mutex<Option<std::time::Instant>>,
    /// A retention pass is running (one may outlast [`RETENTION_EVERY`] after a long
    /// stop: a week of records to delete).
    retention_running: AtomicBool,
    /// Tests hold a retention pass under way with it, to see what goes on beside it.
    #[cfg(test)]
    retention_hold: tokio::sync::Mutex<()>,
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
        let conn = open_bus(path).map_err(unavailable)?;
        conn.execute_batch(SCHEMA).map_err(unavailable)?;
        conn.execute_batch(members::SCHEMA).map_err(unavailable)?;
        conn.execute(
            "INSERT INTO identity (id) SELECT ?1 WHERE NOT EXISTS (SELECT 1 FROM identity)",
            [uuid::Uuid::new_v4().to_string()],
        )
        .map_err(unavailable)?;
        Ok(Self {
            shared: Arc::new(Shared {
                path: path.to_owned(),
                partitions,
                retention,
                lease,
                writer: Mutex::new(conn),
                published: Notify::new(),
                tail: Mutex::default(),
                last_retention: Mutex::new(Some(std::time::Instant::now())),
                retention_running: AtomicBool::new(false),
                #[cfg(test)]
                retention_hold: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// Deletes records past the retention period; returns how many. As Kafka deletes
    /// whole old segments, retention deletes a prefix of each partition: the records
    /// before its first one not past retention, so a partition's log never has a hole
    /// (a record stamped earlier than one before it stays until that one goes). The
    /// bus keeps no index on time for it, which every publish would have to update
    /// (a leaf per partition it writes to): the boundary is found by walking the
    /// partition in offset order on a read connection, then the prefix is deleted
    /// [`RETENTION_CHUNK`] records at a time, each chunk its own transaction, so
    /// publishes and commits go on in between.
    pub async fn enforce_retention(&self) -> Result<usize, BusError> {
        let cutoff = micros(
            Utc::now() - chrono::Duration::from_std(self.shared.retention).unwrap_or_default(),
        );
        let shared = self.shared.clone();
        let boundaries = tokio::task::spawn_blocking(move || -> rusqlite::Result<_> {
            let conn = db::open(&shared.path)?;
            let ends: Vec<(String, u32, u64)> = conn
                .prepare("SELECT topic, partition, next_offset FROM partition_ends")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let mut boundary = conn.prepare(RETENTION_BOUNDARY_SQL)?;
            ends.into_iter()
                .map(|(topic, partition, end)| {
                    let first_kept: Option<u64> = boundary
                        .query_row(params![topic, partition, cutoff], |r| r.get(0))
                        .optional()?;
                    Ok((topic, partition, first_kept.unwrap_or(end)))
                })
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .await
        .map_err(unavailable)?
        .map_err(unavailable)?;
        #[cfg(test)]
        drop(self.shared.retention_hold.lock().await);
        let mut deleted = 0;
        for (topic, partition, below) in boundaries {
            loop {
                let topic = topic.clone();
                let n = on_writer(&self.shared, move |conn, shared| {
                    let n = conn.prepare_cached(RETENTION_SQL)?.execute(params![
                        topic,
                        partition,
                        below,
                        RETENTION_CHUNK
                    ])?;
                    if n > 0 {
                        // Deleted records may be in the tail; a read goes to the file.
                        lock(&shared.tail).clear();
                    }
                    Ok(n)
                })
                .await?;
                deleted += n;
                if n < RETENTION_CHUNK {
                    break;
                }
            }
        }
        Ok(deleted)
    }

    /// The group's live member (the embedded bus has at most one), if it has one.
    pub async fn member(&self, group: &str) -> Result<Option<GroupMember>, BusError> {
        let group = group.to_owned();
        on_writer(&self.shared, move |conn, shared| {
            members::live_member(conn, &group, shared.lease)
        })
        .await
    }

    fn retention_due(&self) -> bool {
        let mut last = self
            .shared
            .last_retention
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let due = last.is_none_or(|t| t.elapsed() >= RETENTION_EVERY);
        if due {
            *last = Some(std::time::Instant::now());
        }
        due
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

/// Marks the retention pass over when dropped, also if it panicked.
struct RetentionRunning(Arc<Shared>);

impl Drop for RetentionRunning {
    fn drop(&mut self) {
        self.0.retention_running.store(false, Ordering::Release);
    }
}

/// Runs `f` on the bus's one writer connection, on the blocking pool.
async fn on_writer<T: Send + 'static>(
    shared: &Arc<Shared>,
    f: impl FnOnce(&mut Connection, &Shared) -> rusqlite::Result<T> + Send + 'static,
) -> Result<T, BusError> {
    let shared = shared.clone();
    tokio::task::spawn_blocking(move || f(&mut lock(&shared.writer), &shared))
        .await
        .map_err(unavailable)?
        .map_err(unavailable)
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
        if self.retention_due() && !self.shared.retention_running.swap(true, Ordering::AcqRel) {
            // In the background: the publisher does not wait for it.
            let bus = self.clone();
            tokio::spawn(async move {
                let _running = RetentionRunning(bus.shared.clone());
                if let Err(e) = bus.enforce_retention().await {
                    tracing::warn!(error = %e, "deleting records past retention failed; will try again");
                }
            });
        }
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
        let shared = self.shared.clone();
        let group = group.to_owned();
        let topics: Vec<String> = topics.iter().map(|t| (*t).to_owned()).collect();
        let (conn, positions, cursor, mut membership) = tokio::task::spawn_blocking({
            let (group, topics) = (group.clone(), topics.clone());
            move || -> rusqlite::Result<Result<_, BusError>> {
                let mut conn = open_bus(&shared.path)?;
                // One transaction: the group's lease is taken (or refused) against the
                // offsets it starts from, so a reset cannot slip in between; and one
                // snapshot: the offsets and the sequence number to scan after must agree
                // about which records exist, or a record published in between would
                // fall behind the cursor unread.
                let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let membership = match members::join(&shared, &tx, &group)? {
                    Ok(m) => m,
                    Err(refused) => return Ok(Err(refused)),
                };
                for t in &topics {
                    tx.execute(
                        "INSERT INTO group_topics (group_id, topic) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                        params![group, t],
                    )?;
                }
                let (positions, cursor) =
                    start_positions(&tx, &group, &topics, shared.partitions, start)?;
                tx.commit()?;
                Ok(Ok((conn, positions, cursor, membership)))
            }
        })
        .await
        .map_err(unavailable)?
        .map_err(unavailable)??;
        membership.keep_alive();
        Ok(Box::new(SqliteSubscription {
            shared: self.shared.clone(),
            membership,
            conn: Arc::new(Mutex::new(conn)),
            group,
            topics,
            positions,
            cursor,
            recheck: IdlePause::default(),
        }))
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
                let position = headers::decode(&blob?)
                    .into_iter()
                    .find(|(name, _)| name == "position")
                    .and_then(|(_, v)| std::str::from_utf8(&v).ok()?.parse::<u64>().ok());
                highest = highest.max(position);
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
        let group = group.to_owned();
        let topics: Vec<String> = topics.iter().map(|t| (*t).to_owned()).collect();
        on_writer(&self.shared, move |conn, shared| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            if let Err(running) = members::check_stopped(&tx, &group, shared.lease)? {
                return Ok(Err(running));
            }
            let mut offsets = Vec::new();
            for topic in &topics {
                tx.execute(
                    "INSERT INTO group_topics (group_id, topic) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                    params![group, topic],
                )?;
                for partition in 0..shared.partitions {
                    let offset = start_offset(&tx, topic, partition, to)?;
                    tx.execute(
                        "INSERT INTO group_offsets (group_id, topic, partition, offset) VALUES (?1, ?2, ?3, ?4) \
                         ON CONFLICT (group_id, topic, partition) DO UPDATE SET offset = excluded.offset",
                        params![group, topic, partition, offset],
                    )?;
                    offsets.push(Offset { topic: topic.clone(), partition, offset });
                }
            }
            tx.commit()?;
            Ok(Ok(offsets))
        })
        .await?
    }

    async fn groups(&self) -> Result<Vec<GroupLag>, BusError> {
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || -> rusqlite::Result<Vec<GroupLag>> {
            let conn = db::open(&shared.path)?;
            group_lags(&conn, shared.partitions)
        })
        .await
        .map_err(unavailable)?
        .map_err(unavailable)
    }
}

/// One member's subscription; it holds all partitions of its topics.
#[derive(Debug)]
pub struct SqliteSubscription {
    shared: Arc<Shared>,
    /// The group's lease, given back when the subscription is dropped.
    membership: Membership,
    conn: Arc<Mutex<Connection>>,
    group: String,
    topics: Vec<String>,
    positions: Positions,
    cursor: i64,
    /// When to re-read the file for other processes' records.
    recheck: IdlePause,
}

/// The records after a cursor (first parameter) on any of `topics` topics (the next
/// parameters), oldest first, at most the last parameter of them. `+topic` keeps SQLite
/// off the topic indexes: through them it would gather and sort every record the topics
/// ever had, on every poll. Walking the sequence from the cursor reads only what is new.
fn fetch_sql(topics: usize) -> String {
    let placeholders = vec!["?"; topics].join(", ");
    format!(
        "SELECT seq, topic, partition, offset, key, value, headers, timestamp FROM records \
         WHERE seq > ? AND +topic IN ({placeholders}) ORDER BY seq LIMIT ?"
    )
}

impl SqliteSubscription {
    /// Reads what this process just published from memory when it can, from the file
    /// otherwise; then skips records before each partition's position.
    async fn fetch(&mut self, max: usize) -> Result<Vec<Record>, BusError> {
        let in_memory = lock(&self.shared.tail).read_after(self.cursor, &self.topics, max);
        let (rows, read_to) = match in_memory {
            Some(read) => read,
            None => self.read_file(max).await?,
        };
        self.cursor = self.cursor.max(read_to);
        let mut out = Vec::with_capacity(rows.len());
        for (_, record) in rows {
            let position = self
                .positions
                .entry((record.topic.clone(), record.partition))
                .or_insert(0);
            if record.offset >= *position {
                *position = record.offset + 1;
                out.push(record);
            }
        }
        Ok(out)
    }

    /// Up to `max` records of the subscribed topics after the cursor, and the sequence
    /// number read up to: past the other topics' records too, when fewer than `max` came
    /// back (one snapshot, and sequence numbers commit in order, so none can appear
    /// below it later).
    async fn read_file(&self, max: usize) -> Result<(Vec<(i64, Record)>, i64), BusError> {
        let conn = self.conn.clone();
        let topics = self.topics.clone();
        let cursor = self.cursor;
        tokio::task::spawn_blocking(move || -> rusqlite::Result<_> {
            let mut conn = lock(&conn);
            let snapshot = conn.transaction()?;
            let sql = fetch_sql(topics.len());
            let mut args: Vec<rusqlite::types::Value> = vec![cursor.into()];
            args.extend(topics.into_iter().map(rusqlite::types::Value::from));
            args.push((max as i64).into());
            let rows: Vec<(i64, Record)> = snapshot
                .prepare_cached(&sql)?
                .query_map(rusqlite::params_from_iter(args), |r| {
                    Ok((
                        r.get(0)?,
                        Record {
                            topic: r.get(1)?,
                            partition: r.get(2)?,
                            offset: r.get(3)?,
                            key: r.get(4)?,
                            value: r.get(5)?,
                            headers: headers::decode(&r.get::<_, Vec<u8>>(6)?),
                            timestamp: from_micros(r.get(7)?),
                        },
                    ))
                })?
                .collect::<rusqlite::Result<_>>()?;
            let read_to = if rows.len() < max {
                snapshot
                    .prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM records")?
                    .query_row([], |r| r.get(0))?
            } else {
                rows.last().map_or(cursor, |(seq, _)| *seq)
            };
            snapshot.commit()?;
            Ok((rows, read_to))
        })
        .await
        .map_err(unavailable)?
        .map_err(unavailable)
    }
}

#[async_trait]
impl Subscription for SqliteSubscription {
    async fn poll(&mut self, max: usize, wait: Duration) -> Result<Vec<Record>, BusError> {
        self.membership.check()?;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let shared = self.shared.clone();
            let published = shared.published.notified();
            let records = self.fetch(max).await?;
            if !records.is_empty() {
                self.recheck.found();
                return Ok(records);
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(records);
            }
            // A publish in this process wakes the poll at once; other processes'
            // records are seen at the next re-read of the file.
            let recheck = (tokio::time::Instant::now() + self.recheck.take()).min(deadline);
            tokio::select! {
                _ = published => {}
                _ = tokio::time::sleep_until(recheck) => {}
            }
        }
    }

    async fn commit(&mut self, offsets: &[Offset]) -> Result<(), BusError> {
        // Through the bus's one writer connection: no lock waits within the process.
        let group = self.group.clone();
        let offsets = offsets.to_vec();
        let fence = self.membership.fence();
        on_writer(&self.shared, move |conn, _| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            // A member fenced since its lease lapsed must not undo what came after.
            if let Err(fenced) = fence.check_in(&tx)? {
                return Ok(Err(fenced));
            }
            {
                let mut save = tx.prepare_cached(
                    "INSERT INTO group_offsets (group_id, topic, partition, offset) VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT (group_id, topic, partition) DO UPDATE SET offset = excluded.offset",
                )?;
                for o in &offsets {
                    save.execute(params![group, o.topic, o.partition, o.offset])?;
                }
            }
            tx.commit().map(Ok)
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
