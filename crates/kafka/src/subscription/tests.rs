//! Group membership on a real broker (`ORDERFLOW_TEST_KAFKA_URL`).

use std::collections::BTreeSet;

use orderflow_core::bus::{EventBus, OutgoingRecord};

use super::*;
use crate::{KafkaBus, KafkaConfig};

fn isolated_config() -> KafkaConfig {
    let url = std::env::var("ORDERFLOW_TEST_KAFKA_URL").unwrap_or_else(|_| {
        panic!(
            "ORDERFLOW_TEST_KAFKA_URL is not set: run ./scripts/test, which starts an \
             Apache Kafka cluster (./scripts/kafka up), or point it at one (kafka://host:port)"
        )
    });
    let mut config = KafkaConfig::from_url(&url).expect("test broker URL");
    config.topics.prefix = format!("u{}-", uuid::Uuid::new_v4().simple());
    config
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_does_not_commit_partitions_a_rebalance_moved_away() {
    let config = Arc::new(isolated_config());
    let bus = KafkaBus::connect((*config).clone()).await.expect("connect");
    let records = (0..48)
        .map(|i| OutgoingRecord {
            topic: "orders".into(),
            key: format!("k{i}"),
            value: vec![1],
            headers: vec![],
            timestamp: Utc::now(),
        })
        .collect();
    bus.publish(records).await.expect("publish");

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
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while (owned(&second).is_empty() || owned(&first).len() == 12)
        && tokio::time::Instant::now() < deadline
    {
        first
            .poll(1, Duration::from_millis(50))
            .await
            .expect("poll");
        second
            .poll(1, Duration::from_millis(50))
            .await
            .expect("poll");
    }
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
