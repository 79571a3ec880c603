//! A subscription to the embedded bus: one member of a group, holding every partition of
//! its topics. It reads the log by sequence number from a cursor and delivers a record
//! only at or past its partition's position, so one indexed query per poll serves any
//! number of partitions; what this process just published is read from memory.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use orderflow_core::bus::{BusError, Offset, Record, StartFrom, Subscription};
use orderflow_core::idle::IdlePause;
use rusqlite::{Connection, params};

use super::durability::open_bus;
use super::members::{self, Membership};
use super::offsets::{Positions, SAVE_OFFSET_SQL, add_group_topic, start_positions};
use super::{Shared, failed, headers, lock, on_writer};
use crate::db::from_micros;

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
    /// Joins `group` (refused while another member holds its lease) and starts from its
    /// committed offsets, or from `start` on partitions it has none for.
    pub(super) async fn start(
        shared: &Arc<Shared>,
        group: &str,
        topics: &[&str],
        start: StartFrom,
    ) -> Result<Self, BusError> {
        let group = group.to_owned();
        let topics: Vec<String> = topics.iter().map(|t| (*t).to_owned()).collect();
        let (conn, positions, cursor, mut membership) = tokio::task::spawn_blocking({
            let (shared, group, topics) = (shared.clone(), group.clone(), topics.clone());
            move || -> rusqlite::Result<Result<_, BusError>> {
                let mut conn = open_bus(&shared.path)?;
                // One transaction: the group's lease is taken (or refused) against the
                // offsets it starts from, so a reset cannot slip in between; and one
                // snapshot: the offsets and the sequence number to scan after must agree
                // about which records exist, or a record published in between would
                // fall behind the cursor unread.
                let tx =
                    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let membership = match members::join(&shared, &tx, &group)? {
                    Ok(m) => m,
                    Err(refused) => return Ok(Err(refused)),
                };
                for t in &topics {
                    add_group_topic(&tx, &group, t)?;
                }
                let (positions, cursor) =
                    start_positions(&tx, &group, &topics, shared.partitions, start)?;
                tx.commit()?;
                Ok(Ok((conn, positions, cursor, membership)))
            }
        })
        .await
        .map_err(|e| failed(shared, e))?
        .map_err(|e| failed(shared, e))??;
        membership.keep_alive();
        Ok(Self {
            shared: shared.clone(),
            membership,
            conn: Arc::new(Mutex::new(conn)),
            group,
            topics,
            positions,
            cursor,
            recheck: IdlePause::default(),
        })
    }

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
        .map_err(|e| failed(&self.shared, e))?
        .map_err(|e| failed(&self.shared, e))
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
                let mut save = tx.prepare_cached(SAVE_OFFSET_SQL)?;
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
mod tests;
