//! Import scenarios: events imported keep their places, and an import that would not
//! continue the store writes nothing.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use uuid::Uuid;

use crate::contract::store::request;
use crate::store::{
    EventStore, ExpectedVersion, ImportEvents, StoreError, StoredEvent, StreamQuery,
};

/// An event as another store recorded it, at `position`, version `version` of `stream`.
fn recorded(position: u64, stream: &str, version: u64) -> StoredEvent {
    let at =
        Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap() + Duration::seconds(position as i64);
    StoredEvent {
        position,
        stream_id: stream.into(),
        version,
        recorded_at: at + Duration::microseconds(250),
        event_id: Uuid::new_v4(),
        event_type: "TestEvent".into(),
        schema_id: 7,
        payload: Uuid::new_v4().as_bytes().to_vec(),
        occurred_at: at,
        correlation_id: stream.into(),
        causation_id: (version > 1).then(Uuid::new_v4),
        actor: "elsewhere".into(),
        trace_context: Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into()),
    }
}

pub async fn imported_events_keep_their_positions_versions_ids_and_times<
    S: EventStore + ImportEvents,
>(
    store: Arc<S>,
) {
    // Positions with holes, as a store whose refused appends used positions has them.
    let events = vec![
        recorded(2, "order-a", 1),
        recorded(3, "order-b", 1),
        recorded(7, "order-a", 2),
    ];
    store.import(events.clone()).await.unwrap();
    assert_eq!(store.read_all(0, 10).await.unwrap(), events);
    assert_eq!(
        store
            .read_stream("order-a", StreamQuery::all())
            .await
            .unwrap(),
        [events[0].clone(), events[2].clone()]
    );
    assert_eq!(store.head_position().await.unwrap(), 7);

    // Appends go on from there: above the last position, after each stream's version.
    let appended = store
        .append(vec![request("order-a", ExpectedVersion::Exact(2), 1)])
        .await
        .unwrap();
    assert_eq!(appended[0].version, 3);
    assert!(appended[0].position > 7, "{appended:?}");
}

pub async fn an_import_that_does_not_continue_the_store_writes_nothing<
    S: EventStore + ImportEvents,
>(
    store: Arc<S>,
) {
    store.import(vec![recorded(1, "s", 1)]).await.unwrap();
    let refused = [
        // A version that skips one.
        vec![recorded(2, "t", 1), recorded(3, "s", 3)],
        // A position at or below the head.
        vec![recorded(2, "t", 1), recorded(1, "u", 1)],
        // Positions out of order.
        vec![recorded(5, "t", 1), recorded(4, "u", 1)],
    ];
    for events in refused {
        let err = store.import(events.clone()).await.unwrap_err();
        assert!(
            matches!(err, StoreError::ImportRefused(_)),
            "{events:?}: {err:?}"
        );
    }
    let mut twice = recorded(2, "t", 1);
    let again = StoredEvent {
        position: 3,
        stream_id: "u".into(),
        ..twice.clone()
    };
    let err = store.import(vec![twice.clone(), again]).await.unwrap_err();
    assert!(matches!(err, StoreError::DuplicateEvent(_)), "{err:?}");
    twice.event_id = store.read_all(0, 1).await.unwrap()[0].event_id;
    let err = store.import(vec![twice]).await.unwrap_err();
    assert!(matches!(err, StoreError::DuplicateEvent(_)), "{err:?}");
    assert_eq!(store.read_all(0, 10).await.unwrap().len(), 1);
    assert_eq!(store.head_position().await.unwrap(), 1);
}
