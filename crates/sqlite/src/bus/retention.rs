//! Retention on the embedded bus: records past the retention period are deleted as Kafka
//! deletes whole old segments, a prefix of each partition at a time, by a pass that a
//! publish starts in the background when one is due.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use orderflow_core::bus::BusError;
use rusqlite::{OptionalExtension, params};

use super::{Shared, SqliteBus, failed, lock, on_writer};
use crate::db::{self, micros};

/// How often publishing also deletes records past retention (more often under a
/// shorter retention period).
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

/// The retention period, and the passes that enforce it.
#[derive(Debug)]
pub(super) struct Retention {
    period: Duration,
    /// When the last pass was started.
    last: Mutex<Option<Instant>>,
    /// A pass is running (one may outlast [`RETENTION_EVERY`] after a long stop: a week
    /// of records to delete).
    running: AtomicBool,
    /// Tests hold a pass under way with it, to see what goes on beside it.
    #[cfg(test)]
    hold: tokio::sync::Mutex<()>,
}

impl Retention {
    /// Keeps records for `period`; the first pass is due one interval after opening.
    pub(super) fn new(period: Duration) -> Self {
        Self {
            period,
            last: Mutex::new(Some(Instant::now())),
            running: AtomicBool::new(false),
            #[cfg(test)]
            hold: tokio::sync::Mutex::new(()),
        }
    }

    /// Whether a pass is due; if so, it counts as started now.
    fn due(&self) -> bool {
        let mut last = lock(&self.last);
        let due = last.is_none_or(|t| t.elapsed() >= RETENTION_EVERY.min(self.period));
        if due {
            *last = Some(Instant::now());
        }
        due
    }
}

/// Marks the retention pass over when dropped, also if it panicked.
struct RetentionRunning(Arc<Shared>);

impl Drop for RetentionRunning {
    fn drop(&mut self) {
        self.0.retention.running.store(false, Ordering::Release);
    }
}

impl SqliteBus {
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
            Utc::now()
                - chrono::Duration::from_std(self.shared.retention.period).unwrap_or_default(),
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
        .map_err(|e| failed(&self.shared, e))?
        .map_err(|e| failed(&self.shared, e))?;
        #[cfg(test)]
        drop(self.shared.retention.hold.lock().await);
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

    /// Starts a retention pass in the background when one is due and none is running:
    /// the publisher does not wait for it.
    pub(super) fn start_retention_if_due(&self) {
        let retention = &self.shared.retention;
        if retention.due() && !retention.running.swap(true, Ordering::AcqRel) {
            let bus = self.clone();
            tokio::spawn(async move {
                let _running = RetentionRunning(bus.shared.clone());
                if let Err(e) = bus.enforce_retention().await {
                    tracing::warn!(error = %e, "deleting records past retention failed; will try again");
                }
            });
        }
    }
}

#[cfg(test)]
mod tests;
