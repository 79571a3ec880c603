//! Errors name their real culprit.

use axum::body::Body;
use axum::http::{Method, Request};

use orderflow_core::store::StoreError;

use crate::support::*;

#[tokio::test]
async fn a_damaged_read_model_file_is_named_as_the_read_models_not_the_event_store() -> TestResult {
    let app = spawn_app().await?;
    // Damage the read models' file behind the API's back: its tables are gone.
    let read = rusqlite::Connection::open(app.data_dir().join("read.db"))?;
    read.execute_batch("DROP TABLE analytics_revenue; DROP TABLE stock_views;")?;
    for path in ["/analytics", "/inventory/SKU-1"] {
        let request = Request::builder()
            .method(Method::GET)
            .uri(path)
            .body(Body::empty())?;
        let answer = app.send(request).await?;
        assert_eq!(answer.status, 503, "{path}: {:?}", answer.body);
        assert!(
            answer.error().contains("read models"),
            "{path}: {}",
            answer.error()
        );
        assert!(
            !answer.error().contains("event store"),
            "{}",
            answer.error()
        );
    }
    Ok(())
}

/// A store whose file turned out damaged.
#[derive(Debug)]
struct Damaged;

#[async_trait::async_trait]
impl orderflow_core::store::EventStore for Damaged {
    async fn append(
        &self,
        _: Vec<orderflow_core::store::AppendRequest>,
    ) -> Result<Vec<orderflow_core::store::Appended>, StoreError> {
        Err(damage())
    }

    async fn read_stream(
        &self,
        _: &str,
        _: orderflow_core::store::StreamQuery,
    ) -> Result<Vec<orderflow_core::store::StoredEvent>, StoreError> {
        Err(damage())
    }

    async fn read_all(
        &self,
        _: u64,
        _: usize,
    ) -> Result<Vec<orderflow_core::store::StoredEvent>, StoreError> {
        Err(damage())
    }

    async fn read_correlated(
        &self,
        _: &str,
    ) -> Result<Vec<orderflow_core::store::StoredEvent>, StoreError> {
        Err(damage())
    }

    async fn head_position(&self) -> Result<u64, StoreError> {
        Err(damage())
    }
}

fn damage() -> StoreError {
    StoreError::Corrupt(
        "the event store's SQLite file is damaged: database disk image is malformed".into(),
    )
}

#[tokio::test]
async fn health_is_503_and_says_what_is_damaged_and_what_to_do() -> TestResult {
    let app = TestApp::builder()
        .over_store(std::sync::Arc::new(Damaged))
        .spawn()
        .await?;
    let request = Request::builder()
        .method(Method::GET)
        .uri("/health")
        .body(Body::empty())?;
    let response = app.raw(request).await?;
    assert_eq!(response.0, 503);
    assert_eq!(response.1["status"], "damaged");
    let reason = response.1["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("damaged") && reason.contains(&format!("restore {STORE_FILE}")),
        "{reason}"
    );
    Ok(())
}

#[tokio::test]
async fn health_is_503_and_names_a_damaged_bus_file_and_what_to_do() -> TestResult {
    let app = spawn_app().await?;
    let bus = app.data_dir().join("bus.db");
    // Everything in the main file, whose header is then overwritten.
    rusqlite::Connection::open(&bus)?.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
    let mut bytes = std::fs::read(&bus)?;
    bytes[..100].fill(0xA5);
    std::fs::write(&bus, bytes)?;

    let request = Request::builder()
        .method(Method::GET)
        .uri("/health")
        .body(Body::empty())?;
    let response = app.raw(request).await?;
    assert_eq!(response.0, 503, "{:?}", response.1);
    assert_eq!(response.1["status"], "damaged");
    let reason = response.1["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains(&format!("delete {}", bus.display())),
        "{reason}"
    );
    // And what reads the bus says it is damaged, not that it will pass.
    let request = Request::builder()
        .method(Method::GET)
        .uri("/consumers")
        .body(Body::empty())?;
    let answer = app.send(request).await?;
    assert_eq!(answer.status, 503, "{:?}", answer.body);
    assert!(
        answer.error().contains("event bus is damaged") && answer.error().contains("/health"),
        "{}",
        answer.error()
    );
    Ok(())
}
