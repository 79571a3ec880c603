//! Read-model generations in PostgreSQL: the next generation is a schema of its own
//! beside the live one (`<live>_rebuild`), its tables made `LIKE` the live ones and
//! written with the same code through a pool whose `search_path` is that schema.
//! Swapping it in locks the live tables, drops them and moves the new ones into the live
//! schema, in one transaction: readers wait for the few milliseconds that takes and then
//! see the new tables (PostgreSQL resolves a name again after waiting for its lock).

use async_trait::async_trait;
use orderflow_core::read_model::generations::{
    NextGeneration, ReadModelGenerations, RebuildProgress, Rebuilt, Swap,
};
use orderflow_core::store::StoreError;
use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, PgPool};
use std::sync::Arc;

use super::{PgReadModel, unavailable};

const VIEW_TABLES: [&str; 3] = ["order_views", "stock_views", "view_position"];
const ANALYTICS_TABLES: [&str; 3] = [
    "analytics_seen_events",
    "analytics_order_status",
    "analytics_revenue",
];

/// The live read models in the pool's schema and their next generation beside them.
#[derive(Debug, Clone)]
pub struct PgGenerations {
    pool: PgPool,
}

/// A quoted identifier: the schema names come from the database itself (its
/// `current_schema()`), and are quoted all the same.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl PgGenerations {
    /// Uses the event store's pool: the live read models are in its schema.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// The live schema and the next generation's.
    async fn schemas(&self) -> Result<(String, String), StoreError> {
        let live: String = sqlx::query_scalar("SELECT current_schema()")
            .fetch_one(&self.pool)
            .await
            .map_err(unavailable)?;
        let next = format!("{live}_rebuild");
        Ok((quoted(&live), quoted(&next)))
    }
}

#[async_trait]
impl ReadModelGenerations for PgGenerations {
    async fn begin(&self) -> Result<NextGeneration, StoreError> {
        let (live, next) = self.schemas().await?;
        let mut tx = self.pool.begin().await.map_err(unavailable)?;
        let mut ddl = vec![
            format!("DROP SCHEMA IF EXISTS {next} CASCADE"),
            format!("CREATE SCHEMA {next}"),
        ];
        for table in VIEW_TABLES.iter().chain(&ANALYTICS_TABLES) {
            ddl.push(format!(
                "CREATE TABLE {next}.{table} (LIKE {live}.{table} INCLUDING ALL)"
            ));
        }
        for statement in ddl {
            sqlx::query(AssertSqlSafe(statement))
                .execute(&mut *tx)
                .await
                .map_err(unavailable)?;
        }
        tx.commit().await.map_err(unavailable)?;
        let options = (*self.pool.connect_options())
            .clone()
            .options([("search_path", next.trim_matches('"'))]);
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .connect_lazy_with(options);
        let next = Arc::new(PgReadModel::new(pool));
        Ok(NextGeneration {
            views: next.clone(),
            analytics: next,
        })
    }

    async fn swap(&self, models: &[Rebuilt]) -> Result<Swap, StoreError> {
        let (live, next) = self.schemas().await?;
        let mut tx = self.pool.begin().await.map_err(unavailable)?;
        let mut tables = Vec::new();
        if models.contains(&Rebuilt::Views) {
            tables.extend(VIEW_TABLES);
        }
        if models.contains(&Rebuilt::Analytics) {
            tables.extend(ANALYTICS_TABLES);
        }
        let listed: Vec<String> = tables.iter().map(|t| format!("{live}.{t}")).collect();
        sqlx::query(AssertSqlSafe(format!(
            "LOCK TABLE {} IN ACCESS EXCLUSIVE MODE",
            listed.join(", ")
        )))
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
        if models.contains(&Rebuilt::Views) {
            let position = |schema: &str| {
                format!(
                    "SELECT COALESCE((SELECT position FROM {schema}.view_position WHERE id = 1), 0)"
                )
            };
            let live_at: i64 = sqlx::query_scalar(AssertSqlSafe(position(&live)))
                .fetch_one(&mut *tx)
                .await
                .map_err(unavailable)?;
            let next_at: i64 = sqlx::query_scalar(AssertSqlSafe(position(&next)))
                .fetch_one(&mut *tx)
                .await
                .map_err(unavailable)?;
            if next_at < live_at {
                return Ok(Swap::Behind(format!(
                    "the views are at position {next_at}, the live ones at {live_at}"
                )));
            }
        }
        if models.contains(&Rebuilt::Analytics) {
            let missing: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
                "SELECT COUNT(*) FROM {live}.analytics_seen_events AS l WHERE NOT EXISTS \
                 (SELECT 1 FROM {next}.analytics_seen_events AS n WHERE n.event_id = l.event_id)"
            )))
            .fetch_one(&mut *tx)
            .await
            .map_err(unavailable)?;
            if missing > 0 {
                return Ok(Swap::Behind(format!(
                    "live analytics counted {missing} events the rebuild has not read yet"
                )));
            }
        }
        for table in tables {
            for statement in [
                format!("DROP TABLE {live}.{table}"),
                format!("ALTER TABLE {next}.{table} SET SCHEMA {live}"),
            ] {
                sqlx::query(AssertSqlSafe(statement))
                    .execute(&mut *tx)
                    .await
                    .map_err(unavailable)?;
            }
        }
        sqlx::query(AssertSqlSafe(format!("DROP SCHEMA {next} CASCADE")))
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)?;
        Ok(Swap::Swapped)
    }

    async fn discard(&self) -> Result<(), StoreError> {
        let (_, next) = self.schemas().await?;
        sqlx::query(AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {next} CASCADE"
        )))
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(())
    }

    async fn record_progress(&self, progress: &RebuildProgress) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO rebuild_progress (id, progress) VALUES (1, $1) \
             ON CONFLICT (id) DO UPDATE SET progress = excluded.progress",
        )
        .bind(serde_json::to_string(progress).map_err(unavailable)?)
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(())
    }

    async fn progress(&self) -> Result<Option<RebuildProgress>, StoreError> {
        let text: Option<String> =
            sqlx::query_scalar("SELECT progress FROM rebuild_progress WHERE id = 1")
                .fetch_optional(&self.pool)
                .await
                .map_err(unavailable)?;
        text.map(|t| serde_json::from_str(&t).map_err(unavailable))
            .transpose()
    }
}
