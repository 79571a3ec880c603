//! How far the bus's commits are durable: atomic and surviving a killed process at every
//! commit, synced to the disk only when flushed.

use std::path::Path;

use chrono::Utc;
use rusqlite::Connection;

use crate::db::{self, micros};

/// Opens a bus connection. Its commits are atomic and survive a crash of the process,
/// but are not synced to the disk one by one (`synchronous=NORMAL`): the bus is a copy
/// of the event store, whose commits are. After a power loss the bus may lack its last
/// records, and only ever a suffix (the write-ahead log keeps commits in order), while
/// the store still has them: the relay publishes them again from its checkpoint, which
/// it saves only after [`orderflow_core::bus::EventBus::flush`]. Kafka makes the same trade: a broker
/// acknowledges what its replicas hold in memory and leaves fsync to the page cache.
/// That takes one fsync per hop off the pipeline's path (store commit, bus commit).
pub(super) fn open_bus(path: &Path) -> rusqlite::Result<Connection> {
    let conn = db::open(path)?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(conn)
}

/// Syncs the write-ahead log, and with it every commit before: one commit with
/// `synchronous=FULL` (an fsync covers the whole file).
pub(super) fn flush_in(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "synchronous", "FULL")?;
    let flushed = conn.execute(
        "INSERT INTO flushes (id, at) VALUES (1, ?1) ON CONFLICT (id) DO UPDATE SET at = excluded.at",
        [micros(Utc::now())],
    );
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    flushed.map(drop)
}
