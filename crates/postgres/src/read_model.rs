//! Read models in PostgreSQL: order and stock summaries with the position they reflect
//! (one transaction per batch), and analytics with the bus offsets it reflects (one
//! transaction per record).

use async_trait::async_trait;
use orderflow_core::bus::Offset;
use orderflow_core::read_model::generations::CountEvents;
use orderflow_core::read_model::{
    AnalyticsChange, AnalyticsOffsets, AnalyticsRecord, AnalyticsStore, AnalyticsSummary,
    OrderLineSummary, OrderQuery, OrderSummary, ReadModel, ReadModelBatch, StockSummary,
    address_from_stored, address_to_stored,
};
use orderflow_core::store::StoreError;
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};

#[derive(Debug, Clone)]
pub struct PgReadModel {
    pool: PgPool,
}

impl PgReadModel {
    /// Uses the event store's pool (and its migrations).
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Unavailable(Box::new(e))
}

macro_rules! select_orders {
    ($rest:literal) => {
        concat!(
            "SELECT order_id, customer_id, status, items, total_cents, currency, shipping_address, ",
            "created_at, updated_at, cancel_reason, tracking_number, failures FROM order_views ",
            $rest
        )
    };
}

fn row_to_order(row: &PgRow) -> Result<OrderSummary, StoreError> {
    let get = |e: sqlx::Error| unavailable(e);
    let items: String = row.try_get("items").map_err(get)?;
    let mut summary = OrderSummary {
        order_id: row.try_get("order_id").map_err(get)?,
        customer_id: row.try_get("customer_id").map_err(get)?,
        status: row.try_get("status").map_err(get)?,
        items: serde_json::from_str::<Vec<OrderLineSummary>>(&items).map_err(unavailable)?,
        total_cents: row.try_get("total_cents").map_err(get)?,
        currency: row.try_get("currency").map_err(get)?,
        shipping_address: None,
        created_at: row.try_get("created_at").map_err(get)?,
        updated_at: row.try_get("updated_at").map_err(get)?,
        cancel_reason: row.try_get("cancel_reason").map_err(get)?,
        tracking_number: row.try_get("tracking_number").map_err(get)?,
        failures: row
            .try_get::<Option<String>, _>("failures")
            .map_err(get)?
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default(),
    };
    let address: Option<Vec<u8>> = row.try_get("shipping_address").map_err(get)?;
    summary.shipping_address = address
        .map(|bytes| address_from_stored(&summary.customer_id, bytes))
        .transpose()?;
    Ok(summary)
}

fn row_to_stock(row: &PgRow) -> Result<StockSummary, StoreError> {
    Ok(StockSummary {
        sku: row.try_get("sku").map_err(unavailable)?,
        available: row.try_get::<i64, _>("available").map_err(unavailable)? as u64,
        reserved: row.try_get::<i64, _>("reserved").map_err(unavailable)? as u64,
    })
}

/// Records that analytics saw the event; whether it had not before.
async fn first_seen(tx: &mut sqlx::PgConnection, event_id: uuid::Uuid) -> Result<bool, StoreError> {
    Ok(sqlx::query(
        "INSERT INTO analytics_seen_events (event_id) VALUES ($1) ON CONFLICT DO NOTHING",
    )
    .bind(event_id)
    .execute(&mut *tx)
    .await
    .map_err(unavailable)?
    .rows_affected()
        == 1)
}

/// Applies an event's changes to the counts.
async fn count_changes(
    tx: &mut sqlx::PgConnection,
    changes: &[AnalyticsChange],
) -> Result<(), StoreError> {
    for change in changes {
        match change {
            AnalyticsChange::OrderStatus { order_id, status } => sqlx::query(
                "INSERT INTO analytics_order_status (order_id, status) VALUES ($1, $2) \
                 ON CONFLICT (order_id) DO UPDATE SET status = excluded.status",
            )
            .bind(order_id)
            .bind(status),
            AnalyticsChange::Revenue { day, delta_cents } => sqlx::query(
                "INSERT INTO analytics_revenue (day, cents) VALUES ($1, $2) \
                 ON CONFLICT (day) DO UPDATE SET cents = analytics_revenue.cents + excluded.cents",
            )
            .bind(day)
            .bind(delta_cents),
        }
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
    }
    Ok(())
}

#[async_trait]
impl CountEvents for PgReadModel {
    async fn count_events(
        &self,
        events: Vec<(uuid::Uuid, Vec<AnalyticsChange>)>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(unavailable)?;
        for (event_id, changes) in &events {
            if !changes.is_empty() && first_seen(&mut tx, *event_id).await? {
                count_changes(&mut tx, changes).await?;
            }
        }
        tx.commit().await.map_err(unavailable)
    }
}

