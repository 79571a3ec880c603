//! Read-model generations in SQLite: the next generation is a file of its own beside
//! `read.db` (`read.next.db`), written with the same code as the live one. Swapping it in
//! attaches it and copies its rows over the live tables in one write transaction:
//! readers (WAL) see the old rows until the commit and the new ones after it; writers of
//! the live file (the projections, analytics) wait for the copy.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use orderflow_core::read_model::generations::{
    NextGeneration, ReadModelGenerations, RebuildProgress, Rebuilt, Swap,
};
use orderflow_core::store::StoreError;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use super::{Error, ORDER_COLUMNS, SqliteReadModel};
use crate::db;

/// The live read models at `read.db` and their next generation beside it.
#[derive(Debug, Clone)]
pub struct SqliteGenerations {
    live: SqliteReadModel,
    live_path: PathBuf,
    next_path: PathBuf,
}

/// The tables a swap copies, per read model; the analytics bus offsets stay.
const VIEW_TABLES: [(&str, &str); 3] = [
    ("order_views", ORDER_COLUMNS),
    ("stock_views", "sku, available, reserved"),
    ("view_position", "id, position"),
];
const ANALYTICS_TABLES: [(&str, &str); 3] = [
    ("analytics_seen_events", "event_id"),
    ("analytics_order_status", "order_id, status"),
    ("analytics_revenue", "day, cents"),
];

impl SqliteGenerations {
    /// The generations of the live read models `live`, stored at `live_path`.
    pub fn new(live: SqliteReadModel, live_path: &Path) -> Self {
        let mut next = live_path.as_os_str().to_owned();
        next.push(".next");
        Self {
            live,
            live_path: live_path.to_owned(),
            next_path: PathBuf::from(next),
        }
    }

    fn remove_next(&self) -> Result<(), StoreError> {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.next_path.as_os_str().to_owned();
            path.push(suffix);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StoreError::Unavailable(Box::new(e))),
            }
        }
        Ok(())
    }
}

fn swap(live: &Path, next: &Path, models: &[Rebuilt]) -> Result<Swap, Error> {
    let mut conn = db::open(live)?;
    conn.execute("ATTACH DATABASE ?1 AS next", [next.to_string_lossy()])?;
    let outcome = copy(&mut conn, models);
    conn.execute("DETACH DATABASE next", [])?;
    outcome
}

fn copy(conn: &mut Connection, models: &[Rebuilt]) -> Result<Swap, Error> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let position = |schema: &str| -> Result<u64, Error> {
        Ok(tx
            .query_row(
                &format!("SELECT position FROM {schema}.view_position WHERE id = 1"),
                [],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0))
    };
    let mut tables = Vec::new();
    if models.contains(&Rebuilt::Views) {
        let (live, next) = (position("main")?, position("next")?);
        if next < live {
            return Ok(Swap::Behind(format!(
                "the views are at position {next}, the live ones at {live}"
            )));
        }
        tables.extend(VIEW_TABLES);
    }
    if models.contains(&Rebuilt::Analytics) {
        let missing: u64 = tx.query_row(
            "SELECT COUNT(*) FROM main.analytics_seen_events AS l WHERE NOT EXISTS \
             (SELECT 1 FROM next.analytics_seen_events AS n WHERE n.event_id = l.event_id)",
            [],
            |r| r.get(0),
        )?;
        if missing > 0 {
            return Ok(Swap::Behind(format!(
                "live analytics counted {missing} events the rebuild has not read yet"
            )));
        }
        tables.extend(ANALYTICS_TABLES);
    }
    for (table, columns) in tables {
        tx.execute(&format!("DELETE FROM main.{table}"), [])?;
        tx.execute(
            &format!("INSERT INTO main.{table} ({columns}) SELECT {columns} FROM next.{table}"),
            [],
        )?;
    }
    tx.commit()?;
    Ok(Swap::Swapped)
}

#[async_trait]
impl ReadModelGenerations for SqliteGenerations {
    async fn begin(&self) -> Result<NextGeneration, StoreError> {
        self.remove_next()?;
        let next = Arc::new(SqliteReadModel::open(&self.next_path)?);
        Ok(NextGeneration {
            views: next.clone(),
            analytics: next,
        })
    }

    async fn swap(&self, models: &[Rebuilt]) -> Result<Swap, StoreError> {
        let (live, next, models) = (
            self.live_path.clone(),
            self.next_path.clone(),
            models.to_vec(),
        );
        let swapped = tokio::task::spawn_blocking(move || swap(&live, &next, &models))
            .await
            .map_err(Error::from)??;
        if swapped == Swap::Swapped {
            self.remove_next()?;
        }
        Ok(swapped)
    }

    async fn discard(&self) -> Result<(), StoreError> {
        self.remove_next()
    }

    async fn record_progress(&self, progress: &RebuildProgress) -> Result<(), StoreError> {
        let text = serde_json::to_string(progress).map_err(Error::from)?;
        self.live
            .write(move |tx| {
                tx.prepare_cached(
                    "INSERT INTO rebuild_progress (id, progress) VALUES (1, ?1) \
                     ON CONFLICT (id) DO UPDATE SET progress = excluded.progress",
                )?
                .execute([text])?;
                Ok(())
            })
            .await
    }

    async fn progress(&self) -> Result<Option<RebuildProgress>, StoreError> {
        Ok(self
            .live
            .reads
            .with(|conn| -> Result<Option<RebuildProgress>, Error> {
                let text: Option<String> = conn
                    .query_row(
                        "SELECT progress FROM rebuild_progress WHERE id = 1",
                        [],
                        |r| r.get(0),
                    )
                    .optional()?;
                Ok(text.map(|t| serde_json::from_str(&t)).transpose()?)
            })
            .await?)
    }
}
