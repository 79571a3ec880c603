//! Event bus scenarios, in Kafka's terms.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::bus::{
    DEFAULT_PARTITIONS, EventBus, Offset, OutgoingRecord, Record, StartFrom, Subscription,
    partition_for,
};

mod dead_letters;
mod groups;

pub use dead_letters::{
    a_parked_record_is_listed_read_and_discarded_with_who_and_why,
    a_replayed_record_goes_back_to_its_topic_for_its_group,
    the_records_of_a_topic_are_read_partition_by_partition,
};

pub use groups::{
    a_subscribed_group_has_a_live_member_until_it_leaves,
    lag_in_time_is_the_age_of_the_oldest_unhandled_record,
    the_records_of_a_key_are_read_in_order_and_no_others,
};

const WAIT: Duration = Duration::from_millis(200);

fn record(topic: &str, key: &str, value: &str) -> OutgoingRecord {
    record_at(topic, key, value, Utc::now())
}

fn record_at(topic: &str, key: &str, value: &str, at: DateTime<Utc>) -> OutgoingRecord {
    OutgoingRecord {
        topic: topic.into(),
        key: key.into(),
        value: value.as_bytes().to_vec(),
        headers: vec![("h".into(), b"v".to_vec())],
        timestamp: at,
    }
}

fn values(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .map(|r| String::from_utf8_lossy(&r.value).into_owned())
        .collect()
}

/// Polls until `n` records arrived (or a generous deadline passed).
async fn poll_n(sub: &mut Box<dyn Subscription>, n: usize) -> Vec<Record> {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while out.len() < n && tokio::time::Instant::now() < deadline {
        out.extend(sub.poll(n - out.len(), WAIT).await.unwrap());
    }
    out
}

pub async fn one_key_stays_in_order_on_its_murmur2_partition<B: EventBus>(bus: Arc<B>) {
    let batch = (0..20)
        .map(|i| record("orders", &format!("k{}", i % 3), &format!("{}:{i}", i % 3)))
        .collect();
    bus.publish(batch).await.unwrap();
    let mut sub = bus
        .subscribe("g", &["orders"], StartFrom::Earliest)
        .await
        .unwrap();
    let got = poll_n(&mut sub, 20).await;
    assert_eq!(got.len(), 20);
    for key in ["k0", "k1", "k2"] {
        let of_key: Vec<&Record> = got.iter().filter(|r| r.key == key).collect();
        let expected = partition_for(key.as_bytes(), DEFAULT_PARTITIONS);
        assert!(of_key.iter().all(|r| r.partition == expected), "{key}");
        assert!(of_key.windows(2).all(|w| w[0].offset < w[1].offset));
        let seq: Vec<u32> = of_key
            .iter()
            .map(|r| {
                String::from_utf8_lossy(&r.value)
                    .split(':')
                    .nth(1)
                    .unwrap()
                    .parse()
                    .unwrap()
            })
            .collect();
        assert!(seq.windows(2).all(|w| w[0] < w[1]), "{key}: {seq:?}");
    }
    assert_eq!(got[0].header("h"), Some(&b"v"[..]));
}

pub async fn a_group_resumes_after_its_committed_offsets<B: EventBus>(bus: Arc<B>) {
    bus.publish(
        (0..4)
            .map(|i| record("orders", "k", &i.to_string()))
            .collect(),
    )
    .await
    .unwrap();
    let mut sub = bus
        .subscribe("g", &["orders"], StartFrom::Earliest)
        .await
        .unwrap();
    let first = poll_n(&mut sub, 4).await;
    sub.commit(&Offset::after(&first[..2])).await.unwrap();
    drop(sub);
    let mut again = bus
        .subscribe("g", &["orders"], StartFrom::Earliest)
        .await
        .unwrap();
    assert_eq!(values(&poll_n(&mut again, 2).await), ["2", "3"]);
}

pub async fn a_flush_keeps_every_record_and_publishing_goes_on<B: EventBus>(bus: Arc<B>) {
    bus.publish(vec![record("orders", "k", "0"), record("orders", "k", "1")])
        .await
        .unwrap();
    bus.flush().await.unwrap();
    bus.flush().await.unwrap();
    bus.publish(vec![record("orders", "k", "2")]).await.unwrap();
    let mut sub = bus
        .subscribe("g", &["orders"], StartFrom::Earliest)
        .await
        .unwrap();
    assert_eq!(values(&poll_n(&mut sub, 3).await), ["0", "1", "2"]);
}

pub async fn uncommitted_records_are_delivered_again<B: EventBus>(bus: Arc<B>) {
    bus.publish(vec![record("payments", "k", "a")])
        .await
        .unwrap();
    let mut sub = bus
        .subscribe("g", &["payments"], StartFrom::Earliest)
        .await
        .unwrap();
    assert_eq!(values(&poll_n(&mut sub, 1).await), ["a"]);
    drop(sub);
    let mut again = bus
        .subscribe("g", &["payments"], StartFrom::Earliest)
        .await
        .unwrap();
    assert_eq!(values(&poll_n(&mut again, 1).await), ["a"]);
}

