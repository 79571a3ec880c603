//! Connections: WAL mode so readers never block the writer, `synchronous=FULL` so a
//! commit is durable when it returns, and a busy timeout so several processes can share
//! one file.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use rusqlite::config::DbConfig;

/// Opens a connection with the pragmas every orderflow database uses.
///
/// It also turns on the query planner stability guarantee (QPSG). Without it, SQLite
/// plans `LIMIT ?` with the value bound at the time, and any later binding of that
/// parameter expires the statement: every poll of the bus and every read of the store
/// by position parsed and planned its SQL again (about 5 % of the pipeline's CPU in a
/// profile). orderflow's plans never depend on a bound value.
pub fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    conn.busy_handler(Some(wait_for_lock))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// Another connection (another process) holds the write lock: wait a little and try
/// again, for up to about 30 s. SQLite's own busy timeout backs off to 100 ms sleeps,
/// which stalls a busy pipeline; short, even waits keep latency low.
fn wait_for_lock(attempt: i32) -> bool {
    if attempt >= 30_000 {
        return false;
    }
    std::thread::sleep(std::time::Duration::from_micros(if attempt < 100 {
        100
    } else {
        1000
    }));
    true
}

/// Read connections kept open for reuse.
const MAX_IDLE: usize = 64;

/// Read connections to one file, opened as needed and kept for the next read.
#[derive(Debug, Clone)]
pub struct ReadPool {
    path: PathBuf,
    idle: Arc<Mutex<Vec<Connection>>>,
}

impl ReadPool {
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
            idle: Arc::default(),
        }
    }

    /// Runs `f` with a read connection. On a multi-threaded runtime the caller runs it
    /// on its own thread (`block_in_place`): a read takes well under a millisecond, and
    /// a trip to the blocking pool and back (two thread wake-ups) cost about as much as
    /// the read itself. On a current-thread runtime it runs on the blocking pool.
    pub async fn with<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<rusqlite::Error> + From<tokio::task::JoinError> + Send + 'static,
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    {
        use tokio::runtime::{Handle, RuntimeFlavor};
        if Handle::current().runtime_flavor() == RuntimeFlavor::MultiThread {
            return tokio::task::block_in_place(|| self.run(f));
        }
        let pool = self.clone();
        tokio::task::spawn_blocking(move || pool.run(f)).await?
    }

    fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        E: From<rusqlite::Error>,
        F: FnOnce(&Connection) -> Result<T, E>,
    {
        let taken = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match taken {
            Some(c) => c,
            None => open(&self.path)?,
        };
        let result = f(&conn);
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
        result
    }
}

pub fn micros(t: chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp_micros()
}

pub fn from_micros(us: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_micros(us).unwrap_or_default()
}

/// Whether SQLite says the file is damaged (or not a database at all): retrying cannot
/// help, and the file must be restored.
pub fn is_damage(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
    )
}

#[cfg(test)]
mod tests {
    use rusqlite::StatementStatus;

    /// A statement with `LIMIT ?` is planned once, not again each time the limit is
    /// bound to another value.
    #[test]
    fn a_bound_limit_does_not_make_a_statement_prepare_again()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let conn = super::open(&dir.path().join("t.db"))?;
        conn.execute_batch("CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (1), (2), (3);")?;
        for limit in 1..=3 {
            let mut stmt = conn.prepare_cached("SELECT v FROM t ORDER BY v LIMIT ?1")?;
            let rows: Vec<i64> = stmt
                .query_map([limit], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            assert_eq!(rows.len(), limit as usize);
            assert_eq!(stmt.get_status(StatementStatus::RePrepare), 0);
        }
        Ok(())
    }

    /// The bundled SQLite is built as `.cargo/config.toml` asks: connections on
    /// different threads share no page-cache mutex, and allocations take no global
    /// mutex to be counted.
    #[test]
    fn sqlite_is_built_without_shared_page_cache_groups_or_memory_statistics()
    -> Result<(), Box<dyn std::error::Error>> {
        let conn = rusqlite::Connection::open_in_memory()?;
        let options: Vec<String> = conn
            .prepare("PRAGMA compile_options")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        assert!(
            !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
            "{options:?}"
        );
        assert!(
            options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
            "{options:?}"
        );
        Ok(())
    }
}
