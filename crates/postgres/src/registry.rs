//! Schema registry storage in PostgreSQL, for processes that share one registry: the
//! same tables as the embedded one (migration 0004).

use async_trait::async_trait;
use orderflow_core::registry::{
    CompatibilityLevel, NewSchema, RegistryError, SchemaReference, SchemaStore, SchemaUsage,
    StoredSchema, SubjectVersion,
};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};

#[derive(Debug, Clone)]
pub struct PgSchemaStore {
    pool: PgPool,
}

impl PgSchemaStore {
    /// Uses the event store's pool (and its migrations).
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> RegistryError {
    RegistryError::Unavailable(Box::new(e))
}

/// The versions query, with its condition and order.
macro_rules! versions_where {
    ($tail:literal) => {
        concat!(
            "SELECT v.subject, v.version, v.schema_id, s.schema, s.refs, v.deleted \
             FROM registry_versions v JOIN registry_schemas s ON s.id = v.schema_id ",
            $tail
        )
    };
}

fn references(json: &str) -> Result<Vec<SchemaReference>, RegistryError> {
    serde_json::from_str(json).map_err(unavailable)
}

fn version_row(r: &PgRow) -> Result<SubjectVersion, RegistryError> {
    let get = |e: sqlx::Error| unavailable(e);
    Ok(SubjectVersion {
        subject: r.try_get(0).map_err(get)?,
        version: r.try_get::<i32, _>(1).map_err(get)? as u32,
        id: r.try_get::<i32, _>(2).map_err(get)? as u32,
        schema: r.try_get(3).map_err(get)?,
        references: references(r.try_get(4).map_err(get)?)?,
        deleted: r.try_get(5).map_err(get)?,
    })
}

async fn versions_in<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    subject: &str,
) -> Result<Vec<SubjectVersion>, RegistryError> {
    sqlx::query(versions_where!("WHERE v.subject = $1 ORDER BY v.version"))
        .bind(subject)
        .fetch_all(executor)
        .await
        .map_err(unavailable)?
        .iter()
        .map(version_row)
        .collect()
}

#[async_trait]
impl SchemaStore for PgSchemaStore {
    async fn add_version(
        &self,
        subject: &str,
        new: NewSchema<'_>,
    ) -> Result<SubjectVersion, RegistryError> {
        let refs = serde_json::to_string(new.references).map_err(unavailable)?;
        let mut tx = self.pool.begin().await.map_err(unavailable)?;
        // One registration at a time, so version numbers are dense per subject.
        sqlx::query("LOCK TABLE registry_versions IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        sqlx::query(
            "INSERT INTO registry_schemas (fingerprint, schema, refs) VALUES ($1, $2, $3) \
             ON CONFLICT (fingerprint) DO NOTHING",
        )
        .bind(new.fingerprint)
        .bind(new.schema)
        .bind(&refs)
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
        let id: i32 = sqlx::query_scalar("SELECT id FROM registry_schemas WHERE fingerprint = $1")
            .bind(new.fingerprint)
            .fetch_one(&mut *tx)
            .await
            .map_err(unavailable)?;
        let live = versions_in(&mut *tx, subject)
            .await?
            .into_iter()
            .find(|v| v.id == id as u32 && !v.deleted);
        if let Some(v) = live {
            return Ok(v);
        }
        sqlx::query(
            "INSERT INTO registry_versions (subject, version, schema_id) \
             SELECT $1, COALESCE(MAX(version), 0) + 1, $2 FROM registry_versions WHERE subject = $1",
        )
        .bind(subject)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
        let version = versions_in(&mut *tx, subject)
            .await?
            .into_iter()
            .find(|v| v.id == id as u32 && !v.deleted)
            .ok_or_else(|| RegistryError::Unavailable("the new version vanished".into()))?;
        tx.commit().await.map_err(unavailable)?;
        Ok(version)
    }

    async fn schema_by_id(&self, id: u32) -> Result<Option<StoredSchema>, RegistryError> {
        let row = sqlx::query("SELECT schema, refs FROM registry_schemas WHERE id = $1")
            .bind(id as i32)
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable)?;
        row.map(|r| {
            Ok(StoredSchema {
                id,
                schema: r.try_get(0).map_err(unavailable)?,
                references: references(r.try_get(1).map_err(unavailable)?)?,
            })
        })
        .transpose()
    }

    async fn subjects(&self, include_deleted: bool) -> Result<Vec<String>, RegistryError> {
        sqlx::query_scalar(
            "SELECT DISTINCT subject FROM registry_versions WHERE $1 OR NOT deleted ORDER BY subject",
        )
        .bind(include_deleted)
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)
    }

    async fn versions(&self, subject: &str) -> Result<Vec<SubjectVersion>, RegistryError> {
        versions_in(&self.pool, subject).await
    }

    async fn versions_with_id(&self, id: u32) -> Result<Vec<SubjectVersion>, RegistryError> {
        sqlx::query(versions_where!(
            "WHERE v.schema_id = $1 ORDER BY v.subject, v.version"
        ))
        .bind(id as i32)
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?
        .iter()
        .map(version_row)
        .collect()
    }

    async fn delete_version(
        &self,
        subject: &str,
        version: u32,
        permanent: bool,
    ) -> Result<(), RegistryError> {
        let mut tx = self.pool.begin().await.map_err(unavailable)?;
        let change = if permanent {
            "DELETE FROM registry_versions WHERE subject = $1 AND version = $2"
        } else {
            "UPDATE registry_versions SET deleted = true WHERE subject = $1 AND version = $2"
        };
        sqlx::query(change)
            .bind(subject)
            .bind(version as i32)
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        if permanent {
            sqlx::query(
                "DELETE FROM registry_schemas s WHERE NOT EXISTS \
                 (SELECT 1 FROM registry_versions v WHERE v.schema_id = s.id)",
            )
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        }
        tx.commit().await.map_err(unavailable)
    }

    async fn config(
        &self,
        subject: Option<&str>,
    ) -> Result<Option<CompatibilityLevel>, RegistryError> {
        let level: Option<String> =
            sqlx::query_scalar("SELECT level FROM compatibility WHERE subject = $1")
                .bind(subject.unwrap_or_default())
                .fetch_optional(&self.pool)
                .await
                .map_err(unavailable)?;
        level.map(|l| l.parse()).transpose()
    }

    async fn set_config(
        &self,
        subject: Option<&str>,
        level: CompatibilityLevel,
    ) -> Result<(), RegistryError> {
        sqlx::query(
            "INSERT INTO compatibility (subject, level) VALUES ($1, $2) \
             ON CONFLICT (subject) DO UPDATE SET level = excluded.level",
        )
        .bind(subject.unwrap_or_default())
        .bind(level.as_str())
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(())
    }
}

/// The registry shares the event store's database, so it can count the events written
/// with a schema.
#[async_trait]
impl SchemaUsage for PgSchemaStore {
    async fn events_with_schema(&self, id: u32) -> Result<u64, RegistryError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE schema_id = $1")
            .bind(id as i32)
            .fetch_one(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(count as u64)
    }
}

#[cfg(test)]
mod usage_contract {
    use crate::PgEventStore;
    use crate::test_schema::{TestSchema, database_url};

    orderflow_core::schema_usage_contract!(async {
        let schema = TestSchema::create()
            .await
            .expect("a schema of the test's own");
        let events = PgEventStore::connect(&database_url(), &schema.settings())
            .await
            .expect("connect");
        let stores = orderflow_core::contract::registry::WithEvents {
            schemas: std::sync::Arc::new(super::PgSchemaStore::new(events.pool().clone())),
            events,
        };
        (stores, schema)
    });
}
