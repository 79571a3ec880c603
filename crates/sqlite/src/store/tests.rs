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
