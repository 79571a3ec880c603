//! Importing events as they were recorded (see [`ImportEvents`]): checked against the
//! head and the streams' versions, then inserted with their own positions in one write
//! of the writer's. SQLite's next position is one above the highest, so appends
//! afterwards continue above the import.

use std::collections::HashSet;

use async_trait::async_trait;
use orderflow_core::store::{Appended, ImportEvents, StoreError, StoredEvent, check_import};
use rusqlite::{Connection, params};

use super::{Error, SqliteEventStore};
use crate::db::micros;

#[async_trait]
impl ImportEvents for SqliteEventStore {
    async fn import(&self, events: Vec<StoredEvent>) -> Result<(), StoreError> {
        let Some(last) = events.last().map(|e| Appended {
            version: e.version,
            position: e.position,
        }) else {
            return Ok(());
        };
        self.write_checked(move |tx| import_in(tx, &events)).await?;
        orderflow_core::store::advance_head(&self.appended, &[last]);
        Ok(())
    }
}

/// Decides the whole import first, writing nothing; then inserts, which cannot fail on
/// a key it was checked against.
fn import_in(tx: &Connection, events: &[StoredEvent]) -> Result<(), Error> {
    let head: u64 = tx.query_row("SELECT COALESCE(MAX(position), 0) FROM events", [], |r| {
        r.get(0)
    })?;
    let mut version =
        tx.prepare_cached("SELECT COALESCE(MAX(version), 0) FROM events WHERE stream_id = ?1")?;
    check_import(head, events, |stream| {
        version
            .query_row([stream], |r| r.get(0))
            .map_err(|e| StoreError::Unavailable(Box::new(e)))
    })?;
    let mut known =
        tx.prepare_cached("SELECT EXISTS (SELECT 1 FROM events WHERE event_id = ?1)")?;
    let mut ids = HashSet::new();
    for event in events {
        if !ids.insert(event.event_id)
            || known.query_row([event.event_id.as_bytes()], |r| r.get(0))?
        {
            return Err(StoreError::DuplicateEvent(event.event_id).into());
        }
    }
    let mut insert = tx.prepare_cached(
        "INSERT INTO events (position, stream_id, version, event_id, event_type, schema_id, \
         payload, occurred_at, recorded_at, correlation_id, causation_id, actor, trace_context) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?;
    for e in events {
        insert.execute(params![
            e.position,
            e.stream_id,
            e.version,
            e.event_id.as_bytes(),
            e.event_type,
            e.schema_id,
            e.payload,
            micros(e.occurred_at),
            micros(e.recorded_at),
            e.correlation_id,
            e.causation_id.map(|c| c.as_bytes().to_vec()),
            e.actor,
            e.trace_context,
        ])?;
    }
    Ok(())
}
