//! Read models in SQLite: order and stock summaries with the position they reflect,
//! and the analytics tables with the bus offsets they reflect ([`analytics`]).

use std::path::Path;

use async_trait::async_trait;
use orderflow_core::read_model::{
    OrderLineSummary, OrderQuery, OrderSummary, ReadModel, ReadModelBatch, StockSummary,
    address_from_stored, address_to_stored,
};
use orderflow_core::store::StoreError;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, params};

use crate::db::{self, ReadPool, from_micros, micros};
use crate::store::group::GroupWriter;

/// The keyed tables are `WITHOUT ROWID`: a row lives in its key's b-tree alone, so an
/// update is one b-tree change instead of two (the rowid table and the key's index), and
/// rows written with upserts stay where they are instead of moving to the end of the
/// table (which `INSERT OR REPLACE` does: a delete and a new rowid), so a commit dirties
/// the few pages of recent orders only. Tables created before stay as they were: the
/// statements below work on either.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS order_views (
    order_id        TEXT PRIMARY KEY,
    customer_id     TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    items           TEXT    NOT NULL,
    total_cents     INTEGER NOT NULL,
    currency        TEXT    NOT NULL,
    shipping_address TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    cancel_reason   TEXT,
    tracking_number TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS order_views_by_customer ON order_views (customer_id, created_at);
