//! A store that cannot connect says what is wrong and what to do, at once.

use std::time::Duration;

use orderflow_postgres::{PgEventStore, PoolSettings};

fn settings() -> PoolSettings {
    PoolSettings {
        max_connections: 2,
        acquire_timeout: Duration::from_secs(10),
        schema: None,
    }
}

/// The PostgreSQL server for tests: `ORDERFLOW_TEST_DATABASE_URL`, or 127.0.0.1:5432.
fn server() -> String {
    std::env::var("ORDERFLOW_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

async fn failure(url: &str) -> Result<String, Box<dyn std::error::Error>> {
    // Well inside the pool's 10 s acquire timeout: the answer must not wait for it.
    let settings = settings();
    let connecting = PgEventStore::connect(url, &settings);
    match tokio::time::timeout(Duration::from_secs(5), connecting).await? {
        Ok(_) => Err(format!("connected to {url}").into()),
        Err(e) => Ok(e.to_string()),
    }
}

#[tokio::test]
async fn a_server_that_is_not_there_is_named_at_once() -> Result<(), Box<dyn std::error::Error>> {
    let message = failure("postgres://postgres@127.0.0.1:1/orders").await?;
    assert!(
        message.contains("no PostgreSQL server at 127.0.0.1:1") && message.contains("refused"),
        "{message}"
    );
    Ok(())
}

#[tokio::test]
async fn a_missing_database_is_named_with_how_to_create_it()
-> Result<(), Box<dyn std::error::Error>> {
    let base = server();
    let (server, _) = base.rsplit_once('/').ok_or("a URL with a database")?;
    let name = format!("missing_{}", uuid::Uuid::new_v4().simple());
    let message = failure(&format!("{server}/{name}")).await?;
    assert!(
        message.contains(&format!("database \"{name}\" does not exist"))
            && message.contains("createdb"),
        "{message}"
    );
    Ok(())
}
