//! A parked record replayed for one group is taken by that group only: the others that
//! read its topic skip it.

use super::*;
use orderflow_core::bus::dead_letters::headers::REPLAY_GROUP;

/// An unreadable record replayed for `group`, then a good record under the same key;
/// consumes (as `counter`) until the good one is handled; the records parked then.
async fn replayed_for(group: &str) -> Result<usize, Box<dyn std::error::Error>> {
    let setup = Setup::new().await?;
    let mut replayed = Setup::record("k", vec![0, 0, 0, 0, 99]);
    replayed.headers = vec![(REPLAY_GROUP.to_owned(), group.as_bytes().to_vec())];
    let good = Setup::record("k", setup.order_created.clone());
    setup.bus.publish(vec![replayed, good]).await?;
    let handler = Arc::new(SlowCounter::default());
    setup.consume(&handler).await?;
    assert_eq!(handler.seen.load(Ordering::SeqCst), 1, "the good record");
    Ok(setup.bus.records("orders.dlq", 10).await?.len())
}

#[tokio::test]
async fn a_record_replayed_for_another_group_is_skipped() -> TestResult {
    assert_eq!(
        replayed_for("someone-else").await?,
        0,
        "not parked by counter"
    );
    Ok(())
}

#[tokio::test]
async fn a_record_replayed_for_this_group_is_handled_as_any_other() -> TestResult {
    assert_eq!(
        replayed_for("counter").await?,
        1,
        "unreadable, so parked again"
    );
    Ok(())
}
