//! The key store on PostgreSQL, in the `subject_keys` table beside the event store.
//!
//! A forgotten key's row is updated to hold no key. PostgreSQL keeps the old row version,
//! key and all, until a vacuum, and even a vacuum may leave its bytes in the page's free
//! space (when the new version went to another page), so forgetting rewrites the table
//! (`VACUUM FULL`): its old file, the key in it, is truncated at once. A rewrite keeps a
//! row version that a session's snapshot from before the forget may still see, so the
//! forget first waits (up to 30 s) for such sessions to end. The rewrite holds the
//! table for as long as the rewrite takes (about 1.5 s per million customers), which a
//! rare operator action can afford. Copies in base backups and archived WAL remain until
//! those expire: keep them on a short retention (docs/operations.md).

use std::time::Duration;

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

    /// Destroys the subject's keys in one transaction; returns how many, and the
    /// transaction's id (the low 32 bits of its 64-bit one), to know which snapshots may
    /// still see them.
    async fn destroy(&self, subject: &str, at: DateTime<Utc>) -> Result<(usize, String), KeyError> {
        let mut tx = self.pool.begin().await.map_err(unavailable)?;
        let destroyed = sqlx::query(
            "UPDATE subject_keys SET key = NULL, forgotten_at = $2 \
             WHERE subject = $1 AND key IS NOT NULL",
        )
        .bind(subject)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?
        .rows_affected() as usize;
        let (xid,): (String,) = sqlx::query_as(
            "SELECT (pg_current_xact_id()::text::numeric % 4294967296)::bigint::text",
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)?;
        Ok((destroyed, xid))
    }

    /// Waits (up to `wait`) until no other session of this database
    /// holds a snapshot taken before transaction `xid` committed: while one does, the
    /// row versions `xid` replaced may still be visible to it, and a rewrite keeps them.
    /// Returns the sessions still holding one.
    async fn wait_for_older_snapshots(
        &self,
        xid: &str,
        wait: Duration,
    ) -> Result<Vec<i32>, KeyError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let holding: Vec<i32> = sqlx::query_scalar(
                "SELECT pid FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid() \
                 AND backend_type = 'client backend' AND backend_xmin IS NOT NULL \
                 AND age(backend_xmin) >= age($1::xid)",
            )
            .bind(xid)
            .fetch_all(&self.pool)
            .await
            .map_err(unavailable)?;
            if holding.is_empty() || tokio::time::Instant::now() >= deadline {
                return Ok(holding);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// How long a forget waits for sessions that began before it to end.
const OLDER_SNAPSHOTS_WAIT: Duration = Duration::from_secs(30);

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
        let (destroyed, xid) = self.destroy(subject, at).await?;
        if destroyed > 0 {
            let holding = self
                .wait_for_older_snapshots(&xid, OLDER_SNAPSHOTS_WAIT)
                .await?;
            if !holding.is_empty() {
                tracing::warn!(
                    ?holding,
                    "sessions older than a forget are still open: the destroyed key's old \
                     row version stays on disk until the next forget rewrites the table"
                );
            }
            // The row's old version, key and all, stays in the table's file until it is
            // rewritten.
            sqlx::query("VACUUM FULL subject_keys")
                .execute(&self.pool)
                .await
                .map_err(unavailable)?;
        }
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
    use chrono::Utc;
    use orderflow_core::keys::KeyStore;
    use sqlx::Row;

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

    /// Whether the file of the table holds `bytes`, as the server wrote it to disk.
    async fn file_holds(pool: &sqlx::PgPool, bytes: &[u8]) -> Result<bool, sqlx::Error> {
        sqlx::query("CHECKPOINT").execute(pool).await?;
        sqlx::query_scalar(
            "SELECT position($1 IN pg_read_binary_file(pg_relation_filepath('subject_keys'))) > 0",
        )
        .bind(bytes)
        .fetch_one(pool)
        .await
    }

    #[tokio::test]
    async fn a_destroyed_key_is_gone_from_the_tables_file_not_just_from_its_rows()
    -> Result<(), Box<dyn std::error::Error>> {
        let schema = TestSchema::create().await?;
        let events = PgEventStore::connect(&database_url(), &schema.settings()).await?;
        let pool = events.pool().clone();
        let keys = super::PgKeyStore::new(pool.clone());
        // Enough subjects to fill the first page, so that the forgotten row's new
        // version goes to another page and a plain VACUUM would leave the old one's
        // bytes behind in the first page's free space.
        for i in 0..300 {
            keys.key_for_writing(&format!("c-{i}")).await?;
        }
        let last_on_first_page: String = sqlx::query_scalar(
            "SELECT subject FROM subject_keys WHERE (ctid::text::point)[0] = 0 \
             ORDER BY (ctid::text::point)[1] DESC LIMIT 1",
        )
        .fetch_one(&pool)
        .await?;
        let key_of = |subject: String| {
            let pool = pool.clone();
            async move {
                let row = sqlx::query("SELECT key FROM subject_keys WHERE subject = $1")
                    .bind(subject)
                    .fetch_one(&pool)
                    .await?;
                row.try_get::<Vec<u8>, _>("key")
            }
        };
        let destroyed = key_of(last_on_first_page.clone()).await?;
        let kept = key_of("c-0".into()).await?;
        assert!(
            file_holds(&pool, &destroyed).await?,
            "the search reads the table"
        );

        keys.forget(&last_on_first_page, Utc::now()).await?;

        assert!(
            !file_holds(&pool, &destroyed).await?,
            "the key is still on disk"
        );
        assert!(file_holds(&pool, &kept).await?, "the others' keys are kept");
        Ok(())
    }

    #[tokio::test]
    async fn a_forget_waits_for_the_sessions_whose_snapshots_may_still_see_the_key()
    -> Result<(), Box<dyn std::error::Error>> {
        let schema = TestSchema::create().await?;
        let events = PgEventStore::connect(&database_url(), &schema.settings()).await?;
        let keys = super::PgKeyStore::new(events.pool().clone());
        keys.key_for_writing("c-1").await?;
        // A session whose snapshot predates the forget.
        let mut older = events.pool().acquire().await?;
        sqlx::query("BEGIN ISOLATION LEVEL REPEATABLE READ")
            .execute(&mut *older)
            .await?;
        sqlx::query("SELECT count(*) FROM subject_keys")
            .execute(&mut *older)
            .await?;
        let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut *older)
            .await?;

        let (destroyed, xid) = keys.destroy("c-1", Utc::now()).await?;
        assert_eq!(destroyed, 1);
        let holding = keys
            .wait_for_older_snapshots(&xid, std::time::Duration::ZERO)
            .await?;
        assert!(holding.contains(&pid), "{holding:?} misses {pid}");

        sqlx::query("COMMIT").execute(&mut *older).await?;
        let holding = keys
            .wait_for_older_snapshots(&xid, super::OLDER_SNAPSHOTS_WAIT)
            .await?;
        assert!(!holding.contains(&pid), "{holding:?}");
        Ok(())
    }
}
