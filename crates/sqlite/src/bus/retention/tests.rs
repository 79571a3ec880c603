//! Retention beyond the shared contract: what a pass deletes, how it walks the log, and
//! that it runs in the background without holding anyone up.

use std::time::Duration;

use chrono::Utc;
use orderflow_core::bus::{EventBus, OutgoingRecord, StartFrom};

use super::*;
use crate::bus::tests::aged;

#[tokio::test]
async fn records_past_retention_are_deleted_and_lag_starts_after_them() {
    let dir = tempfile::tempdir().unwrap();
    let bus =
        SqliteBus::open_with(&dir.path().join("bus.db"), 1, Duration::from_secs(3600)).unwrap();
    bus.publish(vec![aged("k", "old", 5), aged("k", "new", 0)])
        .await
        .unwrap();
    assert_eq!(bus.enforce_retention().await.unwrap(), 1);
    let mut sub = bus
        .subscribe("g", &["orders"], StartFrom::Earliest)
        .await
        .unwrap();
    let got = sub.poll(10, Duration::from_secs(5)).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].offset, got[0].value.as_slice()), (1, &b"new"[..]));
}

/// Retention and a start from a timestamp walk one partition in offset order through
/// its offset index: never a scan of the whole log (seven days of records, once a
/// minute, under the writer lock), and no index on time that every publish would have
/// to update.
#[test]
fn retention_walks_one_partition_in_offset_order_and_publishing_writes_no_time_index()
-> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let bus = SqliteBus::open(&dir.path().join("bus.db"))?;
    let conn = lock(&bus.shared.writer);
    let args: [rusqlite::types::Value; 4] =
        ["orders".to_owned().into(), 0.into(), 0.into(), 10.into()];
    for (sql, params) in [(RETENTION_BOUNDARY_SQL, 3), (RETENTION_SQL, 4)] {
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?
            .query_map(rusqlite::params_from_iter(&args[..params]), |r| r.get(3))?
            .collect::<Result<_, _>>()?;
        assert!(
            plan.iter().all(|step| !step.starts_with("SCAN")),
            "a scan in {plan:?}"
        );
        assert!(
            plan.iter()
                .any(|step| step.contains("(topic=? AND partition=?")),
            "not through the partition's offsets: {plan:?}"
        );
    }
    let indexes: Vec<String> = conn
        .prepare("SELECT name FROM pragma_index_list('records')")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    assert_eq!(
        indexes.len(),
        1,
        "records has more than its offset index: {indexes:?}"
    );
    Ok(())
}

/// As Kafka deletes whole segments, retention deletes a prefix of a partition: a record
/// stamped before the cutoff but after a newer one stays, so the log has no hole, and
/// a start from a timestamp finds the first record at or after it in offset order.
#[tokio::test]
async fn retention_deletes_only_a_prefix_of_a_partition() -> Result<(), Box<dyn std::error::Error>>
{
    let dir = tempfile::tempdir()?;
    let bus = SqliteBus::open_with(&dir.path().join("bus.db"), 1, Duration::from_secs(3600))?;
    bus.publish(vec![
        aged("k", "old-0", 5),
        aged("k", "old-1", 4),
        aged("k", "new-2", 0),
        aged("k", "late-3", 3),
        aged("k", "new-4", 0),
    ])
    .await?;
    assert_eq!(bus.enforce_retention().await?, 2);
    let mut sub = bus.subscribe("g", &["orders"], StartFrom::Earliest).await?;
    let got = sub.poll(10, Duration::from_secs(5)).await?;
    let kept: Vec<(u64, &[u8])> = got.iter().map(|r| (r.offset, r.value.as_slice())).collect();
    assert_eq!(
        kept,
        [(2, &b"new-2"[..]), (3, &b"late-3"[..]), (4, &b"new-4"[..])]
    );
    let two_hours_ago = Utc::now() - chrono::Duration::hours(2);
    let mut from_time = bus
        .subscribe("h", &["orders"], StartFrom::Timestamp(two_hours_ago))
        .await?;
    let got = from_time.poll(10, Duration::from_secs(5)).await?;
    assert_eq!(got.first().map(|r| r.offset), Some(2));
    Ok(())
}

