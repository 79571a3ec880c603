//! The key store on SQLite, in `keys.db`: a file of its own so that it is backed up,
//! restored and protected apart from the events its keys protect.
//!
//! A forgotten key's bytes are overwritten where they lay (`secure_delete`), and the
//! write-ahead log is folded into the file and emptied at once, so that no copy of the
//! key is left in either file.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use orderflow_core::keys::{DataKey, Forgotten, KeyError, KeyLookup, KeyStore, SubjectKey};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS subject_keys (
    subject      TEXT    NOT NULL,
    generation   INTEGER NOT NULL,
    key          BLOB,
    forgotten_at TEXT,
    PRIMARY KEY (subject, generation)
) WITHOUT ROWID;
";

#[derive(Debug, Clone)]
pub struct SqliteKeyStore {
    conn: Arc<Mutex<Connection>>,
}

fn unavailable(e: impl std::fmt::Display) -> KeyError {
    KeyError::Unavailable(e.to_string())
}

impl SqliteKeyStore {
    /// Opens (or creates) the key store at `path`.
    pub fn open(path: &Path) -> Result<Self, KeyError> {
        let conn = crate::db::open(path).map_err(unavailable)?;
        conn.pragma_update(None, "secure_delete", "ON")
            .map_err(unavailable)?;
        conn.execute_batch(SCHEMA).map_err(unavailable)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, KeyError> + Send + 'static,
    ) -> Result<T, KeyError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut conn)
        })
        .await
        .map_err(unavailable)?
    }
}

#[async_trait]
impl KeyStore for SqliteKeyStore {
    async fn key_for_writing(&self, subject: &str) -> Result<SubjectKey, KeyError> {
        let subject = subject.to_owned();
        self.with(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            let last: Option<(u32, Option<Vec<u8>>)> = tx
                .query_row(
                    "SELECT generation, key FROM subject_keys WHERE subject = ?1 \
                     ORDER BY generation DESC LIMIT 1",
                    params![subject],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(unavailable)?;
            let generation = match last {
                Some((generation, Some(key))) => {
                    return Ok(SubjectKey {
                        generation,
                        key: DataKey::from_stored(key)?,
                    });
                }
                Some((generation, None)) => generation + 1,
                None => 1,
            };
            let key = DataKey::generate();
            tx.execute(
                "INSERT INTO subject_keys (subject, generation, key) VALUES (?1, ?2, ?3)",
                params![subject, generation, key.0.as_slice()],
            )
            .map_err(unavailable)?;
            tx.commit().map_err(unavailable)?;
            Ok(SubjectKey { generation, key })
        })
        .await
    }

    async fn key(&self, subject: &str, generation: u32) -> Result<KeyLookup, KeyError> {
        let subject = subject.to_owned();
        self.with(move |conn| {
            let row: Option<(Option<Vec<u8>>, Option<String>)> = conn
                .prepare_cached(
                    "SELECT key, forgotten_at FROM subject_keys \
                     WHERE subject = ?1 AND generation = ?2",
                )
                .and_then(|mut s| {
                    s.query_row(params![subject, generation], |r| Ok((r.get(0)?, r.get(1)?)))
                        .optional()
                })
                .map_err(unavailable)?;
            Ok(match row {
                None => KeyLookup::Unknown,
                Some((Some(key), _)) => KeyLookup::Live(DataKey::from_stored(key)?),
                Some((None, at)) => KeyLookup::Destroyed {
                    forgotten_at: at
                        .and_then(|at| DateTime::parse_from_rfc3339(&at).ok())
                        .map(|at| at.with_timezone(&Utc))
                        .ok_or_else(|| {
                            KeyError::Damaged("a destroyed key without a time".into())
                        })?,
                },
            })
        })
        .await
    }

    async fn forget(&self, subject: &str, at: DateTime<Utc>) -> Result<Forgotten, KeyError> {
        let subject = subject.to_owned();
        self.with(move |conn| {
            let stamp = at.to_rfc3339_opts(SecondsFormat::Micros, true);
            let destroyed = conn
                .execute(
                    "UPDATE subject_keys SET key = NULL, forgotten_at = ?2 \
                     WHERE subject = ?1 AND key IS NOT NULL",
                    params![subject, stamp],
                )
                .map_err(unavailable)?;
            // The old page, key and all, may still be in the write-ahead log.
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                .map_err(unavailable)?;
            Ok(Forgotten { destroyed, at })
        })
        .await
    }

    async fn live_subjects(&self) -> Result<u64, KeyError> {
        self.with(|conn| {
            conn.query_row(
                "SELECT COUNT(DISTINCT subject) FROM subject_keys WHERE key IS NOT NULL",
                [],
                |r| r.get(0),
            )
            .map_err(unavailable)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use orderflow_core::keys::KeyStore;

    orderflow_core::key_store_contract!(async {
        let dir = tempfile::tempdir().expect("a temp dir");
        let keys = super::SqliteKeyStore::open(&dir.path().join("keys.db")).expect("open");
        (keys, dir)
    });

    /// Whether `keys.db` or its write-ahead log holds `bytes`.
    fn files_hold(dir: &std::path::Path, bytes: &[u8]) -> std::io::Result<bool> {
        for file in ["keys.db", "keys.db-wal"] {
            match std::fs::read(dir.join(file)) {
                Ok(content) if content.windows(bytes.len()).any(|w| w == bytes) => {
                    return Ok(true);
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(false)
    }

    #[tokio::test]
    async fn a_destroyed_key_is_gone_from_the_file_and_its_log_not_just_from_its_row()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let keys = super::SqliteKeyStore::open(&dir.path().join("keys.db"))?;
        let mut made = Vec::new();
        for i in 0..300 {
            made.push(keys.key_for_writing(&format!("c-{i}")).await?.key.0);
        }
        assert!(
            files_hold(dir.path(), &made[7])?,
            "the search reads the file"
        );

        keys.forget("c-7", Utc::now()).await?;

        assert!(
            !files_hold(dir.path(), &made[7])?,
            "the key is still on disk"
        );
        assert!(
            files_hold(dir.path(), &made[8])?,
            "the others' keys are kept"
        );
        Ok(())
    }
}