#[async_trait]
impl ReadModel for PgReadModel {
    async fn apply(&self, batch: ReadModelBatch) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(unavailable)?;
        let stored: Option<i64> =
            sqlx::query_scalar("SELECT position FROM view_position WHERE id = 1 FOR UPDATE")
                .fetch_optional(&mut *tx)
                .await
                .map_err(unavailable)?;
        if stored.is_some_and(|stored| stored as u64 >= batch.position) {
            return Ok(());
        }
        for o in &batch.orders {
            sqlx::query(
                "INSERT INTO order_views (order_id, customer_id, status, items, total_cents, currency, \
                 shipping_address, created_at, updated_at, cancel_reason, tracking_number, failures) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                 ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, \
                 updated_at = excluded.updated_at, cancel_reason = excluded.cancel_reason, \
                 tracking_number = excluded.tracking_number, failures = excluded.failures",
            )
            .bind(&o.order_id)
            .bind(&o.customer_id)
            .bind(&o.status)
            .bind(serde_json::to_string(&o.items).map_err(unavailable)?)
            .bind(o.total_cents)
            .bind(&o.currency)
            .bind(o.shipping_address.as_ref().and_then(address_to_stored))
            .bind(o.created_at)
            .bind(o.updated_at)
            .bind(&o.cancel_reason)
            .bind(&o.tracking_number)
            .bind(if o.failures.is_empty() {
                None
            } else {
                Some(serde_json::to_string(&o.failures).map_err(unavailable)?)
            })
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        }
        for s in &batch.stock {
            sqlx::query(
                "INSERT INTO stock_views (sku, available, reserved) VALUES ($1, $2, $3) \
                 ON CONFLICT (sku) DO UPDATE SET available = excluded.available, reserved = excluded.reserved",
            )
            .bind(&s.sku)
            .bind(s.available as i64)
            .bind(s.reserved as i64)
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        }
        for customer in &batch.forgotten {
            sqlx::query(
                "UPDATE order_views SET shipping_address = NULL \
                 WHERE customer_id = $1 AND shipping_address IS NOT NULL",
            )
            .bind(customer)
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        }
        sqlx::query(
            "INSERT INTO view_position (id, position) VALUES (1, $1) \
             ON CONFLICT (id) DO UPDATE SET position = excluded.position",
        )
        .bind(batch.position as i64)
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)
    }

    async fn position(&self) -> Result<u64, StoreError> {
        let position: Option<i64> =
            sqlx::query_scalar("SELECT position FROM view_position WHERE id = 1")
                .fetch_optional(&self.pool)
                .await
                .map_err(unavailable)?;
        Ok(position.unwrap_or(0) as u64)
    }

    async fn order(&self, order_id: &str) -> Result<Option<OrderSummary>, StoreError> {
        Ok(self.orders(&[order_id.to_owned()]).await?.pop())
    }

    async fn orders(&self, order_ids: &[String]) -> Result<Vec<OrderSummary>, StoreError> {
        let rows = sqlx::query(select_orders!("WHERE order_id = ANY($1)"))
            .bind(order_ids)
            .fetch_all(&self.pool)
            .await
            .map_err(unavailable)?;
        rows.iter().map(row_to_order).collect()
    }

    async fn customer_orders(&self, customer_id: &str) -> Result<Vec<OrderSummary>, StoreError> {
        let rows = sqlx::query(select_orders!(
            "WHERE customer_id = $1 ORDER BY created_at DESC, order_id"
        ))
        .bind(customer_id)
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        rows.iter().map(row_to_order).collect()
    }

    async fn list_orders(&self, query: &OrderQuery) -> Result<Vec<OrderSummary>, StoreError> {
        let mut sql = sqlx::QueryBuilder::<sqlx::Postgres>::new(select_orders!("WHERE TRUE"));
        if let Some(status) = &query.status {
            sql.push(" AND status = ").push_bind(status.clone());
        }
        if let Some(customer) = &query.customer_id {
            sql.push(" AND customer_id = ").push_bind(customer.clone());
        }
        if let Some(from) = query.created_from {
            sql.push(" AND created_at >= ").push_bind(from);
        }
        if let Some(to) = query.created_to {
            sql.push(" AND created_at < ").push_bind(to);
        }
        if let Some(since) = query.unchanged_since {
            sql.push(" AND status NOT IN ('SHIPPED', 'CANCELLED') AND updated_at < ")
                .push_bind(since);
        }
        if let Some(after) = &query.after {
            // Ids compare byte by byte, as on SQLite, whatever the database's collation.
            sql.push(" AND (created_at, order_id COLLATE \"C\") < (")
                .push_bind(after.created_at)
                .push(", ")
                .push_bind(after.order_id.clone())
                .push(")");
        }
        sql.push(" ORDER BY created_at DESC, order_id COLLATE \"C\" DESC LIMIT ")
            .push_bind(i64::try_from(query.limit).unwrap_or(i64::MAX));
        let rows = sql
            .build()
            .fetch_all(&self.pool)
            .await
            .map_err(unavailable)?;
        rows.iter().map(row_to_order).collect()
    }

    async fn open_orders(&self, limit: usize) -> Result<Vec<OrderSummary>, StoreError> {
        let rows = sqlx::query(select_orders!(
            "WHERE status NOT IN ('SHIPPED', 'CANCELLED') ORDER BY created_at, order_id LIMIT $1"
        ))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        rows.iter().map(row_to_order).collect()
    }

    async fn stock(&self, sku: &str) -> Result<Option<StockSummary>, StoreError> {
        Ok(self.stocks(&[sku.to_owned()]).await?.pop())
    }

    async fn stocks(&self, skus: &[String]) -> Result<Vec<StockSummary>, StoreError> {
        let rows =
            sqlx::query("SELECT sku, available, reserved FROM stock_views WHERE sku = ANY($1)")
                .bind(skus)
                .fetch_all(&self.pool)
                .await
                .map_err(unavailable)?;
        rows.iter().map(row_to_stock).collect()
    }
}