/// More old records than one chunk, on several partitions: all of them go, the new ones
/// stay.
#[tokio::test]
async fn retention_deletes_old_records_in_chunks_until_none_is_left()
-> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let bus = SqliteBus::open_with(&dir.path().join("bus.db"), 2, Duration::from_secs(3600))?;
    let old = 2 * RETENTION_CHUNK + 500;
    bus.publish((0..old).map(|i| aged(&format!("k-{i}"), "v", 5)).collect())
        .await?;
    bus.publish((0..10).map(|i| aged(&format!("k-{i}"), "v", 0)).collect())
        .await?;
    assert_eq!(bus.enforce_retention().await?, old);
    let mut sub = bus.subscribe("g", &["orders"], StartFrom::Earliest).await?;
    let got = sub.poll(100, Duration::from_secs(5)).await?;
    assert_eq!(got.len(), 10);
    Ok(())
}

/// A publish once retention is due starts a pass in the background, which deletes
/// what is past retention without the publish waiting for it; once it is over, the
/// next due publish starts another. (Each round on a topic of its own: retention
/// deletes a prefix, and an old record after a new one is not one.)
#[tokio::test]
async fn a_publish_when_retention_is_due_deletes_old_records_in_the_background()
-> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let bus = SqliteBus::open_with(&dir.path().join("bus.db"), 1, Duration::from_secs(3600))?;
    let old_records = || -> rusqlite::Result<i64> {
        lock(&bus.shared.writer).query_row(
            "SELECT COUNT(*) FROM records WHERE value = ?1",
            [b"old".as_slice()],
            |r| r.get(0),
        )
    };
    let on = |topic: &str, record: OutgoingRecord| OutgoingRecord {
        topic: topic.into(),
        ..record
    };
    for (round, topic) in ["orders", "payments"].into_iter().enumerate() {
        bus.publish(vec![on(topic, aged("k", "old", 5))]).await?;
        // The pass before this one is over, and retention is due.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while bus.shared.retention.running.load(Ordering::Acquire) {
            assert!(tokio::time::Instant::now() < deadline, "a pass never ended");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        *lock(&bus.shared.retention.last) = None;
        bus.publish(vec![on(topic, aged("k", "new", 0))]).await?;
        while old_records()? > 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "round {round}: the old record is still there"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    Ok(())
}

/// A retention pass started by a publish keeps nobody waiting: held under way (it has
/// found what to delete and deleted nothing yet), the publish that started it has
/// returned, and more publishing and polling go on; let go, it deletes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_and_polling_go_on_while_a_retention_pass_is_under_way()
-> Result<(), Box<dyn std::error::Error>> {
    // Bounds what must not wait for the pass: were it to, the test fails, not hangs.
    async fn unheld<T>(what: &str, f: impl Future<Output = T>) -> Result<T, String> {
        tokio::time::timeout(Duration::from_secs(30), f)
            .await
            .map_err(|_| format!("{what} waited for the retention pass"))
    }
    let dir = tempfile::tempdir()?;
    let bus = SqliteBus::open_with(&dir.path().join("bus.db"), 1, Duration::from_secs(3600))?;
    bus.publish(vec![aged("k", "old", 5)]).await?;
    let held = bus.shared.retention.hold.lock().await;
    *lock(&bus.shared.retention.last) = None;

    unheld(
        "the publish that started it",
        bus.publish(vec![aged("k", "new", 0)]),
    )
    .await??;
    assert!(bus.shared.retention.running.load(Ordering::Acquire));
    unheld("a publish", bus.publish(vec![aged("k", "newer", 0)])).await??;
    let mut sub = bus.subscribe("g", &["orders"], StartFrom::Earliest).await?;
    let got = unheld("a poll", sub.poll(10, Duration::from_secs(5))).await??;
    let values: Vec<&[u8]> = got.iter().map(|r| r.value.as_slice()).collect();
    assert_eq!(
        values,
        [&b"old"[..], b"new", b"newer"],
        "nothing deleted yet"
    );

    drop(held);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while bus.shared.retention.running.load(Ordering::Acquire) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the pass never ended"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let left: i64 = lock(&bus.shared.writer).query_row(
        "SELECT COUNT(*) FROM records WHERE value = ?1",
        [b"old".as_slice()],
        |r| r.get(0),
    )?;
    assert_eq!(left, 0, "the pass deleted the old record once let go");
    Ok(())
}
