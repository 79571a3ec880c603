//! Grouping as this writer does it; the counters' sums are the group-commit contract's.

use orderflow_core::contract::group_commit::join_all;
use orderflow_core::store::{EventStore, ExpectedVersion};

use crate::store::tests::{fresh_store, request};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// On a current-thread runtime the writer task runs only once the test task waits, by
/// when all the appends are queued: they make one group.
#[tokio::test]
async fn appends_queued_together_are_counted_as_one_commit_of_them_all() -> TestResult {
    let (store, _schema) = fresh_store().await;
    let before = store.commit_stats();
    let streams: Vec<String> = (0..10).map(|i| format!("counted-{i}")).collect();
    let results = join_all(
        streams
            .iter()
            .map(|s| store.append(vec![request(s, ExpectedVersion::NoStream)])),
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
