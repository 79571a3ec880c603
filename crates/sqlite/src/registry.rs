//! Schema storage for the embedded registry: one global id per distinct schema, and
//! versions per subject, as Confluent's registry numbers them.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use orderflow_core::registry::{RegistryError, SchemaRegistry};
use rusqlite::{Connection, OptionalExtension, params};

use crate::db;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS schemas (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    schema TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS subject_versions (
    subject   TEXT    NOT NULL,
    version   INTEGER NOT NULL,
    schema_id INTEGER NOT NULL REFERENCES schemas (id),
    PRIMARY KEY (subject, version),
    UNIQUE (subject, schema_id)
);
";

#[derive(Debug, Clone)]
pub struct SqliteSchemaRegistry {
    conn: Arc<Mutex<Connection>>,
}

fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> RegistryError {
    RegistryError::Unavailable(Box::new(e))
}

impl SqliteSchemaRegistry {
    pub fn open(path: &Path) -> Result<Self, RegistryError> {
        let conn = db::open(path).map_err(unavailable)?;
        conn.execute_batch(SCHEMA).map_err(unavailable)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, RegistryError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut conn)
        })
        .await
        .map_err(unavailable)?
        .map_err(unavailable)
    }
}

#[async_trait]
impl SchemaRegistry for SqliteSchemaRegistry {
    async fn register(&self, subject: &str, schema: &str) -> Result<u32, RegistryError> {
        let (subject, schema) = (subject.to_owned(), schema.to_owned());
        self.with(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute(
                "INSERT INTO schemas (schema) VALUES (?1) ON CONFLICT (schema) DO NOTHING",
                [&schema],
            )?;
            let id: u32 = tx.query_row("SELECT id FROM schemas WHERE schema = ?1", [&schema], |r| {
                r.get(0)
            })?;
            tx.execute(
                "INSERT INTO subject_versions (subject, version, schema_id) \
                 SELECT ?1, COALESCE(MAX(version), 0) + 1, ?2 FROM subject_versions WHERE subject = ?1 \
                 ON CONFLICT DO NOTHING",
                params![subject, id],
            )?;
            tx.commit()?;
            Ok(id)
        })
        .await
    }

    async fn schema(&self, id: u32) -> Result<String, RegistryError> {
        self.with(move |conn| {
            conn.query_row("SELECT schema FROM schemas WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()
        })
        .await?
        .ok_or(RegistryError::SchemaNotFound(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_same_schema_keeps_its_id_and_a_new_one_gets_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let registry = SqliteSchemaRegistry::open(&dir.path().join("r.db")).unwrap();
        let a = registry.register("orders-A", "\"string\"").await.unwrap();
        let again = registry.register("orders-A", "\"string\"").await.unwrap();
        let b = registry.register("orders-A", "\"long\"").await.unwrap();
        assert_eq!(a, again);
        assert_ne!(a, b);
        assert_eq!(registry.schema(b).await.unwrap(), "\"long\"");
        assert!(matches!(
            registry.schema(999).await,
            Err(RegistryError::SchemaNotFound(999))
        ));
    }
}
