//! Analytics in SQLite: counts, the events they came from, and the bus offsets they
//! reflect, each record's written in one commit of the shared writer.

use async_trait::async_trait;
use orderflow_core::bus::Offset;
use orderflow_core::read_model::generations::CountEvents;
use orderflow_core::read_model::{
    AnalyticsChange, AnalyticsOffsets, AnalyticsRecord, AnalyticsStore, AnalyticsSummary,
};
use orderflow_core::store::StoreError;
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::{Error, SqliteReadModel};

/// Moves the record's partition past it; no row changes when it is already there.
const ADVANCE_SQL: &str = "INSERT INTO analytics_offsets (topic, partition, next_offset) \
     VALUES (?1, ?2, ?3 + 1) ON CONFLICT (topic, partition) DO UPDATE \
     SET next_offset = excluded.next_offset WHERE next_offset <= ?3";

fn apply(tx: &Connection, record: &AnalyticsRecord) -> Result<bool, Error> {
    let moved = tx.prepare_cached(ADVANCE_SQL)?.execute(params![
        record.topic,
        record.partition,
        record.offset as i64
    ])? == 1;
    if !moved || record.changes.is_empty() {
        return Ok(false);
    }
    count(tx, &record.event_id, &record.changes)
}

/// Applies an event's changes unless it was counted before; returns whether it was new.
fn count(tx: &Connection, event_id: &Uuid, changes: &[AnalyticsChange]) -> Result<bool, Error> {
    let new = tx
        .prepare_cached(
            "INSERT INTO analytics_seen_events (event_id) VALUES (?1) ON CONFLICT DO NOTHING",
        )?
        .execute([event_id.as_bytes()])?
        == 1;
    if new {
        for change in changes {
            match change {
                AnalyticsChange::OrderStatus { order_id, status } => tx
                    .prepare_cached(
                        "INSERT INTO analytics_order_status (order_id, status) VALUES (?1, ?2) \
                         ON CONFLICT (order_id) DO UPDATE SET status = excluded.status",
                    )?
                    .execute(params![order_id, status])?,
                AnalyticsChange::Revenue { day, delta_cents } => tx
                    .prepare_cached(
                        "INSERT INTO analytics_revenue (day, cents) VALUES (?1, ?2) \
                         ON CONFLICT (day) DO UPDATE SET cents = cents + excluded.cents",
                    )?
                    .execute(params![day, delta_cents])?,
            };
        }
    }
    Ok(new)
}

#[async_trait]
impl CountEvents for SqliteReadModel {
    async fn count_events(
        &self,
        events: Vec<(Uuid, Vec<AnalyticsChange>)>,
    ) -> Result<(), StoreError> {
        self.write(move |tx| {
            for (event_id, changes) in &events {
                if !changes.is_empty() {
                    count(tx, event_id, changes)?;
                }
            }
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl AnalyticsStore for SqliteReadModel {
    async fn record(&self, record: AnalyticsRecord) -> Result<bool, StoreError> {
        // Its statements fail only when the database does; should one fail after
        // another changed a row, its whole group fails, which such a failure warrants.
        // So it needs no savepoint of its own.
        let recorded = self.writer.write_checked(move |tx| apply(tx, &record));
        Ok(recorded.await?)
    }

    async fn offsets(&self) -> Result<AnalyticsOffsets, StoreError> {
        Ok(self
            .reads
            .with(|conn| -> Result<AnalyticsOffsets, Error> {
                let bus = conn
                    .query_row("SELECT identity FROM analytics_bus WHERE id = 1", [], |r| {
                        r.get(0)
                    })
                    .optional()?
                    .flatten();
                let mut stmt = conn.prepare_cached(
                    "SELECT topic, partition, next_offset FROM analytics_offsets \
                     ORDER BY topic, partition",
                )?;
                let next = stmt
                    .query_map([], |r| {
                        Ok(Offset {
                            topic: r.get(0)?,
                            partition: r.get(1)?,
                            offset: r.get::<_, i64>(2)? as u64,
                        })
                    })?
                    .collect::<Result<_, _>>()?;
                Ok(AnalyticsOffsets { bus, next })
            })
            .await?)
    }

    async fn start_on_bus(&self, bus: Option<String>) -> Result<(), StoreError> {
        self.write(move |tx| {
            tx.execute("DELETE FROM analytics_offsets", [])?;
            tx.execute(
                "INSERT INTO analytics_bus (id, identity) VALUES (1, ?1) \
                 ON CONFLICT (id) DO UPDATE SET identity = excluded.identity",
                [bus],
            )?;
            Ok(())
        })
        .await
    }

    async fn summary(&self) -> Result<AnalyticsSummary, StoreError> {
        Ok(self
            .reads
            .with(|conn| -> Result<AnalyticsSummary, Error> {
                let mut summary = AnalyticsSummary::default();
                let mut stmt = conn.prepare_cached(
                    "SELECT status, COUNT(*) FROM analytics_order_status GROUP BY status",
                )?;
                for row in
                    stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?)))?
                {
                    let (status, n) = row?;
                    summary.orders_by_status.insert(status, n);
                }
                let mut stmt = conn.prepare_cached("SELECT day, cents FROM analytics_revenue")?;
                for row in
                    stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
                {
                    let (day, cents) = row?;
                    summary.revenue_cents_by_day.insert(day, cents);
                }
                Ok(summary)
            })
            .await?)
    }
}
