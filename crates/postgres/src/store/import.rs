//! Importing events as they were recorded (see [`ImportEvents`]), in one transaction
//! that holds the append lock exclusively: no append takes a position meanwhile, the
//! rows go in with their own positions (`OVERRIDING SYSTEM VALUE`), and the identity
//! sequence is moved past the highest, so appends afterwards continue above it. Holes
//! the import leaves below the sequence's value are permanent, as the reader's gap
//! safety requires (see the store's module doc).

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use orderflow_core::store::{Appended, ImportEvents, StoreError, StoredEvent, check_import};
use sqlx::Row;
use uuid::Uuid;

use super::{APPEND_LOCK, PgEventStore, unavailable};

#[async_trait]
impl ImportEvents for PgEventStore {
    async fn import(&self, events: Vec<StoredEvent>) -> Result<(), StoreError> {
        let Some(last) = events.last().map(|e| Appended {
            version: e.version,
            position: e.position,
        }) else {
            return Ok(());
        };
        let mut tx = self.pool.begin().await.map_err(unavailable)?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(APPEND_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        let head: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(position), 0) FROM events")
            .fetch_one(&mut *tx)
            .await
            .map_err(unavailable)?;
        let streams: Vec<&str> = events
            .iter()
            .map(|e| e.stream_id.as_str())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let versions: HashMap<String, i64> = sqlx::query(
            "SELECT stream_id, MAX(version) AS version FROM events \
             WHERE stream_id = ANY($1) GROUP BY stream_id",
        )
        .bind(&streams)
        .fetch_all(&mut *tx)
        .await
        .map_err(unavailable)?
        .iter()
        .map(|r| Ok((r.try_get("stream_id")?, r.try_get("version")?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(unavailable)?;
        check_import(head as u64, &events, |stream| {
            Ok(versions.get(stream).map_or(0, |v| *v as u64))
        })?;
        let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
        let mut seen = HashSet::new();
        if let Some(twice) = ids.iter().find(|id| !seen.insert(**id)) {
            return Err(StoreError::DuplicateEvent(*twice));
        }
        let known: Option<Uuid> =
            sqlx::query_scalar("SELECT event_id FROM events WHERE event_id = ANY($1) LIMIT 1")
                .bind(&ids)
                .fetch_optional(&mut *tx)
                .await
                .map_err(unavailable)?;
        if let Some(id) = known {
            return Err(StoreError::DuplicateEvent(id));
        }
        insert(&mut tx, &events).await.map_err(unavailable)?;
        sqlx::query(
            "SELECT setval(pg_get_serial_sequence('events', 'position'), \
             GREATEST($1, nextval(pg_get_serial_sequence('events', 'position')) - 1))",
        )
        .bind(last.position as i64)
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)?;
        orderflow_core::store::advance_head(&self.appended, &[last]);
        Ok(())
    }
}

/// Inserts the rows, every column given, in one statement.
async fn insert(tx: &mut sqlx::PgConnection, events: &[StoredEvent]) -> Result<(), sqlx::Error> {
    let column = |f: fn(&StoredEvent) -> i64| events.iter().map(f).collect::<Vec<_>>();
    let text = |f: fn(&StoredEvent) -> &str| events.iter().map(f).collect::<Vec<_>>();
    sqlx::query(
        "INSERT INTO events (position, stream_id, version, event_id, event_type, schema_id, \
         payload, occurred_at, recorded_at, correlation_id, causation_id, actor, trace_context) \
         OVERRIDING SYSTEM VALUE \
         SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], $4::uuid[], $5::text[], \
         $6::int[], $7::bytea[], $8::timestamptz[], $9::timestamptz[], $10::text[], \
         $11::uuid[], $12::text[], $13::text[])",
    )
    .bind(column(|e| e.position as i64))
    .bind(text(|e| &e.stream_id))
    .bind(column(|e| e.version as i64))
    .bind(events.iter().map(|e| e.event_id).collect::<Vec<_>>())
    .bind(text(|e| &e.event_type))
    .bind(
        events
            .iter()
            .map(|e| e.schema_id as i32)
            .collect::<Vec<_>>(),
    )
    .bind(events.iter().map(|e| e.payload.clone()).collect::<Vec<_>>())
    .bind(events.iter().map(|e| e.occurred_at).collect::<Vec<_>>())
    .bind(events.iter().map(|e| e.recorded_at).collect::<Vec<_>>())
    .bind(text(|e| &e.correlation_id))
    .bind(events.iter().map(|e| e.causation_id).collect::<Vec<_>>())
    .bind(text(|e| &e.actor))
    .bind(
        events
            .iter()
            .map(|e| e.trace_context.clone())
            .collect::<Vec<_>>(),
    )
    .execute(tx)
    .await
    .map(drop)
}
