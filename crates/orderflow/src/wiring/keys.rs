//! The key store at start: one that is missing (or empty) while the event store holds
//! personal data sealed under keys is refused, as a missing store file is. Started
//! anyway, it would read every sealed address as unreadable: the keys' loss taken for
//! every customer forgotten.

use std::path::Path;

use anyhow::{Context, bail};
use orderflow_core::keys::seal::MAGIC;

/// Refuses to start when `keys` (the key store's file) is missing beside an event store
/// at `events` that holds sealed values.
pub fn check_sqlite(events: &Path, keys: &Path) -> anyhow::Result<()> {
    if keys.exists() || !events.exists() {
        return Ok(());
    }
    let db =
        rusqlite::Connection::open_with_flags(events, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .with_context(|| format!("opening {} to look for sealed data", events.display()))?;
    let has_events: bool = db.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events')",
        [],
        |r| r.get(0),
    )?;
    if !has_events {
        return Ok(());
    }
    let sealed: bool = db.query_row(
        "SELECT EXISTS (SELECT 1 FROM events \
         WHERE event_type = 'OrderCreated' AND instr(payload, ?1) > 0)",
        [MAGIC.as_slice()],
        |r| r.get(0),
    )?;
    if sealed {
        bail!(missing(&keys.display().to_string()));
    }
    Ok(())
}

/// The same on PostgreSQL: an empty `subject_keys` beside sealed events.
pub async fn check_postgres(pool: &sqlx::PgPool) -> anyhow::Result<()> {
    let (empty, sealed): (bool, bool) = sqlx::query_as(
        "SELECT NOT EXISTS (SELECT 1 FROM subject_keys), \
                EXISTS (SELECT 1 FROM events WHERE event_type = 'OrderCreated' \
                        AND position($1::bytea in payload) > 0)",
    )
    .bind(MAGIC.as_slice())
    .fetch_one(pool)
    .await
    .context("looking for sealed data without keys")?;
    if empty && sealed {
        bail!(missing("the subject_keys table"));
    }
    Ok(())
}

fn missing(what: &str) -> String {
    format!(
        "the key store ({what}) is missing or empty, but the event store holds personal \
         data sealed under its keys: restore the key store from its backup \
         (docs/operations.md, \"Backup and restore\"). Starting without it would read \
         every customer's personal data as unreadable."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_store_without_sealed_data_needs_no_key_store_yet() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let events = dir.path().join("events.db");
        let keys = dir.path().join("keys.db");
        check_sqlite(&events, &keys)?;
        let db = rusqlite::Connection::open(&events)?;
        db.execute_batch(orderflow_sqlite::EVENTS_TABLE)?;
        let insert = "INSERT INTO events (stream_id, version, event_id, event_type, schema_id, \
                      payload, occurred_at, recorded_at, correlation_id, actor) \
                      VALUES ('order-o', ?1, ?2, 'OrderCreated', 1, ?3, 0, 0, 'o', 'api')";
        db.execute(
            insert,
            rusqlite::params![1, vec![1u8], b"plain address".to_vec()],
        )?;
        check_sqlite(&events, &keys)?;

        let mut sealed = MAGIC.to_vec();
        sealed.extend_from_slice(b"ciphertext");
        db.execute(insert, rusqlite::params![2, vec![2u8], sealed])?;
        let refused = check_sqlite(&events, &keys).expect_err("refused");
        assert!(
            refused.to_string().contains("restore the key store"),
            "{refused}"
        );
        std::fs::write(&keys, b"")?;
        check_sqlite(&events, &keys)?;
        Ok(())
    }
}
