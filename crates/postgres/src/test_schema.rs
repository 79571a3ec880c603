//! Scratch schemas for tests: each test works in a schema of its own on the test server,
//! and the schema is dropped, with everything in it, when the test ends (passed or
//! failed), so a second run on the same cluster meets nothing of the first.

use sqlx::Connection;
use uuid::Uuid;

use crate::PoolSettings;

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// The PostgreSQL server for tests: `ORDERFLOW_TEST_DATABASE_URL`, or the one on
/// 127.0.0.1:5432. Missing infrastructure fails the test, it never skips.
pub fn database_url() -> String {
    std::env::var("ORDERFLOW_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A schema of one test's own; dropping this drops it.
#[derive(Debug)]
pub struct TestSchema {
    name: String,
}

impl TestSchema {
    /// Creates an empty schema with a fresh name.
    pub async fn create() -> Result<Self, Box<dyn std::error::Error>> {
        let url = database_url();
        let mut admin = sqlx::PgConnection::connect(&url).await.map_err(|e| {
            format!(
                "no PostgreSQL at {url} ({e}): set ORDERFLOW_TEST_DATABASE_URL, run one on \
                 127.0.0.1:5432, or use ./scripts/test, which starts one"
            )
        })?;
        let schema = Self {
            name: format!("t_{}", Uuid::new_v4().simple()),
        };
        // The name is ours (a UUID), not input.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE SCHEMA {}",
            schema.name
        )))
        .execute(&mut admin)
        .await?;
        admin.close().await?;
        Ok(schema)
    }

    /// Pool settings for a store working in this schema.
    pub fn settings(&self) -> PoolSettings {
        PoolSettings {
            schema: Some(self.name.clone()),
            ..PoolSettings::default()
        }
    }
}

/// Drops `schema` and what is in it, on a connection of its own.
async fn drop_schema(schema: &str) -> Result<(), Failure> {
    let mut conn = sqlx::PgConnection::connect(&database_url()).await?;
    // A transaction a failed test left open must not hold the drop up for ever.
    sqlx::query("SET lock_timeout = '10s'")
        .execute(&mut conn)
        .await?;
    // The name is ours (a UUID), not input.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE"
    )))
    .execute(&mut conn)
    .await?;
    conn.close().await?;
    Ok(())
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        let schema = self.name.clone();
        // `drop` cannot await, and runs inside the test's runtime: a thread with a
        // runtime of its own does the work.
        let dropped = std::thread::spawn(move || -> Result<(), Failure> {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
                .block_on(drop_schema(&schema))
        })
        .join()
        .unwrap_or_else(|_| Err("the thread dropping it panicked".into()));
        if let Err(e) = dropped {
            let message = format!("the test schema {} was not dropped: {e}", self.name);
            // A second panic while unwinding would abort the whole test binary.
            if std::thread::panicking() {
                eprintln!("{message}");
            } else {
                panic!("{message}");
            }
        }
    }
}
