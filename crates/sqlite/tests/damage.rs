//! A damaged file is reported as damaged (`StoreError::Corrupt`: not worth retrying),
//! not as a store that is unavailable for a while.

use chrono::Utc;
use orderflow_core::store::{AppendRequest, EventStore, ExpectedVersion, NewEvent, StoreError};
use orderflow_sqlite::SqliteEventStore;
use uuid::Uuid;

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
    rusqlite::Connection::open(&path)?.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
    let mut bytes = std::fs::read(&path)?;
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..middle + 8192] {
        *b = 0xA5;
    }
    std::fs::write(&path, bytes)?;

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
