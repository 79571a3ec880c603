//! Schema registry storage in PostgreSQL, for processes that share one registry.

use async_trait::async_trait;
use orderflow_core::registry::{CompatibilityLevel, RegistryError, SchemaStore, SubjectVersion};
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

async fn versions_in<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    subject: &str,
) -> Result<Vec<SubjectVersion>, RegistryError> {
    let rows = sqlx::query(
        "SELECT v.version, v.schema_id, s.schema FROM subject_versions v \
         JOIN schemas s ON s.id = v.schema_id WHERE v.subject = $1 ORDER BY v.version",
    )
    .bind(subject)
    .fetch_all(executor)
    .await
    .map_err(unavailable)?;
    rows.iter()
        .map(|r| {
            Ok(SubjectVersion {
                subject: subject.to_owned(),
                version: r.try_get::<i32, _>(0)? as u32,
                id: r.try_get::<i32, _>(1)? as u32,
                schema: r.try_get(2)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(unavailable)
}

#[async_trait]
impl SchemaStore for PgSchemaStore {
    async fn add_version(
        &self,
        subject: &str,
        schema: &str,
    ) -> Result<SubjectVersion, RegistryError> {
        let mut tx = self.pool.begin().await.map_err(unavailable)?;
        // One registration at a time, so version numbers are dense per subject.
        sqlx::query("LOCK TABLE subject_versions IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        sqlx::query("INSERT INTO schemas (schema) VALUES ($1) ON CONFLICT (schema) DO NOTHING")
            .bind(schema)
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        let id: i32 = sqlx::query_scalar("SELECT id FROM schemas WHERE schema = $1")
            .bind(schema)
            .fetch_one(&mut *tx)
            .await
            .map_err(unavailable)?;
        sqlx::query(
            "INSERT INTO subject_versions (subject, version, schema_id) \
             SELECT $1, COALESCE(MAX(version), 0) + 1, $2 FROM subject_versions WHERE subject = $1 \
             ON CONFLICT DO NOTHING",
        )
        .bind(subject)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
        let version = versions_in(&mut *tx, subject)
            .await?
            .into_iter()
            .find(|v| v.id == id as u32)
            .ok_or_else(|| RegistryError::Unavailable("the new version vanished".into()))?;
        tx.commit().await.map_err(unavailable)?;
        Ok(version)
    }

    async fn schema_by_id(&self, id: u32) -> Result<Option<String>, RegistryError> {
        sqlx::query_scalar("SELECT schema FROM schemas WHERE id = $1")
            .bind(id as i32)
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable)
    }

    async fn subjects(&self) -> Result<Vec<String>, RegistryError> {
        sqlx::query_scalar("SELECT DISTINCT subject FROM subject_versions ORDER BY subject")
            .fetch_all(&self.pool)
            .await
            .map_err(unavailable)
    }

    async fn versions(&self, subject: &str) -> Result<Vec<SubjectVersion>, RegistryError> {
        versions_in(&self.pool, subject).await
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