CREATE TABLE IF NOT EXISTS stock_views (
    sku       TEXT PRIMARY KEY,
    available INTEGER NOT NULL,
    reserved  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS view_position (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    position INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS analytics_seen_events (event_id BLOB PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS analytics_order_status (
    order_id TEXT PRIMARY KEY,
    status   TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS analytics_revenue (
    day   TEXT PRIMARY KEY,
    cents INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS analytics_offsets (
    topic       TEXT    NOT NULL,
    partition   INTEGER NOT NULL,
    next_offset INTEGER NOT NULL,
    PRIMARY KEY (topic, partition)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS analytics_bus (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    identity TEXT
);
CREATE TABLE IF NOT EXISTS rebuild_progress (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    progress TEXT NOT NULL
);
";

#[derive(Debug, thiserror::Error)]
enum Error {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Join(#[from] tokio::task::JoinError),
    #[error("stored items do not parse: {0}")]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Stored(#[from] StoreError),
}

impl From<Error> for StoreError {
    fn from(e: Error) -> Self {
        match e {
            Error::Sqlite(e) if db::is_damage(&e) => {
                StoreError::Corrupt(format!("the read models' SQLite file is damaged: {e}"))
            }
            Error::Stored(e) => e,
            other => StoreError::Unavailable(Box::new(other)),
        }
    }
}

/// Both read-model ports over one SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteReadModel {
    /// Projection batches and analytics updates from many lanes share commits.
    writer: GroupWriter,
    reads: ReadPool,
}

impl SqliteReadModel {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = db::open(path).map_err(|e| StoreError::Unavailable(Box::new(e)))?;
        // A forgotten customer's address is overwritten where it lay, not just freed.
        conn.pragma_update(None, "secure_delete", "ON")
            .map_err(|e| StoreError::Unavailable(Box::new(e)))?;
        conn.execute_batch(SCHEMA)
            .map_err(|e| StoreError::Unavailable(Box::new(e)))?;
        // Added after the first layout: files made before get the column.
        let has_failures: bool = conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM pragma_table_info('order_views') WHERE name = 'failures')",
                [],
                |r| r.get(0),
            )
            .map_err(|e| StoreError::Unavailable(Box::new(e)))?;
        if !has_failures {
            conn.execute_batch("ALTER TABLE order_views ADD COLUMN failures TEXT")
                .map_err(|e| StoreError::Unavailable(Box::new(e)))?;
        }
        Ok(Self {
            writer: GroupWriter::new(conn),
            reads: ReadPool::new(path),
        })
    }

    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, StoreError> {
        Ok(self.writer.write(f).await?)
    }
}

const ORDER_COLUMNS: &str = "order_id, customer_id, status, items, total_cents, created_at, \
                             updated_at, cancel_reason, tracking_number, currency, shipping_address, \
                             failures";

/// An order's row, with its items and shipping address as stored (read apart by
/// [`with_items`]).
type OrderRow = (OrderSummary, String, Option<Vec<u8>>);

fn row_to_order(row: &rusqlite::Row<'_>) -> rusqlite::Result<OrderRow> {
    Ok((
        OrderSummary {
            order_id: row.get(0)?,
            customer_id: row.get(1)?,
            status: row.get(2)?,
            items: vec![],
            total_cents: row.get(4)?,
            created_at: from_micros(row.get(5)?),
            updated_at: from_micros(row.get(6)?),
            cancel_reason: row.get(7)?,
            tracking_number: row.get(8)?,
            currency: row.get(9)?,
            shipping_address: None,
            failures: failures(row.get(11)?),
        },
        row.get(3)?,
        // Sealed bytes, or the text of an address recorded before they were sealed.
        match row.get_ref(10)? {
            ValueRef::Blob(bytes) | ValueRef::Text(bytes) => Some(bytes.to_vec()),
            _ => None,
        },
    ))
}

/// The failures column: a JSON array, or NULL for none (rows from before it existed).
fn failures(column: Option<String>) -> Vec<String> {
    column
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

fn failures_column(failures: &[String]) -> Result<Option<String>, Error> {
    Ok(if failures.is_empty() {
        None
    } else {
        Some(serde_json::to_string(failures)?)
    })
}

fn with_items((mut summary, items, address): OrderRow) -> Result<OrderSummary, Error> {
    summary.items = serde_json::from_str::<Vec<OrderLineSummary>>(&items)?;
    summary.shipping_address = address
        .map(|bytes| address_from_stored(&summary.customer_id, bytes))
        .transpose()?;
    Ok(summary)
}

#[async_trait]
impl ReadModel for SqliteReadModel {
    async fn apply(&self, batch: ReadModelBatch) -> Result<(), StoreError> {
        self.write(move |tx| {
            let stored: Option<u64> = tx
                .prepare_cached("SELECT position FROM view_position WHERE id = 1")?
                .query_row([], |r| r.get(0))
                .optional()?;
            if stored.is_some_and(|stored| stored >= batch.position) {
                return Ok(());
            }
            {
                // An order's customer and creation time never change, so an update
                // leaves them, and the customer index, alone.
                let mut order = tx.prepare_cached(&format!(
                    "INSERT INTO order_views ({ORDER_COLUMNS}) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) \
                     ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, \
                     items = excluded.items, total_cents = excluded.total_cents, \
                     updated_at = excluded.updated_at, cancel_reason = excluded.cancel_reason, \
                     tracking_number = excluded.tracking_number, currency = excluded.currency, \
                     shipping_address = excluded.shipping_address, failures = excluded.failures"
                ))?;
                for o in &batch.orders {
                    order.execute(params![
                        o.order_id,
                        o.customer_id,
                        o.status,
                        serde_json::to_string(&o.items)?,
                        o.total_cents,
                        micros(o.created_at),
                        micros(o.updated_at),
                        o.cancel_reason,
                        o.tracking_number,
                        o.currency,
                        o.shipping_address.as_ref().and_then(address_to_stored),
                        failures_column(&o.failures)?,
                    ])?;
                }
                let mut stock = tx.prepare_cached(
                    "INSERT INTO stock_views (sku, available, reserved) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (sku) DO UPDATE SET available = excluded.available, \
                     reserved = excluded.reserved",
                )?;
                for s in &batch.stock {
                    stock.execute(params![s.sku, s.available as i64, s.reserved as i64])?;
                }
                let mut forget = tx.prepare_cached(
                    "UPDATE order_views SET shipping_address = NULL \
                     WHERE customer_id = ?1 AND shipping_address IS NOT NULL",
                )?;
                for customer in &batch.forgotten {
                    forget.execute([customer])?;
                }
                tx.prepare_cached(
                    "INSERT INTO view_position (id, position) VALUES (1, ?1) \
                     ON CONFLICT (id) DO UPDATE SET position = excluded.position",
                )?
                .execute([batch.position])?;
            }
            Ok(())
        })
        .await
    }

    async fn position(&self) -> Result<u64, StoreError> {
        Ok(self
            .reads
            .with(|conn| -> Result<u64, Error> {
                Ok(conn
                    .query_row("SELECT position FROM view_position WHERE id = 1", [], |r| {
                        r.get(0)
                    })
                    .optional()?
                    .unwrap_or(0))
            })
            .await?)
    }

    async fn order(&self, order_id: &str) -> Result<Option<OrderSummary>, StoreError> {
        Ok(self.orders(&[order_id.to_owned()]).await?.pop())
    }

    async fn orders(&self, order_ids: &[String]) -> Result<Vec<OrderSummary>, StoreError> {
        let ids = order_ids.to_vec();
        Ok(self
            .reads
            .with(move |conn| -> Result<Vec<OrderSummary>, Error> {
                let mut out = Vec::with_capacity(ids.len());
                for chunk in ids.chunks(500) {
                    let sql = format!(
                        "SELECT {ORDER_COLUMNS} FROM order_views WHERE order_id IN ({})",
                        vec!["?"; chunk.len()].join(", ")
                    );
                    let mut stmt = conn.prepare_cached(&sql)?;
                    for row in stmt.query_map(rusqlite::params_from_iter(chunk), row_to_order)? {
                        out.push(with_items(row?)?);
                    }
                }
                Ok(out)
            })
            .await?)
    }

    async fn customer_orders(&self, customer_id: &str) -> Result<Vec<OrderSummary>, StoreError> {
        let id = customer_id.to_owned();
        Ok(self
            .reads
            .with(move |conn| -> Result<Vec<OrderSummary>, Error> {
                let sql = format!(
                    "SELECT {ORDER_COLUMNS} FROM order_views WHERE customer_id = ?1 \
                     ORDER BY created_at DESC, order_id"
                );
                let mut stmt = conn.prepare_cached(&sql)?;
                let rows = stmt.query_map([id], row_to_order)?;
                rows.map(|r| with_items(r?)).collect()
            })
            .await?)
    }

    async fn list_orders(&self, query: &OrderQuery) -> Result<Vec<OrderSummary>, StoreError> {
        // Only the conditions given, so that a customer's list uses its index; each
        // combination's statement is prepared once.
        let mut conditions = Vec::new();
        let mut values: Vec<rusqlite::types::Value> = Vec::new();
        let mut bind = |condition: &str, value: rusqlite::types::Value| {
            values.push(value);
            conditions.push(condition.replace('?', &format!("?{}", values.len())));
        };
        if let Some(status) = &query.status {
            bind("status = ?", status.clone().into());
        }
        if let Some(customer) = &query.customer_id {
            bind("customer_id = ?", customer.clone().into());
        }
        if let Some(from) = query.created_from {
            bind("created_at >= ?", micros(from).into());
        }
        if let Some(to) = query.created_to {
            bind("created_at < ?", micros(to).into());
        }
        if let Some(since) = query.unchanged_since {
            bind(
                "status NOT IN ('SHIPPED', 'CANCELLED') AND updated_at < ?",
                micros(since).into(),
            );
        }
        if let Some(after) = &query.after {
            bind("(created_at < ?", micros(after.created_at).into());
            let n = values.len();
            values.push(after.order_id.clone().into());
            let last = conditions.last_mut().expect("just pushed");
            last.push_str(&format!(
                " OR (created_at = ?{n} AND order_id < ?{}))",
                values.len()
            ));
        }
        values.push((query.limit as i64).into());
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM order_views {filter} \
             ORDER BY created_at DESC, order_id DESC LIMIT ?{}",
            values.len()
        );
        Ok(self
            .reads
            .with(move |conn| -> Result<Vec<OrderSummary>, Error> {
                let mut stmt = conn.prepare_cached(&sql)?;
                let rows = stmt.query_map(rusqlite::params_from_iter(values), row_to_order)?;
                rows.map(|r| with_items(r?)).collect()
            })
            .await?)
    }

    async fn open_orders(&self, limit: usize) -> Result<Vec<OrderSummary>, StoreError> {
        Ok(self
            .reads
            .with(move |conn| -> Result<Vec<OrderSummary>, Error> {
                let sql = format!(
                    "SELECT {ORDER_COLUMNS} FROM order_views \
                     WHERE status NOT IN ('SHIPPED', 'CANCELLED') \
                     ORDER BY created_at, order_id LIMIT ?1"
                );
                let mut stmt = conn.prepare_cached(&sql)?;
                let rows = stmt.query_map([limit as i64], row_to_order)?;
                rows.map(|r| with_items(r?)).collect()
            })
            .await?)
    }

    async fn stock(&self, sku: &str) -> Result<Option<StockSummary>, StoreError> {
        Ok(self.stocks(&[sku.to_owned()]).await?.pop())
    }

    async fn stocks(&self, skus: &[String]) -> Result<Vec<StockSummary>, StoreError> {
        let skus = skus.to_vec();
        Ok(self
            .reads
            .with(move |conn| -> Result<Vec<StockSummary>, Error> {
                let mut out = Vec::with_capacity(skus.len());
                for chunk in skus.chunks(500) {
                    let sql = format!(
                        "SELECT sku, available, reserved FROM stock_views WHERE sku IN ({})",
                        vec!["?"; chunk.len()].join(", ")
                    );
                    let mut stmt = conn.prepare_cached(&sql)?;
                    let rows = stmt.query_map(rusqlite::params_from_iter(chunk), |r| {
                        Ok(StockSummary {
                            sku: r.get(0)?,
                            available: r.get::<_, i64>(1)? as u64,
                            reserved: r.get::<_, i64>(2)? as u64,
                        })
                    })?;
                    for row in rows {
                        out.push(row?);
                    }
                }
                Ok(out)
            })
            .await?)
    }
}

mod analytics;
mod generations;

pub use generations::SqliteGenerations;

#[cfg(test)]
mod tests;
