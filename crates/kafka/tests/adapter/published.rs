//! How far the relay's records reach on the cluster, as the relay asks on start to
//! find a bus that lost records (a topic deleted and made again, a cluster restored
//! from an older copy, a deployment moved to a new cluster).

use orderflow_core::bus::{EventBus, OutgoingRecord};

use crate::support::isolated_bus;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn relayed(key: &str, position: Option<u64>) -> OutgoingRecord {
    OutgoingRecord {
        topic: "orders".into(),
        key: key.into(),
        value: b"event".to_vec(),
        headers: position
            .map(|p| vec![("position".to_owned(), p.to_string().into_bytes())])
            .unwrap_or_default(),
        timestamp: chrono::Utc::now(),
    }
}

#[tokio::test]
async fn topics_that_never_held_a_record_say_nothing_was_published() -> TestResult {
    let (bus, _topics) = isolated_bus().await;
    assert_eq!(bus.published_up_to().await?, Some(0));
    Ok(())
}

#[tokio::test]
async fn the_highest_position_of_the_partitions_last_records_is_how_far_it_reaches() -> TestResult {
    let (bus, _topics) = isolated_bus().await;
    // Many keys, so the records spread over partitions; the highest lands anywhere.
    let records = (1..=40)
        .map(|p| relayed(&format!("order-{}", p % 13), Some(p)))
        .collect();
    bus.publish(records).await?;
    assert_eq!(bus.published_up_to().await?, Some(40));
    Ok(())
}

#[tokio::test]
async fn a_last_record_without_a_position_makes_the_cluster_unable_to_tell() -> TestResult {
    let (bus, _topics) = isolated_bus().await;
    bus.publish(vec![relayed("a", Some(1)), relayed("b", Some(2))])
        .await?;
    // Another producer wrote last to one partition: it could hide a higher position.
    bus.publish(vec![relayed("b", None)]).await?;
    assert_eq!(bus.published_up_to().await?, None);
    Ok(())
}
