//! A damaged file is reported as damaged (`StoreError::Corrupt`, `BusError::Corrupt`:
//! not worth retrying), not as a store or bus that is unavailable for a while.

use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use orderflow_core::bus::{BusError, EventBus, OutgoingRecord, StartFrom};
use orderflow_core::store::{AppendRequest, EventStore, ExpectedVersion, NewEvent, StoreError};
use orderflow_sqlite::{SqliteBus, SqliteEventStore};
use uuid::Uuid;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Moves everything in the write-ahead log into the main file, so that what is
/// overwritten there is what SQLite reads.
fn checkpoint(path: &Path) -> TestResult {
    let (busy, _, _): (i64, i64, i64) = rusqlite::Connection::open(path)?.query_row(
        "PRAGMA wal_checkpoint(TRUNCATE)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    assert_eq!(busy, 0, "the checkpoint was blocked");
    Ok(())
}

/// Overwrites `len` bytes of the file from `at` (a fraction of its length).
fn overwrite(path: &Path, at: f64, len: usize) -> TestResult {
    let mut bytes = std::fs::read(path)?;
    let start = (bytes.len() as f64 * at) as usize;
    for b in &mut bytes[start..start + len] {
        *b = 0xA5;
    }
    std::fs::write(path, bytes)?;
    Ok(())
}

fn record(i: usize) -> OutgoingRecord {
    OutgoingRecord {
        topic: "orders".into(),
        key: format!("order-{i}"),
        value: vec![7; 200],
        headers: vec![],
        timestamp: Utc::now(),
    }
}

fn event(i: usize) -> AppendRequest {
    AppendRequest {
        stream_id: format!("order-{i}"),
        expected: ExpectedVersion::NoStream,
        events: vec![NewEvent {
            event_id: Uuid::now_v7(),
            event_type: "OrderCreated".into(),
            schema_id: 1,
            payload: vec![7; 200],
            occurred_at: Utc::now(),
            correlation_id: format!("order-{i}"),
            causation_id: None,
            actor: "test".into(),
            trace_context: None,
        }],
    }
}

#[tokio::test]
async fn reading_a_damaged_event_store_says_it_is_damaged() -> Result<(), Box<dyn std::error::Error>>
{
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("events.db");
    {
        let store = SqliteEventStore::open(&path)?;
        for i in 0..400 {
            store.append(vec![event(i)]).await?;
        }
    }
    // Everything into the main file, then a stretch of it overwritten.
    checkpoint(&path)?;
    overwrite(&path, 0.5, 8192)?;

    let store = SqliteEventStore::open(&path)?;
    let mut position = 0;
    let err = loop {
        match store.read_all(position, 100).await {
            Ok(events) if events.is_empty() => {
                return Err("read it all without a complaint".into());
            }
            Ok(events) => position = events.last().map_or(position, |e| e.position),
            Err(e) => break e,
        }
    };
    assert!(matches!(err, StoreError::Corrupt(_)), "{err}");
    assert!(err.to_string().contains("damaged"), "{err}");
    Ok(())
}

#[tokio::test]
async fn reading_a_damaged_bus_says_it_is_damaged_and_names_the_file() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("bus.db");
    SqliteBus::open(&path)?
        .publish((0..400).map(record).collect())
        .await?;
    checkpoint(&path)?;
    overwrite(&path, 0.5, 8192)?;

    let bus = SqliteBus::open(&path)?;
    let mut subscription = bus.subscribe("g", &["orders"], StartFrom::Earliest).await?;
    let err = loop {
        match subscription.poll(100, Duration::ZERO).await {
            Ok(records) if records.is_empty() => {
                return Err("read it all without a complaint".into());
            }
            Ok(_) => {}
            Err(e) => break e,
        }
    };
    assert!(matches!(err, BusError::Corrupt(_)), "{err}");
    assert!(err.to_string().contains("bus.db"), "{err}");
    // Whoever met it first, the bus says so when asked.
    let checked = bus.check_integrity().await;
    assert!(matches!(checked, Err(BusError::Corrupt(_))), "{checked:?}");
    Ok(())
}

#[tokio::test]
async fn a_running_bus_whose_file_header_is_overwritten_fails_its_integrity_check() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("bus.db");
    let bus = SqliteBus::open(&path)?;
    bus.publish((0..50).map(record).collect()).await?;
    bus.check_integrity().await?;

    checkpoint(&path)?;
    overwrite(&path, 0.0, 100)?;

    let checked = bus.check_integrity().await;
    assert!(matches!(checked, Err(BusError::Corrupt(_))), "{checked:?}");
    Ok(())
}
