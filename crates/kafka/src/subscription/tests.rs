//! Group membership on a real broker (`ORDERFLOW_TEST_KAFKA_URL`).

use std::collections::{BTreeSet, HashMap};

use orderflow_core::bus::{EventBus, OutgoingRecord};

use super::*;
use crate::{KafkaBus, KafkaConfig};

/// The partitions of a topic (orderflow's default).
const PARTITIONS: u32 = 12;

fn isolated_config() -> KafkaConfig {
    crate::testing::isolated_config('u')
}

fn owned(sub: &KafkaSubscription) -> BTreeSet<u32> {
    sub.consumer
        .assignment()
        .map(|tpl| {
            tpl.elements()
                .iter()
                .map(|e| e.partition() as u32)
                .collect()
        })
        .unwrap_or_default()
}

/// Polls every member until the rebalance is over: each owns some partitions, none
/// owns one another has, and together they own them all. Until each member has served
/// its own revocation and assignment, what one owns says nothing about the others (with
/// eager assignment a member owns nothing between the two).
async fn share(members: &mut [&mut KafkaSubscription]) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let sets: Vec<BTreeSet<u32>> = members.iter().map(|m| owned(m)).collect();
        let total: usize = sets.iter().map(BTreeSet::len).sum();
        let union: BTreeSet<u32> = sets.iter().flatten().copied().collect();
        if sets.iter().all(|s| !s.is_empty())
            && total == union.len()
            && union.len() == PARTITIONS as usize
        {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the members never shared the partitions: {sets:?}"
        );
        for m in members.iter_mut() {
            m.poll(1, Duration::from_millis(50)).await.expect("poll");
        }
    }
}

fn records(n: usize) -> Vec<OutgoingRecord> {
    (0..n)
        .map(|i| OutgoingRecord {
            topic: "orders".into(),
            key: format!("k{i}"),
            value: vec![1],
            headers: vec![],
            timestamp: Utc::now(),
        })
        .collect()
}

/// Polls until `member` has read every record below `ends` on `partitions`.
async fn read_to(
    member: &mut KafkaSubscription,
    partitions: &BTreeSet<u32>,
    ends: &HashMap<u32, u64>,
) -> Vec<Record> {
    let mut seen: Vec<Record> = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let done = |seen: &[Record]| {
        partitions.iter().all(|p| {
            let end = ends.get(p).copied().unwrap_or(0);
            end == 0
                || seen
                    .iter()
                    .any(|r| r.partition == *p && r.offset + 1 == end)
        })
    };
    while !done(&seen) {
        assert!(tokio::time::Instant::now() < deadline, "records missing");
        seen.extend(
            member
                .poll(100, Duration::from_millis(100))
                .await
                .expect("poll"),
        );
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_does_not_commit_partitions_a_rebalance_moved_away() {
    let config = Arc::new(isolated_config());
    let (bus, _topics) = crate::testing::connect((*config).clone()).await;
    bus.publish(records(48)).await.expect("publish");

    let mut first = KafkaSubscription::join(config.clone(), "g", &["orders"], StartFrom::Earliest)
        .await
        .expect("join");
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while seen.len() < 48 && tokio::time::Instant::now() < deadline {
        seen.extend(
            first
                .poll(48, Duration::from_millis(100))
                .await
                .expect("poll"),
        );
    }
    assert_eq!(seen.len(), 48);

    // A second member joins; both poll until the partitions are shared.
    let mut second = KafkaSubscription::join(config.clone(), "g", &["orders"], StartFrom::Earliest)
        .await
        .expect("join");
    share(&mut [&mut first, &mut second]).await;
    let moved = owned(&second);
    assert!(!moved.is_empty(), "the rebalance shared the partitions");

    // The first member commits everything it handled: only its own partitions count.
    first.commit(&Offset::after(&seen)).await.expect("commit");
    let groups = bus.groups().await.expect("groups");
    let group = groups
        .iter()
        .find(|g| g.group == "g")
        .expect("group listed");
    for p in &group.partitions {
        if moved.contains(&p.partition) {
            assert_eq!(p.committed, None, "partition {} moved away", p.partition);
        }
    }
    assert!(
        group.partitions.iter().any(|p| p.committed.is_some()),
        "its own partitions were committed"
    );
}

/// A partition that comes back to a member after another one has committed further must
/// not be committed at what the member handled before it moved: that would move the
/// group back, and the records in between would be handled again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_does_not_move_back_a_partition_that_came_back_to_it() {
    let config = Arc::new(isolated_config());
    let (bus, _topics) = crate::testing::connect((*config).clone()).await;
    bus.publish(records(48)).await.expect("publish");
    let ends = |marks: Vec<(u32, u64)>| marks.into_iter().collect::<HashMap<u32, u64>>();
    let all: BTreeSet<u32> = (0..PARTITIONS).collect();

    // The first member handles everything and commits it.
    let mut first = KafkaSubscription::join(config.clone(), "g", &["orders"], StartFrom::Earliest)
        .await
        .expect("join");
    let before = ends(bus.end_offsets("orders").await.expect("ends"));
    let seen = read_to(&mut first, &all, &before).await;
    first.commit(&Offset::after(&seen)).await.expect("commit");

    // A second member takes half of the partitions and handles and commits more.
    let mut second = KafkaSubscription::join(config.clone(), "g", &["orders"], StartFrom::Earliest)
        .await
        .expect("join");
    share(&mut [&mut first, &mut second]).await;
    let moved = owned(&second);
    bus.publish(records(48)).await.expect("publish");
    let after = ends(bus.end_offsets("orders").await.expect("ends"));
    let handled = read_to(&mut second, &moved, &after).await;
    second
        .commit(&Offset::after(&handled))
        .await
        .expect("commit");

    // It leaves: its partitions come back to the first, which then leaves too.
    drop(second);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while owned(&first).len() < PARTITIONS as usize {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the partitions came back"
        );
        first
            .poll(1, Duration::from_millis(50))
            .await
            .expect("poll");
    }
    tokio::task::spawn_blocking(move || drop(first))
        .await
        .expect("close");

    let groups = bus.groups().await.expect("groups");
    let group = groups
        .iter()
        .find(|g| g.group == "g")
        .expect("group listed");
    for p in group
        .partitions
        .iter()
        .filter(|p| moved.contains(&p.partition))
    {
        let end = after.get(&p.partition).copied().unwrap_or(0);
        if end > 0 {
            assert_eq!(
                p.committed,
                Some(end),
                "partition {} stays where the second member committed it",
                p.partition
            );
        }
    }
}

mod cooperative;
mod crash;
