//! Schema storage for the embedded registry: one global id per distinct schema (with its
//! references), versions per subject (soft-deleted ones marked), and compatibility
//! levels, as Confluent's registry keeps them.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use orderflow_core::registry::{
    CompatibilityLevel, NewSchema, RegistryError, SchemaReference, SchemaStore, SchemaUsage,
    StoredSchema, SubjectVersion,
};
use rusqlite::{Connection, OptionalExtension, params};

use crate::db;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS registry_schemas (
    id          INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused
    fingerprint TEXT NOT NULL UNIQUE,              -- what makes two schemas the same
    schema      TEXT NOT NULL,                     -- as registered
    refs        TEXT NOT NULL DEFAULT '[]'         -- JSON [{name, subject, version}]
);
CREATE TABLE IF NOT EXISTS registry_versions (
    subject   TEXT    NOT NULL,
    version   INTEGER NOT NULL,
    schema_id INTEGER NOT NULL REFERENCES registry_schemas (id),
    deleted   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (subject, version)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS registry_versions_by_id ON registry_versions (schema_id);
CREATE TABLE IF NOT EXISTS compatibility (
    subject TEXT PRIMARY KEY, -- '' is the global level
    level   TEXT NOT NULL
);
";

/// Moves a registry kept in the first layout (`schemas`, `subject_versions`: no
/// references, no soft deletes, schemas stored in their sorted-key form, which is
/// also their fingerprint) into the current tables, keeping every id.
const UPGRADE: &str = "
INSERT INTO registry_schemas (id, fingerprint, schema)
    SELECT id, schema, schema FROM schemas;
INSERT INTO registry_versions (subject, version, schema_id)
    SELECT subject, version, schema_id FROM subject_versions;
DROP TABLE subject_versions;
DROP TABLE schemas;
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
        let mut conn = db::open(path).map_err(unavailable)?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(unavailable)?;
        tx.execute_batch(SCHEMA).map_err(unavailable)?;
        let old_layout: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'subject_versions')",
                [],
                |r| r.get(0),
            )
            .map_err(unavailable)?;
        if old_layout {
            tx.execute_batch(UPGRADE).map_err(unavailable)?;
        }
        tx.commit().map_err(unavailable)?;
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

const VERSIONS: &str = "SELECT v.subject, v.version, v.schema_id, s.schema, s.refs, v.deleted \
     FROM registry_versions v JOIN registry_schemas s ON s.id = v.schema_id";

fn version_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SubjectVersion> {
    Ok(SubjectVersion {
        subject: r.get(0)?,
        version: r.get(1)?,
        id: r.get(2)?,
        schema: r.get(3)?,
        references: references(&r.get::<_, String>(4)?)?,
        deleted: r.get(5)?,
    })
}

fn references(json: &str) -> rusqlite::Result<Vec<SchemaReference>> {
    serde_json::from_str(json).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn versions_in(conn: &Connection, subject: &str) -> rusqlite::Result<Vec<SubjectVersion>> {
    let mut stmt = conn.prepare_cached(&format!(
        "{VERSIONS} WHERE v.subject = ?1 ORDER BY v.version"
    ))?;
    let rows = stmt.query_map([subject], version_row)?;
    rows.collect()
}

#[async_trait]
impl SchemaStore for SqliteSchemaStore {
    async fn add_version(
        &self,
        subject: &str,
        new: NewSchema<'_>,
    ) -> Result<SubjectVersion, RegistryError> {
        let subject = subject.to_owned();
        let (fingerprint, schema) = (new.fingerprint.to_owned(), new.schema.to_owned());
        let refs = serde_json::to_string(new.references).map_err(unavailable)?;
        self.with(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute(
                "INSERT INTO registry_schemas (fingerprint, schema, refs) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (fingerprint) DO NOTHING",
                params![fingerprint, schema, refs],
            )?;
            let id: u32 = tx.query_row(
                "SELECT id FROM registry_schemas WHERE fingerprint = ?1",
                [&fingerprint],
                |r| r.get(0),
            )?;
            let live = |tx: &Connection| {
                Ok::<_, rusqlite::Error>(
                    versions_in(tx, &subject)?
                        .into_iter()
                        .find(|v| v.id == id && !v.deleted),
                )
            };
            if let Some(v) = live(&tx)? {
                return Ok(v);
            }
            tx.execute(
                "INSERT INTO registry_versions (subject, version, schema_id) \
                 SELECT ?1, COALESCE(MAX(version), 0) + 1, ?2 FROM registry_versions WHERE subject = ?1",
                params![subject, id],
            )?;
            let version = live(&tx)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
            tx.commit()?;
            Ok(version)
        })
        .await
    }

    async fn schema_by_id(&self, id: u32) -> Result<Option<StoredSchema>, RegistryError> {
        self.with(move |conn| {
            conn.query_row(
                "SELECT schema, refs FROM registry_schemas WHERE id = ?1",
                [id],
                |r| {
                    Ok(StoredSchema {
                        id,
                        schema: r.get(0)?,
                        references: references(&r.get::<_, String>(1)?)?,
                    })
                },
            )
            .optional()
        })
        .await
    }

    async fn subjects(&self, include_deleted: bool) -> Result<Vec<String>, RegistryError> {
        self.with(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT DISTINCT subject FROM registry_versions \
                 WHERE ?1 OR NOT deleted ORDER BY subject",
            )?;
            let rows = stmt.query_map([include_deleted], |r| r.get(0))?;
            rows.collect()
        })
        .await
    }

    async fn versions(&self, subject: &str) -> Result<Vec<SubjectVersion>, RegistryError> {
        let subject = subject.to_owned();
        self.with(move |conn| versions_in(conn, &subject)).await
    }

    async fn versions_with_id(&self, id: u32) -> Result<Vec<SubjectVersion>, RegistryError> {
        self.with(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "{VERSIONS} WHERE v.schema_id = ?1 ORDER BY v.subject, v.version"
            ))?;
            let rows = stmt.query_map([id], version_row)?;
            rows.collect()
        })
        .await
    }

    async fn delete_version(
        &self,
        subject: &str,
        version: u32,
        permanent: bool,
    ) -> Result<(), RegistryError> {
        let subject = subject.to_owned();
        self.with(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            if permanent {
                tx.execute(
                    "DELETE FROM registry_versions WHERE subject = ?1 AND version = ?2",
                    params![subject, version],
                )?;
                tx.execute(
                    "DELETE FROM registry_schemas WHERE NOT EXISTS \
                     (SELECT 1 FROM registry_versions v WHERE v.schema_id = registry_schemas.id)",
                    [],
                )?;
            } else {
                tx.execute(
                    "UPDATE registry_versions SET deleted = 1 WHERE subject = ?1 AND version = ?2",
                    params![subject, version],
                )?;
            }
            tx.commit()
        })
        .await
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

