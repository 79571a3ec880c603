//! The SQLite event store beyond the shared contract.

use std::time::Duration;

use orderflow_core::contract::store::request;
use orderflow_core::store::{AppendRequest, EventStore, ExpectedVersion};

use super::SqliteEventStore;

/// A request to append one event to a stream that does not exist yet.
fn one_event(stream: &str) -> AppendRequest {
    request(stream, ExpectedVersion::NoStream, 1)
}

/// A follower reads (nothing new), an append commits, then the follower waits: the
/// wait must end at once, not at its timeout (the clock is paused, so the timeout
/// would show as an hour gone by).
#[tokio::test(start_paused = true)]
async fn a_follower_is_not_kept_waiting_by_an_append_that_committed_before_it_waited()
-> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = SqliteEventStore::open(&dir.path().join("events.db"))?;
    let position = store.append(vec![one_event("order-1")]).await?[0].position;

    let start = tokio::time::Instant::now();
    store
        .wait_for_append(position - 1, Duration::from_secs(3600))
        .await;
    assert_eq!(start.elapsed(), Duration::ZERO);

    store
        .wait_for_append(position, Duration::from_secs(3600))
        .await;
    assert_eq!(
        start.elapsed(),
        Duration::from_secs(3600),
        "nothing past it yet"
    );
    Ok(())
}

/// Positions here become visible in order, so a read since a position returns only
/// the events after it, not the whole correlation again.
#[tokio::test]
async fn a_correlation_read_since_a_position_returns_only_the_events_after_it()
-> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = SqliteEventStore::open(&dir.path().join("events.db"))?;
    let first = store.append(vec![one_event("order-1")]).await?[0].position;
    let mut later = one_event("payment-1");
    later.events[0].correlation_id = "order-1".into();
    let second = store.append(vec![later]).await?[0].position;

    let since = store.read_correlated_since("order-1", first).await?;
    assert_eq!(
        since.iter().map(|e| e.position).collect::<Vec<_>>(),
        [second]
    );
    assert!(
        store
            .read_correlated_since("order-1", second)
            .await?
            .is_empty()
    );
    Ok(())
}

/// A store file written before events carried a trace context opens, keeps its events
/// (with none), and records the trace context of the events appended after.
#[tokio::test]
async fn a_store_from_before_trace_contexts_gains_the_column_and_keeps_its_events()
-> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("events.db");
    let old = rusqlite::Connection::open(&path)?;
    old.execute_batch(&super::EVENTS_TABLE.replace("    trace_context  TEXT,\n", ""))?;
    old.execute(
        "INSERT INTO events (stream_id, version, event_id, event_type, schema_id, payload, \
         occurred_at, recorded_at, correlation_id, causation_id, actor) \
         VALUES ('order-1', 1, x'00', 'OrderCreated', 1, x'00', 0, 0, 'order-1', NULL, 'api')",
        [],
    )?;
    drop(old);

    let store = SqliteEventStore::open(&path)?;
    let mut traced = request("order-1", ExpectedVersion::Exact(1), 1);
    traced.events[0].trace_context =
        Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into());
    store.append(vec![traced]).await?;

    let events = store.read_correlated("order-1").await?;
    let contexts: Vec<_> = events.iter().map(|e| e.trace_context.is_some()).collect();
    assert_eq!(contexts, [false, true]);
    Ok(())
}
