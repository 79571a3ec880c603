//! Event store scenarios.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::store::{
    AppendRequest, Checkpoints, EventStore, ExpectedVersion, NewEvent, StoreError, StoredEvent,
    StreamQuery,
};

fn event(correlation: &str, at: DateTime<Utc>) -> NewEvent {
    NewEvent {
        event_id: Uuid::new_v4(),
        event_type: "TestEvent".into(),
        schema_id: 7,
        payload: Uuid::new_v4().as_bytes().to_vec(),
        occurred_at: at,
        correlation_id: correlation.into(),
        causation_id: None,
        actor: "contract".into(),
        trace_context: None,
    }
}

/// A request to append `n` events to `stream`, each correlated with the stream.
pub fn request(stream: &str, expected: ExpectedVersion, n: usize) -> AppendRequest {
    AppendRequest {
        stream_id: stream.into(),
        expected,
        events: (0..n).map(|_| event(stream, Utc::now())).collect(),
    }
}

pub async fn appends_and_reads_a_stream_in_version_order<S: EventStore>(store: Arc<S>) {
    let first = request("order-a", ExpectedVersion::NoStream, 2);
    let appended = store.append(vec![first.clone()]).await.unwrap();
    assert_eq!(appended[0].version, 2);
    store
        .append(vec![request("order-a", ExpectedVersion::Exact(2), 1)])
        .await
        .unwrap();
    let events = store
        .read_stream("order-a", StreamQuery::all())
        .await
        .unwrap();
    assert_eq!(
        events.iter().map(|e| e.version).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(events[0].event_id, first.events[0].event_id);
    assert_eq!(events[0].payload, first.events[0].payload);
    assert_eq!(events[0].schema_id, 7);
    assert_eq!(events[0].correlation_id, "order-a");
    assert_eq!(events[0].actor, "contract");
    assert!(events.windows(2).all(|w| w[0].position < w[1].position));
    let after = store
        .read_stream(
            "order-a",
            StreamQuery {
                after_version: 2,
                ..StreamQuery::all()
            },
        )
        .await
        .unwrap();
    assert_eq!(after.len(), 1);
    assert!(
        store
            .read_stream("missing", StreamQuery::all())
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn a_stale_expected_version_is_a_typed_conflict<S: EventStore>(store: Arc<S>) {
    store
        .append(vec![request("s", ExpectedVersion::NoStream, 1)])
        .await
        .unwrap();
    let err = store
        .append(vec![request("s", ExpectedVersion::NoStream, 1)])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::WrongExpectedVersion { stream_id, actual: 1, .. } if stream_id == "s"),
        "{err:?}"
    );
    let err = store
        .append(vec![request("s", ExpectedVersion::Exact(5), 1)])
        .await
        .unwrap_err();
    assert!(err.is_conflict());
    store
        .append(vec![request("s", ExpectedVersion::Any, 1)])
        .await
        .unwrap();
    assert_eq!(
        store
            .read_stream("s", StreamQuery::all())
            .await
            .unwrap()
            .len(),
        2
    );
}

pub async fn a_multi_stream_append_is_all_or_nothing<S: EventStore>(store: Arc<S>) {
    store
        .append(vec![request("b", ExpectedVersion::NoStream, 1)])
        .await
        .unwrap();
    let err = store
        .append(vec![
            request("a", ExpectedVersion::NoStream, 1),
            request("b", ExpectedVersion::NoStream, 1),
        ])
        .await
        .unwrap_err();
    assert!(err.is_conflict());
    assert!(
        store
            .read_stream("a", StreamQuery::all())
            .await
            .unwrap()
            .is_empty()
    );
    let ok = store
        .append(vec![
            request("a", ExpectedVersion::NoStream, 1),
            request("b", ExpectedVersion::Exact(1), 1),
        ])
        .await
        .unwrap();
    assert_eq!((ok[0].version, ok[1].version), (1, 2));
    // Three events in all; a refused append may leave a hole in the numbering.
    let all = store.read_all(0, 100).await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(store.head_position().await.unwrap(), all[2].position);
}

pub async fn reads_a_stream_up_to_a_version_or_a_time<S: EventStore>(store: Arc<S>) {
    let t0 = DateTime::from_timestamp_millis(1_700_000_000_000).unwrap();
    let events = (0..3)
        .map(|i| event("s", t0 + Duration::hours(i)))
        .collect::<Vec<_>>();
    store
        .append(vec![AppendRequest {
            stream_id: "s".into(),
            expected: ExpectedVersion::NoStream,
            events,
        }])
        .await
        .unwrap();
    let up_to_2 = StreamQuery {
        up_to_version: Some(2),
        ..StreamQuery::all()
    };
    assert_eq!(store.read_stream("s", up_to_2).await.unwrap().len(), 2);
    let until = |t| StreamQuery {
        until: Some(t),
        ..StreamQuery::all()
    };
    let at_one_hour = store
        .read_stream("s", until(t0 + Duration::hours(1)))
        .await
        .unwrap();
    assert_eq!(at_one_hour.len(), 2);
    assert_eq!(at_one_hour[1].occurred_at, t0 + Duration::hours(1));
    assert!(
        store
            .read_stream("s", until(t0 - Duration::seconds(1)))
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn reads_everything_in_global_order_from_a_position<S: EventStore>(store: Arc<S>) {
    for i in 0..5 {
        store
            .append(vec![request(
                &format!("s{}", i % 2),
                ExpectedVersion::Any,
                2,
            )])
            .await
            .unwrap();
    }
    let all = store.read_all(0, 100).await.unwrap();
    assert_eq!(all.len(), 10);
    assert_eq!(
        all.iter().map(|e| e.position).collect::<Vec<_>>(),
        (1..=10).collect::<Vec<_>>()
    );
    let page = store.read_all(4, 3).await.unwrap();
    assert_eq!(
        page.iter().map(|e| e.position).collect::<Vec<_>>(),
        [5, 6, 7]
    );
    assert!(store.read_all(10, 100).await.unwrap().is_empty());
    assert_eq!(store.head_position().await.unwrap(), 10);
}

/// Appends one event to `stream` about `correlation`, with no expectation.
async fn append_about<S: EventStore>(store: &S, stream: &str, correlation: &str) {
    let req = AppendRequest {
        stream_id: stream.into(),
        expected: ExpectedVersion::Any,
        events: vec![event(correlation, Utc::now())],
    };
    store.append(vec![req]).await.unwrap();
}

pub async fn reads_every_stream_of_one_correlation<S: EventStore>(store: Arc<S>) {
    append_about(&*store, "order-1", "1").await;
    append_about(&*store, "payment-1", "1").await;
    append_about(&*store, "order-2", "2").await;
    append_about(&*store, "shipment-1", "1").await;
    let trail = store.read_correlated("1").await.unwrap();
    let streams: Vec<&str> = trail.iter().map(|e| e.stream_id.as_str()).collect();
    assert_eq!(streams, ["order-1", "payment-1", "shipment-1"]);
}

/// The (position, id) of the events of these reads, in position order, each once.
fn merged(reads: &[&[StoredEvent]]) -> Vec<(u64, Uuid)> {
    let mut all: Vec<(u64, Uuid)> = reads
        .iter()
        .flat_map(|read| read.iter().map(|e| (e.position, e.event_id)))
        .collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// What a read since a position returns, merged with the read that ended there, is
/// the whole correlation now: whatever it repeats, it misses nothing that came after.
pub async fn reading_a_correlation_since_a_position_gives_what_came_after<S: EventStore>(
    store: Arc<S>,
) {
    append_about(&*store, "order-1", "1").await;
    append_about(&*store, "payment-1", "1").await;
    let earlier = store.read_correlated("1").await.unwrap();
    let seen = earlier.last().unwrap().position;
    append_about(&*store, "order-2", "2").await;
    append_about(&*store, "shipment-1", "1").await;
    append_about(&*store, "order-1", "1").await;

    let since = store.read_correlated_since("1", seen).await.unwrap();
    assert!(since.windows(2).all(|w| w[0].position < w[1].position));
    assert!(since.iter().all(|e| e.correlation_id == "1"));
    let now_all = store.read_correlated("1").await.unwrap();
    assert_eq!(now_all.len(), 4, "four of the five events are about \"1\"");
    assert_eq!(merged(&[&earlier, &since]), merged(&[&now_all]));

    // From the newest of them: the event of "1" right after it, and not the one of
    // another correlation after that.
    let newest = now_all.last().unwrap().position;
    append_about(&*store, "order-1", "1").await;
    append_about(&*store, "order-3", "3").await;
    let next = store.read_correlated_since("1", newest).await.unwrap();
    assert!(next.windows(2).all(|w| w[0].position < w[1].position));
    assert!(next.iter().all(|e| e.correlation_id == "1"), "{next:?}");
    let now_all_again = store.read_correlated("1").await.unwrap();
    assert_eq!(now_all_again.len(), 5);
    assert_eq!(merged(&[&now_all, &next]), merged(&[&now_all_again]));
}

pub async fn concurrent_writers_at_one_version_have_exactly_one_winner<S: EventStore + 'static>(
    store: Arc<S>,
) {
    store
        .append(vec![request("hot", ExpectedVersion::NoStream, 1)])
        .await
        .unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .append(vec![request("hot", ExpectedVersion::Exact(1), 1)])
                    .await
            })
        })
        .collect();
    let mut wins = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => wins += 1,
            Err(e) => assert!(e.is_conflict(), "{e:?}"),
        }
    }
    assert_eq!(wins, 1);
    assert_eq!(
        store
            .read_stream("hot", StreamQuery::all())
            .await
            .unwrap()
            .len(),
        2
    );
}

