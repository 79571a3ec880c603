//! Scratch databases on the test PostgreSQL server: each test that runs on PostgreSQL
//! gets a database of its own, dropped when the test ends (passed or failed), so the
//! cluster does not fill up run after run.

use sqlx::Connection;

use super::Res;

/// The PostgreSQL server for tests: `ORDERFLOW_TEST_DATABASE_URL`, or the one on
/// 127.0.0.1:5432 (`./scripts/test` makes sure there is one). Never skipped.
pub fn postgres_url() -> String {
    std::env::var("ORDERFLOW_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A database of one test's own. It reads as its URL (`&db`, `db.as_str()`), and
/// dropping it drops the database, ending whatever connections the test's processes
/// left to it.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    name: String,
}

impl std::ops::Deref for TestDatabase {
    type Target = String;

    fn deref(&self) -> &String {
        &self.url
    }
}

/// A new, empty database on the test server.
pub async fn fresh_postgres_database() -> Res<TestDatabase> {
    let server = postgres_url();
    let mut admin = sqlx::PgConnection::connect(&server).await.map_err(|e| {
        format!(
            "no PostgreSQL at {server} ({e}): set ORDERFLOW_TEST_DATABASE_URL, run one on \
             127.0.0.1:5432, or use ./scripts/test, which starts one"
        )
    })?;
    let name = format!("orderflow_{}", uuid::Uuid::new_v4().simple());
    // The name is ours (a UUID), not input.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    let (prefix, _) = server
        .rsplit_once('/')
        .ok_or("database URL without a path")?;
    Ok(TestDatabase {
        url: format!("{prefix}/{name}"),
        name,
    })
}

/// Drops the database `name`, ending the connections still open to it.
async fn drop_database(name: &str) -> Res<()> {
    let mut admin = sqlx::PgConnection::connect(&postgres_url()).await?;
    // The name is ours (a UUID), not input.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await?;
    admin.close().await?;
    Ok(())
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        // `drop` cannot await, and runs inside the test's runtime: a thread with a
        // runtime of its own does the work.
        let dropped = std::thread::spawn(move || -> Res<()> {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
                .block_on(drop_database(&name))
        })
        .join()
        .unwrap_or_else(|_| Err("the thread dropping it panicked".into()));
        if let Err(e) = dropped {
            let message = format!("the test database {} was not dropped: {e}", self.name);
            // A second panic while unwinding would abort the whole test binary.
            if std::thread::panicking() {
                eprintln!("{message}");
            } else {
                panic!("{message}");
            }
        }
    }
}
