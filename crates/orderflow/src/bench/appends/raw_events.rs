//! The like-for-like baseline of the 64-writer scenario: the rows the store's writers
//! append (one event to a new stream each, with time-ordered ids), inserted by plain SQL
//! into a table of the same shape as the store's events table (the same columns and
//! indexes), in transactions as large as the store's groups. What the store adds over
//! this is its own work: the version and event-id checks, the queue, the group.
//!
//! Without the same indexes, a raw transaction wrote fewer pages than a group of the
//! same size, and its WAL grew through most of the run where the store's wrapped early
//! and was overwritten in place; on the machine where this was found, a commit that
//! grew the WAL took about 5.5-6.6 ms against 4.6 ms for one that overwrote it.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::Utc;
use uuid::Uuid;

/// Plain inserts into an events-shaped table, `synchronous=FULL`.
pub struct RawEvents {
    conn: rusqlite::Connection,
}

impl RawEvents {
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let conn = rusqlite::Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(orderflow_sqlite::EVENTS_TABLE)?;
        Ok(Self { conn })
    }

    /// Inserts `n` events, each the first of a new stream, `per_tx` to a transaction;
    /// returns how many and the time taken.
    pub fn insert(&mut self, n: usize, per_tx: usize) -> anyhow::Result<(usize, Duration)> {
        let payload = vec![7u8; 64];
        let start = Instant::now();
        for first in (0..n).step_by(per_tx.max(1)) {
            let tx = self.conn.transaction()?;
            {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO events (stream_id, version, event_id, event_type, schema_id, \
                     payload, occurred_at, recorded_at, correlation_id, causation_id, actor) \
                     VALUES (?1, 1, ?2, 'Bench', 1, ?3, ?4, ?4, ?1, NULL, 'bench')",
                )?;
                for _ in 0..per_tx.min(n - first) {
                    let stream = format!("order-{}", Uuid::now_v7());
                    let event_id = Uuid::now_v7();
                    let now = Utc::now().timestamp_micros();
                    insert.execute(rusqlite::params![stream, event_id.as_bytes(), payload, now])?;
                }
            }
            tx.commit()?;
        }
        Ok((n, start.elapsed()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_asked_for_is_inserted_even_in_a_last_short_transaction() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("raw.db");
        let mut raw = RawEvents::open(&path)?;
        let (count, _) = raw.insert(100, 36)?;
        let rows: usize = rusqlite::Connection::open(&path)?.query_row(
            "SELECT COUNT(*) FROM events",
            [],
            |r| r.get(0),
        )?;
        assert_eq!((count, rows), (100, 100));
        Ok(())
    }
}
