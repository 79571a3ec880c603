//! Which event store a data dir's derived files (the bus, the read models) were made
//! from. The event store gets an identity once, when it is created; each derived file
//! is stamped with the identity of the store it was made from. A store that was lost
//! and started again empty has a new identity, so derived files left from the old one
//! can be told apart instead of being served as if they belonged to it.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension};

use crate::db;

/// What a derived file says of itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Derived {
    /// The identity of the store it was made from, if it was stamped.
    pub store: Option<String>,
    /// Whether it holds anything (a stamped or unstamped file with no data can simply
    /// be made again).
    pub has_data: bool,
    /// The store position it reflects, for read models (`view_position`).
    pub position: Option<u64>,
}

/// The event store's identity, made when first asked for, and its head position.
pub fn store_identity(events: &Path) -> rusqlite::Result<(String, u64)> {
    let conn = db::open(events)?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS store_identity (id TEXT NOT NULL, created_at TEXT NOT NULL);",
    )?;
    conn.execute(
        "INSERT INTO store_identity (id, created_at) SELECT ?1, ?2 \
         WHERE NOT EXISTS (SELECT 1 FROM store_identity)",
        [
            uuid::Uuid::new_v4().to_string(),
            chrono::Utc::now().to_rfc3339(),
        ],
    )?;
    let id = conn.query_row("SELECT id FROM store_identity", [], |r| r.get(0))?;
    let has_events: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events')",
        [],
        |r| r.get(0),
    )?;
    let head = if has_events {
        conn.query_row("SELECT COALESCE(MAX(position), 0) FROM events", [], |r| {
            r.get(0)
        })?
    } else {
        0
    };
    Ok((id, head))
}

fn has_table(conn: &Connection, table: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
        [table],
        |r| r.get(0),
    )
}

/// Reads a derived file's stamp; `data_tables` are the tables whose rows count as data.
/// A file that does not exist is `None`.
pub fn derived(path: &Path, data_tables: &[&str]) -> rusqlite::Result<Option<Derived>> {
    if !path.exists() {
        return Ok(None);
    }
    let conn = db::open(path)?;
    let store = if has_table(&conn, "derived_from")? {
        conn.query_row("SELECT store_id FROM derived_from", [], |r| r.get(0))
            .optional()?
    } else {
        None
    };
    let mut has_data = false;
    for table in data_tables {
        if has_table(&conn, table)? {
            let sql = format!("SELECT EXISTS (SELECT 1 FROM \"{table}\")");
            has_data |= conn.query_row(&sql, [], |r| r.get::<_, bool>(0))?;
        }
    }
    let position = if has_table(&conn, "view_position")? {
        conn.query_row("SELECT position FROM view_position", [], |r| r.get(0))
            .optional()?
    } else {
        None
    };
    Ok(Some(Derived {
        store,
        has_data,
        position,
    }))
}

/// SQLite's `quick_check` of a file: `Err` with what it found when the file is damaged
/// (or is not a database at all).
pub fn quick_check(path: &Path) -> Result<(), String> {
    let conn = db::open(path).map_err(|e| e.to_string())?;
    let mut stmt = conn
        .prepare("PRAGMA quick_check")
        .map_err(|e| e.to_string())?;
    let found: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .and_then(|rows| rows.collect())
        .map_err(|e| e.to_string())?;
    match found.as_slice() {
        [ok] if ok == "ok" => Ok(()),
        problems => Err(problems.join("; ")),
    }
}

/// Stamps a derived file (creating it if needed) with the store it is made from.
pub fn stamp(path: &Path, store: &str) -> rusqlite::Result<()> {
    let conn = db::open(path)?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS derived_from (
             id       INTEGER PRIMARY KEY CHECK (id = 1),
             store_id TEXT NOT NULL
         );",
    )?;
    conn.execute(
        "INSERT INTO derived_from (id, store_id) VALUES (1, ?1) \
         ON CONFLICT (id) DO UPDATE SET store_id = excluded.store_id",
        [store],
    )
    .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_file_fails_its_quick_check() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("events.db");
        let conn = db::open(&path).expect("open");
        conn.execute_batch(
            "CREATE TABLE t (x TEXT); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) \
             INSERT INTO t SELECT hex(randomblob(100)) FROM n; PRAGMA wal_checkpoint(TRUNCATE);",
        )
        .expect("filled");
        drop(conn);
        assert_eq!(quick_check(&path), Ok(()));
        let mut bytes = std::fs::read(&path).expect("read");
        let len = bytes.len();
        for b in &mut bytes[len / 2..len / 2 + 4096] {
            *b = 0xA5;
        }
        std::fs::write(&path, bytes).expect("written");
        assert!(quick_check(&path).is_err());
    }

    #[test]
    fn a_store_keeps_its_identity_and_a_new_one_gets_another() -> rusqlite::Result<()> {
        let dir = tempfile::tempdir().expect("temp dir");
        let events = dir.path().join("events.db");
        let (first, head) = store_identity(&events)?;
        assert_eq!(head, 0);
        assert_eq!(store_identity(&events)?.0, first);
        std::fs::remove_file(&events).expect("removed");
        assert_ne!(store_identity(&events)?.0, first);
        Ok(())
    }

    #[test]
    fn a_derived_file_says_which_store_it_came_from_and_whether_it_holds_data()
    -> rusqlite::Result<()> {
        let dir = tempfile::tempdir().expect("temp dir");
        let read = dir.path().join("read.db");
        assert_eq!(derived(&read, &["views"])?, None);
        stamp(&read, "s-1")?;
        db::open(&read)?.execute_batch("CREATE TABLE views (x); INSERT INTO views VALUES (1);")?;
        let found = derived(&read, &["views", "absent"])?;
        assert_eq!(
            found,
            Some(Derived {
                store: Some("s-1".into()),
                has_data: true,
                position: None,
            })
        );
        Ok(())
    }
}
