//! The writer's counters add up to the appends it committed.

use chrono::Utc;
use orderflow_core::store::{AppendRequest, EventStore, ExpectedVersion, NewEvent};
use uuid::Uuid;

use crate::PgEventStore;
use crate::test_schema::{TestSchema, database_url};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A store in a schema of its own, dropped when the test ends.
async fn fresh_store() -> Result<(PgEventStore, TestSchema), Box<dyn std::error::Error>> {
    let schema = TestSchema::create().await?;
    let store = PgEventStore::connect(&database_url(), &schema.settings()).await?;
    Ok((store, schema))
}

fn append(stream: &str, expected: ExpectedVersion) -> Vec<AppendRequest> {
    vec![AppendRequest {
        stream_id: stream.into(),
        expected,
        events: vec![NewEvent {
            event_id: Uuid::new_v4(),
            event_type: "Test".into(),
            schema_id: 1,
            payload: vec![1, 2, 3],
            occurred_at: Utc::now(),
            correlation_id: stream.into(),
            causation_id: None,
            actor: "test".into(),
        }],
    }]
}

/// Polls every future to completion; each append queues itself on its first poll.
async fn join_all<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut pending: Vec<_> = futures.map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut all = true;
        for (future, output) in pending.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(done) => *output = Some(done),
                    std::task::Poll::Pending => all = false,
                }
            }
        }
        if all {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// On a current-thread runtime the writer task runs only once the test task waits, by
/// when all the appends are queued: they make one group.
#[tokio::test]
async fn appends_queued_together_are_counted_as_one_commit_of_them_all() -> TestResult {
    let (store, _schema) = fresh_store().await?;
    let before = store.commit_stats();
    let streams: Vec<String> = (0..10).map(|i| format!("counted-{i}")).collect();
    let results = join_all(
        streams
            .iter()
            .map(|s| store.append(append(s, ExpectedVersion::NoStream))),
    )
    .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let counted = store.commit_stats().since(&before);
    assert_eq!(
        (
            counted.commits_total,
            counted.writes_total,
            counted.failures_total
        ),
        (1, 10, 0)
    );
    assert_eq!(counted.commit_seconds_counts.iter().sum::<u64>(), 1);
    Ok(())
}

/// A refused request is decided inside a group that still commits: it counts as a
/// write of a committed group, not as a failed commit.
#[tokio::test]
async fn a_refused_append_is_a_write_of_a_committed_group() -> TestResult {
    let (store, _schema) = fresh_store().await?;
    store
        .append(append("refused", ExpectedVersion::NoStream))
        .await?;
    let refused = store
        .append(append("refused", ExpectedVersion::NoStream))
        .await;
    assert!(refused.is_err(), "{refused:?}");
    let stats = store.commit_stats();
    assert_eq!(
        (
            stats.commits_total,
            stats.writes_total,
            stats.failures_total
        ),
        (2, 2, 0)
    );
    Ok(())
}

/// Groups formed under a multi-threaded runtime add up to every append.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_groups_of_many_writers_add_up_to_all_their_appends() -> TestResult {
    let (store, _schema) = fresh_store().await?;
    let store = std::sync::Arc::new(store);
    let mut tasks = tokio::task::JoinSet::new();
    for writer in 0..16 {
        let store = store.clone();
        tasks.spawn(async move {
            for i in 0..10 {
                let stream = format!("many-{writer}-{i}");
                store
                    .append(append(&stream, ExpectedVersion::NoStream))
                    .await?;
            }
            Ok::<_, orderflow_core::StoreError>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    let stats = store.commit_stats();
    assert_eq!(stats.writes_total, 16 * 10);
    assert!((1..=16 * 10).contains(&stats.commits_total), "{stats:?}");
    assert_eq!(
        stats.commit_seconds_counts.iter().sum::<u64>(),
        stats.commits_total
    );
    Ok(())
}