pub async fn each_event_keeps_its_trace_context<S: EventStore>(store: Arc<S>) {
    let traced = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let mut req = request("t", ExpectedVersion::NoStream, 2);
    req.events[0].trace_context = Some(traced.into());
    store.append(vec![req]).await.unwrap();
    let by_stream = store.read_stream("t", StreamQuery::all()).await.unwrap();
    let by_position = store.read_all(0, 10).await.unwrap();
    let by_correlation = store.read_correlated("t").await.unwrap();
    for events in [by_stream, by_position, by_correlation] {
        let contexts: Vec<_> = events.iter().map(|e| e.trace_context.as_deref()).collect();
        assert_eq!(contexts, [Some(traced), None]);
    }
}

pub async fn a_duplicate_event_id_is_refused<S: EventStore>(store: Arc<S>) {
    let req = request("d", ExpectedVersion::Any, 1);
    store.append(vec![req.clone()]).await.unwrap();
    let err = store.append(vec![req.clone()]).await.unwrap_err();
    assert!(
        matches!(err, StoreError::DuplicateEvent(id) if id == req.events[0].event_id),
        "{err:?}"
    );
}

pub async fn a_duplicate_event_id_anywhere_in_an_append_refuses_all_of_it<S: EventStore>(
    store: Arc<S>,
) {
    let stored = request("d", ExpectedVersion::Any, 1);
    store.append(vec![stored.clone()]).await.unwrap();
    // A stored id as the second event of the second request.
    let mut later = request("f", ExpectedVersion::NoStream, 1);
    later.events.push(stored.events[0].clone());
    let err = store
        .append(vec![request("e", ExpectedVersion::NoStream, 2), later])
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::DuplicateEvent(id) if id == stored.events[0].event_id),
        "{err:?}"
    );
    // One id twice in the same append.
    let mut twice = request("g", ExpectedVersion::NoStream, 1);
    twice.events.push(twice.events[0].clone());
    let err = store.append(vec![twice.clone()]).await.unwrap_err();
    assert!(
        matches!(err, StoreError::DuplicateEvent(id) if id == twice.events[0].event_id),
        "{err:?}"
    );
    for stream in ["e", "f", "g"] {
        let events = store.read_stream(stream, StreamQuery::all()).await.unwrap();
        assert!(events.is_empty(), "{stream}: {events:?}");
    }
    assert_eq!(store.read_all(0, 100).await.unwrap().len(), 1);
}

/// A store opened again on the same storage, as by a process that restarts: nothing
/// of the old instance's memory carries over. The checkpoint scenario needs it.
#[async_trait::async_trait]
pub trait Reopen: Sized {
    /// Closes this instance and opens the storage it was on again.
    async fn reopen(self) -> Result<Self, StoreError>;
}

pub async fn checkpoints_survive_and_move_forward<S: Checkpoints + Reopen>(store: Arc<S>) {
    assert_eq!(store.load("relay").await.unwrap(), None);
    store.save("relay", 5).await.unwrap();
    store.save("projections", 2).await.unwrap();
    store.save("relay", 9).await.unwrap();
    assert_eq!(store.load("relay").await.unwrap(), Some(9));

    let store = Arc::into_inner(store).expect("the scenario holds the only handle");
    let reopened = store.reopen().await.unwrap();
    assert_eq!(reopened.load("relay").await.unwrap(), Some(9));
    assert_eq!(reopened.load("projections").await.unwrap(), Some(2));
    reopened.save("relay", 12).await.unwrap();
    assert_eq!(reopened.load("relay").await.unwrap(), Some(12));
}
