//! Schema storage for the embedded registry: one global id per distinct schema, versions
//! per subject, and compatibility levels, as Confluent's registry keeps them.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use orderflow_core::registry::{CompatibilityLevel, RegistryError, SchemaStore, SubjectVersion};
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
CREATE TABLE IF NOT EXISTS compatibility (
    subject TEXT PRIMARY KEY, -- '' is the global level
    level   TEXT NOT NULL
);
";

#[derive(Debug, Clone)]
pub struct SqliteSchemaStore {
    conn: Arc<Mutex<Connection>>,
}

fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> RegistryError {
    RegistryError::Unavailable(Box::new(e))
}

impl SqliteSchemaStore {
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

fn versions_in(conn: &Connection, subject: &str) -> rusqlite::Result<Vec<SubjectVersion>> {
    let mut stmt = conn.prepare_cached(
        "SELECT v.version, v.schema_id, s.schema FROM subject_versions v \
         JOIN schemas s ON s.id = v.schema_id WHERE v.subject = ?1 ORDER BY v.version",
    )?;
    let rows = stmt.query_map([subject], |r| {
        Ok(SubjectVersion {
            subject: subject.to_owned(),
            version: r.get(0)?,
            id: r.get(1)?,
            schema: r.get(2)?,
        })
    })?;
    rows.collect()
}

#[async_trait]
impl SchemaStore for SqliteSchemaStore {
    async fn add_version(
        &self,
        subject: &str,
        schema: &str,
    ) -> Result<SubjectVersion, RegistryError> {
        let (subject, schema) = (subject.to_owned(), schema.to_owned());
        self.with(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute(
                "INSERT INTO schemas (schema) VALUES (?1) ON CONFLICT (schema) DO NOTHING",
                [&schema],
            )?;
            let id: u32 = tx.query_row("SELECT id FROM schemas WHERE schema = ?1", [&schema], |r| r.get(0))?;
            tx.execute(
                "INSERT INTO subject_versions (subject, version, schema_id) \
                 SELECT ?1, COALESCE(MAX(version), 0) + 1, ?2 FROM subject_versions WHERE subject = ?1 \
                 ON CONFLICT DO NOTHING",
                params![subject, id],
            )?;
            let version = versions_in(&tx, &subject)?
                .into_iter()
                .find(|v| v.id == id)
                .ok_or(rusqlite::Error::QueryReturnedNoRows)?;
            tx.commit()?;
            Ok(version)
        })
        .await
    }

    async fn schema_by_id(&self, id: u32) -> Result<Option<String>, RegistryError> {
        self.with(move |conn| {
            conn.query_row("SELECT schema FROM schemas WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()
        })
        .await
    }

    async fn subjects(&self) -> Result<Vec<String>, RegistryError> {
        self.with(|conn| {
            let mut stmt =
                conn.prepare("SELECT DISTINCT subject FROM subject_versions ORDER BY subject")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect()
        })
        .await
    }

    async fn versions(&self, subject: &str) -> Result<Vec<SubjectVersion>, RegistryError> {
        let subject = subject.to_owned();
        self.with(move |conn| versions_in(conn, &subject)).await
    }

    async fn config(
        &self,
        subject: Option<&str>,
    ) -> Result<Option<CompatibilityLevel>, RegistryError> {
        let key = subject.unwrap_or_default().to_owned();
        let level: Option<String> = self
            .with(move |conn| {
                conn.query_row(
                    "SELECT level FROM compatibility WHERE subject = ?1",
                    [key],
                    |r| r.get(0),
                )
                .optional()
            })
            .await?;
        level.map(|l| l.parse()).transpose()
    }

    async fn set_config(
        &self,
        subject: Option<&str>,
        level: CompatibilityLevel,
    ) -> Result<(), RegistryError> {
        let key = subject.unwrap_or_default().to_owned();
        self.with(move |conn| {
            conn.execute(
                "INSERT INTO compatibility (subject, level) VALUES (?1, ?2) \
                 ON CONFLICT (subject) DO UPDATE SET level = excluded.level",
                params![key, level.as_str()],
            )
            .map(drop)
        })
        .await
    }
}

#[cfg(test)]
mod contract {
    orderflow_core::schema_store_contract!(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = super::SqliteSchemaStore::open(&dir.path().join("r.db")).expect("open");
        (store, dir)
    });
}

#[cfg(test)]
mod tests {
    use orderflow_core::registry::{Registry, SchemaRegistry, VersionRef};

    use super::*;

    #[tokio::test]
    async fn versions_ids_and_levels_survive_reopening() -> Result<(), RegistryError> {
        let dir = tempfile::tempdir().map_err(unavailable)?;
        let path = dir.path().join("r.db");
        let a = r#"{"type":"record","name":"T","fields":[{"name":"a","type":"int"}]}"#;
        let id_a = {
            let registry = Registry::new(SqliteSchemaStore::open(&path)?);
            registry
                .set_level(Some("s-T"), CompatibilityLevel::Full)
                .await?;
            registry.register("s-T", a).await?
        };
        let registry = Registry::new(SqliteSchemaStore::open(&path)?);
        assert_eq!(registry.register("s-T", a).await?, id_a);
        assert_eq!(
            registry.version("s-T", VersionRef::Latest).await?.version,
            1
        );
        assert_eq!(registry.level("s-T").await?, CompatibilityLevel::Full);
        Ok(())
    }
}
