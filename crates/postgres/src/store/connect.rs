//! The first connection, made alone before the pool: its failure says what is wrong and
//! what to do (a server that refuses at once is not "pool timed out" ten seconds later;
//! a missing database is named, with how to create it).

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

/// Why orderflow cannot use the PostgreSQL server it was pointed at.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConnectError(String);

fn place(o: &PgConnectOptions) -> String {
    format!("{}:{}", o.get_host(), o.get_port())
}

/// Connects once and hangs up; `Err` explains the failure.
pub async fn preflight(options: &PgConnectOptions) -> Result<(), ConnectError> {
    let database = options.get_database().unwrap_or("postgres").to_owned();
    let user = options.get_username().to_owned();
    let at = place(options);
    let err = match PgConnection::connect_with(options).await {
        Ok(conn) => {
            let _ = conn.close().await;
            return Ok(());
        }
        Err(e) => e,
    };
    let what = match &err {
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => format!(
            "no PostgreSQL server at {at} (connection refused): start it, or point --store at one"
        ),
        sqlx::Error::Database(db) if db.code().as_deref() == Some("3D000") => format!(
            "database {database:?} does not exist on {at}: create it (`createdb -h {} -p {} -U {user} {database}` \
             or `CREATE DATABASE \"{database}\"`), or point --store at one that does",
            options.get_host(),
            options.get_port()
        ),
        sqlx::Error::Database(db)
            if matches!(db.code().as_deref(), Some("28P01") | Some("28000")) =>
        {
            format!(
                "PostgreSQL at {at} refused user {user:?}: check the user and password in the --store URL ({})",
                db.message()
            )
        }
        other => format!("cannot connect to PostgreSQL at {at}: {other}"),
    };
    Err(ConnectError(what))
}
