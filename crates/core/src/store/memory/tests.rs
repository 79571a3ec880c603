//! The in-memory store passes the store contract, and wakes a waiting follower.

use std::time::Duration;

use super::*;
use crate::contract::store::Reopen;
use crate::store::{ExpectedVersion, NewEvent};

/// Memory is all the storage it has: reopened, it is another handle to the same memory.
#[async_trait]
impl Reopen for InMemoryEventStore {
    async fn reopen(self) -> Result<Self, StoreError> {
        Ok(self.clone())
    }
}

mod contract {
    crate::event_store_contract!(async { (super::InMemoryEventStore::default(), ()) });
}

fn one_event(stream: &str) -> AppendRequest {
    AppendRequest {
        stream_id: stream.into(),
        expected: ExpectedVersion::Any,
        events: vec![NewEvent {
            event_id: Uuid::new_v4(),
            event_type: "TestEvent".into(),
            schema_id: 1,
            payload: vec![],
            occurred_at: Utc::now(),
            correlation_id: stream.into(),
            causation_id: None,
            actor: "test".into(),
            trace_context: None,
        }],
    }
}

/// The clock is paused in these tests, so a wait that ran into its timeout shows as an
/// hour gone by.
const HOUR: Duration = Duration::from_secs(3600);

#[tokio::test(start_paused = true)]
async fn a_follower_is_not_kept_waiting_by_an_append_that_committed_before_it_waited()
-> Result<(), StoreError> {
    let store = InMemoryEventStore::default();
    let position = store.append(vec![one_event("s")]).await?[0].position;
    let start = tokio::time::Instant::now();
    store.wait_for_append(position - 1, HOUR).await;
    assert_eq!(start.elapsed(), Duration::ZERO);
    store.wait_for_append(position, HOUR).await;
    assert_eq!(start.elapsed(), HOUR, "nothing past it yet");
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_waiting_follower_wakes_for_an_append() -> Result<(), StoreError> {
    let store = InMemoryEventStore::default();
    let start = tokio::time::Instant::now();
    let follower = tokio::spawn({
        let store = store.clone();
        async move { store.wait_for_append(0, HOUR).await }
    });
    store.append(vec![one_event("s")]).await?;
    follower.await.expect("the follower ends");
    assert_eq!(start.elapsed(), Duration::ZERO);
    Ok(())
}
