//! The key store on PostgreSQL, in the `subject_keys` table beside the event store.
//!
//! A forgotten key's row is updated to hold no key; PostgreSQL keeps the old row version
//! until a vacuum, so forgetting vacuums the table at once. Copies in base backups and
//! archived WAL remain until those expire: keep the key store's backups on a short
//! retention (docs/operations.md).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use orderflow_core::keys::{DataKey, Forgotten, KeyError, KeyLookup, KeyStore, SubjectKey};
use sqlx::PgPool;

#[derive(Debug, Clone)]
pub struct PgKeyStore {
    pool: PgPool,
}

fn unavailable(e: impl std::fmt::Display) -> KeyError {
    KeyError::Unavailable(e.to_string())
}

impl PgKeyStore {
    /// Uses the event store's pool (and its migrations).
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl KeyStore for PgKeyStore {
    async fn key_for_writing(&self, subject: &str) -> Result<SubjectKey, KeyError> {
        loop {
            let last: Option<(i32, Option<Vec<u8>>)> = sqlx::query_as(
                "SELECT generation, key FROM subject_keys WHERE subject = $1 \
                 ORDER BY generation DESC LIMIT 1",
            )
            .bind(subject)
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable)?;
            let generation = match last {
                Some((generation, Some(key))) => {
                    return Ok(SubjectKey {
                        generation: generation as u32,
                        key: DataKey::from_stored(key)?,
                    });
                }
                Some((generation, None)) => generation + 1,
                None => 1,
            };
            let key = DataKey::generate();
            let made = sqlx::query(
                "INSERT INTO subject_keys (subject, generation, key) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(subject)
            .bind(generation)
            .bind(key.0.as_slice())
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
            if made.rows_affected() == 1 {
                return Ok(SubjectKey {
                    generation: generation as u32,
                    key,
                });
            }
            // Another writer made this number first: read what it made.
        }
    }

    async fn key(&self, subject: &str, generation: u32) -> Result<KeyLookup, KeyError> {
        let row: Option<(Option<Vec<u8>>, Option<DateTime<Utc>>)> = sqlx::query_as(
            "SELECT key, forgotten_at FROM subject_keys WHERE subject = $1 AND generation = $2",
        )
        .bind(subject)
        .bind(generation as i32)
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(match row {
            None => KeyLookup::Unknown,
            Some((Some(key), _)) => KeyLookup::Live(DataKey::from_stored(key)?),
            Some((None, Some(forgotten_at))) => KeyLookup::Destroyed { forgotten_at },
            Some((None, None)) => {
                return Err(KeyError::Damaged("a destroyed key without a time".into()));
            }
        })
    }

    async fn forget(&self, subject: &str, at: DateTime<Utc>) -> Result<Forgotten, KeyError> {
        let destroyed = sqlx::query(
            "UPDATE subject_keys SET key = NULL, forgotten_at = $2 \
             WHERE subject = $1 AND key IS NOT NULL",
        )
        .bind(subject)
        .bind(at)
        .execute(&self.pool)
        .await
        .map_err(unavailable)?
        .rows_affected() as usize;
        // The row's old version, key and all, stays in the table until a vacuum.
        sqlx::query("VACUUM subject_keys")
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(Forgotten { destroyed, at })
    }

    async fn live_subjects(&self) -> Result<u64, KeyError> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(DISTINCT subject) FROM subject_keys WHERE key IS NOT NULL",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(n as u64)
    }
}

#[cfg(test)]
mod tests {
    use crate::PgEventStore;
    use crate::test_schema::{TestSchema, database_url};

    orderflow_core::key_store_contract!(async {
        let schema = TestSchema::create()
            .await
            .expect("a schema of the test's own");
        let events = PgEventStore::connect(&database_url(), &schema.settings())
            .await
            .expect("connect");
        (
            super::PgKeyStore::new(events.pool().clone()),
            (schema, events),
        )
    });
}
