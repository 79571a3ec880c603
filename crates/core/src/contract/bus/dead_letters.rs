//! Parked records listed, read, replayed and discarded through the bus port.

use std::sync::Arc;

use chrono::{Duration as Span, Utc};

use super::{poll_n, record};
use crate::bus::dead_letters::{
    DeadLetterError, DeadLetters, Failure, Filter, ParkedId, ParkedState, headers, letter,
};
use crate::bus::{EventBus, StartFrom};

/// Publishes `value` under a new `key` on `orders` and parks it as the consumer does.
async fn park<B: EventBus>(bus: &Arc<B>, key: &str, value: &str) -> ParkedId {
    bus.publish(vec![record("orders", key, value)])
        .await
        .unwrap();
    let read = bus.records("orders", 100).await.unwrap();
    let read = read.iter().find(|r| r.key == key).unwrap();
    let now = Utc::now();
    let failure = Failure {
        group: "payment",
        reason: &format!("{value} cannot be charged"),
        kind: "permanent",
        first: now - Span::seconds(3),
        last: now,
        attempts: 4,
    };
    bus.publish(vec![letter(read, &failure)]).await.unwrap();
    let parked = bus.records("orders.dlq", 100).await.unwrap();
    let mine = parked.iter().rfind(|r| r.key == key).unwrap();
    ParkedId {
        topic: "orders.dlq".into(),
        partition: mine.partition,
        offset: mine.offset,
    }
}

pub async fn the_records_of_a_topic_are_read_partition_by_partition<B: EventBus + 'static>(
    bus: Arc<B>,
) {
    let batch = (0..12)
        .map(|i| record("orders.dlq", &format!("k{}", i % 4), &i.to_string()))
        .collect();
    bus.publish(batch).await.unwrap();
    let all = bus.records("orders.dlq", 100).await.unwrap();
    assert_eq!(all.len(), 12);
    let places: Vec<(u32, u64)> = all.iter().map(|r| (r.partition, r.offset)).collect();
    let mut sorted = places.clone();
    sorted.sort();
    assert_eq!(places, sorted, "partition by partition, in offset order");
    assert_eq!(all[0].header("h"), Some(&b"v"[..]));
    assert_eq!(bus.records("orders.dlq", 5).await.unwrap().len(), 5);
    assert!(bus.records("payments.dlq", 100).await.unwrap().is_empty());
}

pub async fn a_parked_record_is_listed_read_and_discarded_with_who_and_why<
    B: EventBus + 'static,
>(
    bus: Arc<B>,
) {
    let id = park(&bus, "o-1", "order one").await;
    let dlq = DeadLetters::new(bus.clone());
    let listed = dlq.list(&Filter::default()).await.unwrap();
    assert_eq!(
        listed.iter().map(|p| &p.id).collect::<Vec<_>>(),
        [&id],
        "{listed:?}"
    );
    let shown = dlq.get(&id.to_string().parse().unwrap()).await.unwrap();
    assert_eq!(shown.reason, "order one cannot be charged");
    assert_eq!(shown.group.as_deref(), Some("payment"));
    assert_eq!(shown.origin.topic, "orders");
    assert_eq!(shown.origin.offset, Some(0));
    assert_eq!(shown.attempts, Some(4));
    assert!(shown.first_failure < shown.last_failure);
    assert_eq!(shown.record.value, b"order one");
    assert_eq!(shown.state, ParkedState::Parked);

    let discarded = dlq.discard(&id, "ops@shop", "a test order").await.unwrap();
    let ParkedState::Discarded(action) = &discarded.state else {
        panic!("not discarded: {discarded:?}");
    };
    assert_eq!(action.actor, "ops@shop");
    assert_eq!(action.reason.as_deref(), Some("a test order"));
    assert!(action.at.is_some());
    assert!(dlq.list(&Filter::default()).await.unwrap().is_empty());
    let all = Filter {
        topic: Some("orders".into()),
        all: true,
    };
    assert_eq!(dlq.list(&all).await.unwrap(), [discarded]);
    assert!(matches!(
        dlq.replay(&id, "ops@shop").await,
        Err(DeadLetterError::Discarded { .. })
    ));
    let unknown = ParkedId { offset: 999, ..id };
    assert!(matches!(
        dlq.get(&unknown).await,
        Err(DeadLetterError::NotFound(_))
    ));
}

pub async fn a_replayed_record_goes_back_to_its_topic_for_its_group<B: EventBus + 'static>(
    bus: Arc<B>,
) {
    let id = park(&bus, "o-2", "order two").await;
    let mut group = bus
        .subscribe("payment", &["orders"], StartFrom::Earliest)
        .await
        .unwrap();
    assert_eq!(poll_n(&mut group, 1).await.len(), 1, "the original");
    let dlq = DeadLetters::new(bus.clone());

    let replayed = dlq.replay(&id, "ops@shop").await.unwrap();
    assert!(matches!(&replayed.state, ParkedState::Replayed(a) if a.actor == "ops@shop"));
    let again = poll_n(&mut group, 1).await;
    assert_eq!(again.len(), 1);
    let r = &again[0];
    assert_eq!(
        (r.key.as_str(), r.value.as_slice()),
        ("o-2", &b"order two"[..])
    );
    assert_eq!(r.header("h"), Some(&b"v"[..]), "the original headers");
    assert_eq!(r.header(headers::ERROR), None, "none of the parking's");
    assert_eq!(r.header(headers::REPLAY_GROUP), Some(&b"payment"[..]));
    assert_eq!(
        r.header(headers::REPLAY_OF),
        Some(id.to_string().as_bytes())
    );

    assert!(dlq.list(&Filter::default()).await.unwrap().is_empty());
    assert!(dlq.replay_all(None, "ops@shop").await.unwrap().is_empty());
    let other = park(&bus, "o-3", "order three").await;
    assert_eq!(
        dlq.replay_all(Some("orders"), "ops@shop").await.unwrap(),
        [other]
    );
    assert_eq!(poll_n(&mut group, 2).await.len(), 2, "o-3 and o-3's replay");
}