pub async fn a_new_group_starts_from_earliest_latest_or_a_time<B: EventBus>(bus: Arc<B>) {
    // Within any retention period: records older than it may be deleted at once.
    let t0 = Utc::now() - chrono::Duration::hours(3);
    bus.publish(vec![
        record_at("orders", "k", "old", t0),
        record_at("orders", "k", "new", t0 + chrono::Duration::hours(2)),
    ])
    .await
    .unwrap();
    let mut earliest = bus
        .subscribe("e", &["orders"], StartFrom::Earliest)
        .await
        .unwrap();
    assert_eq!(values(&poll_n(&mut earliest, 2).await), ["old", "new"]);

    let from = StartFrom::Timestamp(t0 + chrono::Duration::hours(1));
    let mut timed = bus.subscribe("t", &["orders"], from).await.unwrap();
    assert_eq!(values(&poll_n(&mut timed, 1).await), ["new"]);

    let mut latest = bus
        .subscribe("l", &["orders"], StartFrom::Latest)
        .await
        .unwrap();
    assert!(latest.poll(10, WAIT).await.unwrap().is_empty());
    bus.publish(vec![record("orders", "k", "later")])
        .await
        .unwrap();
    assert_eq!(values(&poll_n(&mut latest, 1).await), ["later"]);
}

pub async fn groups_are_independent<B: EventBus>(bus: Arc<B>) {
    bus.publish(vec![record("orders", "k", "x")]).await.unwrap();
    let mut a = bus
        .subscribe("a", &["orders"], StartFrom::Earliest)
        .await
        .unwrap();
    let got = poll_n(&mut a, 1).await;
    a.commit(&Offset::after(&got)).await.unwrap();
    let mut b = bus
        .subscribe("b", &["orders"], StartFrom::Earliest)
        .await
        .unwrap();
    assert_eq!(values(&poll_n(&mut b, 1).await), ["x"]);
}

pub async fn lag_is_the_gap_between_committed_and_end<B: EventBus>(bus: Arc<B>) {
    bus.publish(
        (0..5)
            .map(|i| record("orders", "k", &i.to_string()))
            .collect(),
    )
    .await
    .unwrap();
    let mut sub = bus
        .subscribe("lagging", &["orders"], StartFrom::Earliest)
        .await
        .unwrap();
    let got = poll_n(&mut sub, 5).await;
    sub.commit(&Offset::after(&got[..3])).await.unwrap();
    let groups = bus.groups().await.unwrap();
    let group = groups
        .iter()
        .find(|g| g.group == "lagging")
        .expect("group listed");
    assert_eq!(group.total_lag(), 2);
    let p = partition_for(b"k", DEFAULT_PARTITIONS);
    let part = group
        .partitions
        .iter()
        .find(|x| x.topic == "orders" && x.partition == p)
        .expect("partition listed");
    assert_eq!((part.committed, part.end, part.lag), (Some(3), 5, 2));
}

/// One poll with a far deadline, and a record published while it waits: the poll
/// returns it while the deadline is still far away. (A poll that slept until its
/// deadline and read then would return it too, but only at the deadline.)
pub async fn a_waiting_poll_wakes_for_a_new_record<B: EventBus + 'static>(bus: Arc<B>) {
    const FAR: Duration = Duration::from_secs(60);
    let mut sub = bus
        .subscribe("w", &["shipments"], StartFrom::Earliest)
        .await
        .unwrap();
    let publisher = {
        let bus = bus.clone();
        tokio::spawn(async move {
            // Lets the poll begin to wait; nothing tells when it has. Should it not
            // have, its first read finds the record: that run shows less, but the
            // scenario never fails for it.
            tokio::time::sleep(WAIT).await;
            bus.publish(vec![record("shipments", "k", "late")])
                .await
                .unwrap();
        })
    };
    let deadline = tokio::time::Instant::now() + FAR;
    let got = sub.poll(1, FAR).await.unwrap();
    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
    publisher.await.unwrap();
    assert_eq!(values(&got), ["late"]);
    assert!(
        left > FAR / 2,
        "the poll returned the record with {left:?} of its {FAR:?} left: it did not wake for it"
    );
}

/// An empty poll waits out its deadline, and returns soon after it.
pub async fn a_poll_with_nothing_to_read_returns_empty_at_its_deadline<B: EventBus>(bus: Arc<B>) {
    const DEADLINE: Duration = Duration::from_millis(500);
    let mut sub = bus
        .subscribe("idle", &["notifications"], StartFrom::Earliest)
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    let got = sub.poll(10, DEADLINE).await.unwrap();
    let took = started.elapsed();
    assert!(got.is_empty(), "{got:?}");
    assert!(
        took >= DEADLINE,
        "it returned after {took:?}, before its deadline of {DEADLINE:?}"
    );
    assert!(
        took < DEADLINE + Duration::from_secs(10),
        "it returned after {took:?}, long after its deadline of {DEADLINE:?}"
    );
}