#[async_trait]
impl AnalyticsStore for PgReadModel {
    /// The offset's row lock orders two members applying one partition's record (a
    /// partition moving between members): the second sees the offset moved and skips.
    async fn record(&self, record: AnalyticsRecord) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(unavailable)?;
        let moved = sqlx::query(
            "INSERT INTO analytics_offsets (topic, partition, next_offset) VALUES ($1, $2, $3 + 1) \
             ON CONFLICT (topic, partition) DO UPDATE SET next_offset = excluded.next_offset \
             WHERE analytics_offsets.next_offset <= $3",
        )
        .bind(&record.topic)
        .bind(record.partition as i32)
        .bind(record.offset as i64)
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?
        .rows_affected()
            == 1;
        if !moved {
            return Ok(false);
        }
        let new = !record.changes.is_empty() && first_seen(&mut tx, record.event_id).await?;
        if new {
            count_changes(&mut tx, &record.changes).await?;
        }
        tx.commit().await.map_err(unavailable)?;
        Ok(new)
    }

    async fn offsets(&self) -> Result<AnalyticsOffsets, StoreError> {
        let bus: Option<Option<String>> =
            sqlx::query_scalar("SELECT identity FROM analytics_bus WHERE id = 1")
                .fetch_optional(&self.pool)
                .await
                .map_err(unavailable)?;
        let rows = sqlx::query(
            "SELECT topic, partition, next_offset FROM analytics_offsets ORDER BY topic, partition",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        let next = rows
            .iter()
            .map(|r| {
                Ok(Offset {
                    topic: r.try_get("topic").map_err(unavailable)?,
                    partition: r.try_get::<i32, _>("partition").map_err(unavailable)? as u32,
                    offset: r.try_get::<i64, _>("next_offset").map_err(unavailable)? as u64,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(AnalyticsOffsets {
            bus: bus.flatten(),
            next,
        })
    }

    async fn start_on_bus(&self, bus: Option<String>) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(unavailable)?;
        sqlx::query("DELETE FROM analytics_offsets")
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        sqlx::query(
            "INSERT INTO analytics_bus (id, identity) VALUES (1, $1) \
             ON CONFLICT (id) DO UPDATE SET identity = excluded.identity",
        )
        .bind(bus)
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)
    }

    async fn summary(&self) -> Result<AnalyticsSummary, StoreError> {
        let mut summary = AnalyticsSummary::default();
        let rows =
            sqlx::query("SELECT status, COUNT(*) AS n FROM analytics_order_status GROUP BY status")
                .fetch_all(&self.pool)
                .await
                .map_err(unavailable)?;
        for r in rows {
            let status: String = r.try_get("status").map_err(unavailable)?;
            let n: i64 = r.try_get("n").map_err(unavailable)?;
            summary.orders_by_status.insert(status, n as u64);
        }
        let rows = sqlx::query("SELECT day, cents FROM analytics_revenue")
            .fetch_all(&self.pool)
            .await
            .map_err(unavailable)?;
        for r in rows {
            summary.revenue_cents_by_day.insert(
                r.try_get("day").map_err(unavailable)?,
                r.try_get("cents").map_err(unavailable)?,
            );
        }
        Ok(summary)
    }
}

mod generations;

pub use generations::PgGenerations;