/// The registry lives in the event store's file, so it can count the events written
/// with a schema (none where the file holds no event store).
#[async_trait]
impl SchemaUsage for SqliteSchemaStore {
    async fn events_with_schema(&self, id: u32) -> Result<u64, RegistryError> {
        self.with(move |conn| {
            let has_events: bool = conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events')",
                [],
                |r| r.get(0),
            )?;
            if !has_events {
                return Ok(0);
            }
            conn.query_row(
                "SELECT COUNT(*) FROM events WHERE schema_id = ?1",
                [id],
                |r| r.get(0),
            )
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
mod usage_contract {
    orderflow_core::schema_usage_contract!(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("orderflow.db");
        let events = crate::SqliteEventStore::open(&path).expect("open the event store");
        let schemas = super::SqliteSchemaStore::open(&path).expect("open the registry");
        let stores = orderflow_core::contract::registry::WithEvents {
            schemas: std::sync::Arc::new(schemas),
            events,
        };
        (stores, dir)
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
            registry
                .version("s-T", VersionRef::Latest, false)
                .await?
                .version,
            1
        );
        assert_eq!(registry.level("s-T").await?, CompatibilityLevel::Full);
        Ok(())
    }

    #[tokio::test]
    async fn a_registry_in_the_first_layout_is_moved_keeping_its_ids() -> Result<(), RegistryError>
    {
        let dir = tempfile::tempdir().map_err(unavailable)?;
        let path = dir.path().join("r.db");
        let a = r#"{"fields":[{"name":"a","type":"int"}],"name":"T","type":"record"}"#;
        {
            let conn = Connection::open(&path).map_err(unavailable)?;
            conn.execute_batch(&format!(
                "CREATE TABLE schemas (id INTEGER PRIMARY KEY AUTOINCREMENT, schema TEXT NOT NULL UNIQUE);
                 CREATE TABLE subject_versions (subject TEXT NOT NULL, version INTEGER NOT NULL,
                     schema_id INTEGER NOT NULL REFERENCES schemas (id), PRIMARY KEY (subject, version),
                     UNIQUE (subject, schema_id));
                 INSERT INTO schemas (id, schema) VALUES (7, '{a}');
                 INSERT INTO subject_versions VALUES ('s-T', 1, 7);"
            ))
            .map_err(unavailable)?;
        }
        let registry = Registry::new(SqliteSchemaStore::open(&path)?);
        assert_eq!(registry.schema(7).await?, a);
        let spelled_otherwise =
            r#"{"type":"record","name":"T","fields":[{"name":"a","type":"int"}]}"#;
        assert_eq!(registry.register("s-T", spelled_otherwise).await?, 7);
        let next = registry
            .register("s-T", r#"{"type":"record","name":"T","fields":[]}"#)
            .await?;
        assert!(next > 7, "new ids follow the old ones: {next}");
        Ok(())
    }

    #[tokio::test]
    async fn a_schema_that_stored_events_were_written_with_is_not_deleted_for_good()
    -> Result<(), Box<dyn std::error::Error>> {
        use orderflow_core::store::{AppendRequest, EventStore, ExpectedVersion, NewEvent};

        let dir = tempfile::tempdir()?;
        let path = dir.path().join("events.db");
        let events = crate::SqliteEventStore::open(&path)?;
        let schemas = SqliteSchemaStore::open(&path)?;
        let registry = Registry::new(schemas.clone()).with_usage(Arc::new(schemas));
        let a = r#"{"type":"record","name":"T","fields":[{"name":"a","type":"int"}]}"#;
        let b = r#"{"type":"record","name":"U","fields":[]}"#;
        let used = registry.register("s-T", a).await?;
        registry.register("s-U", b).await?;
        let event = |n: u8| NewEvent {
            event_id: uuid::Uuid::new_v4(),
            event_type: "T".into(),
            schema_id: used,
            payload: vec![n],
            occurred_at: chrono::Utc::now(),
            correlation_id: "c".into(),
            causation_id: None,
            actor: "test".into(),
            trace_context: None,
        };
        events
            .append(vec![AppendRequest {
                stream_id: "t-1".into(),
                expected: ExpectedVersion::NoStream,
                events: vec![event(1), event(2)],
            }])
            .await?;
        for subject in ["s-T", "s-U"] {
            registry.delete_subject(subject, false).await?;
        }
        let refused = registry.delete_subject("s-T", true).await.unwrap_err();
        assert_eq!(refused.error_code(), 42205);
        assert!(refused.to_string().contains("2 event(s)"), "{refused}");
        assert_eq!(registry.schema(used).await?, a, "still readable");
        registry.delete_subject("s-U", true).await?;
        Ok(())
    }
}