pub async fn end_offsets_count_the_records_of_each_partition<B: EventBus>(bus: Arc<B>) {
    assert!(bus.end_offsets("payments").await.unwrap().is_empty());
    bus.publish(
        (0..3)
            .map(|i| record("payments", "k", &i.to_string()))
            .collect(),
    )
    .await
    .unwrap();
    let p = partition_for(b"k", DEFAULT_PARTITIONS);
    assert_eq!(bus.end_offsets("payments").await.unwrap(), [(p, 3)]);
}

pub async fn a_reset_group_replays_from_the_chosen_start<B: EventBus>(bus: Arc<B>) {
    let t0 = Utc::now() - chrono::Duration::hours(3);
    bus.publish(vec![
        record_at("inventory", "k", "old", t0),
        record_at("inventory", "k", "new", t0 + chrono::Duration::hours(2)),
    ])
    .await
    .unwrap();
    let mut sub = bus
        .subscribe("r", &["inventory"], StartFrom::Earliest)
        .await
        .unwrap();
    let got = poll_n(&mut sub, 2).await;
    sub.commit(&Offset::after(&got)).await.unwrap();
    drop(sub);

    let p = partition_for(b"k", DEFAULT_PARTITIONS);
    let reset = bus
        .reset_offsets("r", &["inventory"], StartFrom::Earliest)
        .await
        .unwrap();
    assert!(
        reset.iter().any(|o| o.partition == p && o.offset == 0),
        "{reset:?}"
    );
    let mut again = bus
        .subscribe("r", &["inventory"], StartFrom::Latest)
        .await
        .unwrap();
    assert_eq!(values(&poll_n(&mut again, 2).await), ["old", "new"]);
    drop(again);

    let from = StartFrom::Timestamp(t0 + chrono::Duration::hours(1));
    bus.reset_offsets("r", &["inventory"], from).await.unwrap();
    let mut timed = bus
        .subscribe("r", &["inventory"], StartFrom::Earliest)
        .await
        .unwrap();
    assert_eq!(values(&poll_n(&mut timed, 1).await), ["new"]);
    drop(timed);

    bus.reset_offsets("r", &["inventory"], StartFrom::Latest)
        .await
        .unwrap();
    let groups = bus.groups().await.unwrap();
    let group = groups
        .iter()
        .find(|g| g.group == "r")
        .expect("group listed");
    assert_eq!(
        group.total_lag(),
        0,
        "nothing left to replay after a reset to latest"
    );
}

/// A group moved to offsets a consumer stored itself resumes each named partition there,
/// and the partitions it does not name from their first record.
pub async fn a_group_reset_to_given_offsets_resumes_there_and_elsewhere_from_the_start<
    B: EventBus,
>(
    bus: Arc<B>,
) {
    let p = partition_for(b"k", DEFAULT_PARTITIONS);
    let other = (0..)
        .map(|i| format!("other-{i}"))
        .find(|k| partition_for(k.as_bytes(), DEFAULT_PARTITIONS) != p)
        .expect("a key of another partition");
    bus.publish(vec![
        record("inventory", "k", "a"),
        record("inventory", "k", "b"),
        record("inventory", "k", "c"),
        record("inventory", &other, "x"),
    ])
    .await
    .unwrap();
    let mut sub = bus
        .subscribe("s", &["inventory"], StartFrom::Earliest)
        .await
        .unwrap();
    let got = poll_n(&mut sub, 4).await;
    sub.commit(&Offset::after(&got)).await.unwrap();
    drop(sub);

    let stored = Offset {
        topic: "inventory".into(),
        partition: p,
        offset: 2,
    };
    let reset = bus
        .reset_offsets_to("s", &["inventory"], std::slice::from_ref(&stored))
        .await
        .unwrap();
    assert!(reset.contains(&stored), "{reset:?}");
    let mut again = bus
        .subscribe("s", &["inventory"], StartFrom::Latest)
        .await
        .unwrap();
    let mut resumed = values(&poll_n(&mut again, 2).await);
    resumed.sort();
    assert_eq!(resumed, ["c", "x"]);
}

/// Nothing deleted yet: each partition that had a record is retained from offset 0, and
/// its first record's store position (the relay's `position` header) is told.
pub async fn retained_records_begin_at_each_partitions_first_with_its_position<B: EventBus>(
    bus: Arc<B>,
) {
    let (first, second) = ("order-a", "order-b");
    let (p1, p2) = (
        partition_for(first.as_bytes(), DEFAULT_PARTITIONS),
        partition_for(second.as_bytes(), DEFAULT_PARTITIONS),
    );
    assert_ne!(p1, p2, "the keys are chosen to land apart");
    let at = |key: &str, position: u64| OutgoingRecord {
        headers: vec![("position".into(), position.to_string().into_bytes())],
        ..record("shipments", key, "v")
    };
    bus.publish(vec![at(first, 5), at(second, 7), at(first, 9)])
        .await
        .unwrap();
    let log = bus.retained("shipments").await.unwrap();
    assert_eq!(log.partitions, DEFAULT_PARTITIONS);
    let mut starts: Vec<_> = log
        .starts
        .iter()
        .map(|s| (s.partition, s.offset, s.position))
        .collect();
    starts.sort();
    let mut expected = vec![(p1, 0, Some(5)), (p2, 0, Some(7))];
    expected.sort();
    assert_eq!(starts, expected);
}
