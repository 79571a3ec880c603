//! What the bus says of its groups beyond offsets: how old their oldest unhandled
//! record is, and who their members are.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

use super::{WAIT, poll_n, record_at};
use crate::bus::{DEFAULT_PARTITIONS, EventBus, GroupLag, Offset, StartFrom, partition_for};

/// Whole milliseconds, which every bus keeps exactly.
fn at(hours_ago: i64) -> DateTime<Utc> {
    let now = Utc::now().timestamp();
    Utc.timestamp_opt(now - hours_ago * 3600, 0).unwrap()
}

async fn group<B: EventBus>(bus: &B, name: &str) -> Option<GroupLag> {
    let groups = bus.groups().await.unwrap();
    groups.into_iter().find(|g| g.group == name)
}

pub async fn lag_in_time_is_the_age_of_the_oldest_unhandled_record<B: EventBus>(bus: Arc<B>) {
    let (t0, t1, t2) = (at(3), at(2), at(1));
    bus.publish(vec![
        record_at("orders", "k", "0", t0),
        record_at("orders", "k", "1", t1),
        record_at("orders", "k", "2", t2),
    ])
    .await
    .unwrap();
    let mut sub = bus
        .subscribe("behind", &["orders"], StartFrom::Earliest)
        .await
        .unwrap();
    let got = poll_n(&mut sub, 3).await;
    sub.commit(&Offset::after(&got[..1])).await.unwrap();

    let behind = group(&*bus, "behind").await.expect("group listed");
    let p = partition_for(b"k", DEFAULT_PARTITIONS);
    let part = behind
        .partitions
        .iter()
        .find(|x| x.topic == "orders" && x.partition == p)
        .expect("partition listed");
    assert_eq!((part.lag, part.oldest_unhandled), (2, Some(t1)));
    assert_eq!(behind.oldest_unhandled(), Some(t1));
    let now = t1 + chrono::Duration::seconds(90);
    assert_eq!(behind.lag_seconds(now), 90.0);

    sub.commit(&Offset::after(&got)).await.unwrap();
    let caught_up = group(&*bus, "behind").await.expect("group listed");
    assert_eq!(caught_up.oldest_unhandled(), None);
    assert_eq!(caught_up.lag_seconds(Utc::now()), 0.0);
}

/// Polls `sub` (a Kafka member joins its group while it polls) until the bus says
/// whether `name` has a live member as `alive` says, or a generous deadline passed.
async fn until_live<B: EventBus>(
    bus: &B,
    name: &str,
    alive: bool,
    mut sub: Option<&mut Box<dyn crate::bus::Subscription>>,
) -> Option<GroupLag> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let g = group(bus, name).await;
        if g.as_ref().is_some_and(GroupLag::has_live_member) == alive
            || tokio::time::Instant::now() > deadline
        {
            return g;
        }
        match sub.as_mut() {
            Some(s) => drop(s.poll(1, WAIT).await.unwrap()),
            None => tokio::time::sleep(WAIT).await,
        }
    }
}

pub async fn a_subscribed_group_has_a_live_member_until_it_leaves<B: EventBus>(bus: Arc<B>) {
    bus.publish(vec![record_at("payments", "k", "x", at(0))])
        .await
        .unwrap();
    let mut sub = bus
        .subscribe("member", &["payments"], StartFrom::Earliest)
        .await
        .unwrap();
    let joined = until_live(&*bus, "member", true, Some(&mut sub))
        .await
        .expect("group listed");
    let live: Vec<_> = joined.members.iter().filter(|m| m.alive).collect();
    assert_eq!(live.len(), 1, "{:?}", joined.members);
    assert!(!live[0].id.is_empty(), "{:?}", live[0]);

    drop(sub);
    let left = until_live(&*bus, "member", false, None).await;
    assert!(
        left.as_ref().is_none_or(|g| !g.has_live_member()),
        "{left:?}"
    );
}

pub async fn the_records_of_a_key_are_read_in_order_and_no_others<B: EventBus>(bus: Arc<B>) {
    let (earlier, later) = (at(2), at(1));
    bus.publish(vec![
        record_at("orders.dlq", "a", "a1", earlier),
        record_at("orders.dlq", "b", "b1", earlier),
        record_at("orders.dlq", "a", "a2", later),
    ])
    .await
    .unwrap();
    let of_a = bus.records_of_key("orders.dlq", "a", 10).await.unwrap();
    assert_eq!(super::values(&of_a), ["a1", "a2"]);
    assert_eq!(of_a[0].header("h"), Some(&b"v"[..]));
    assert_eq!(of_a[1].timestamp, later);
    let first = bus.records_of_key("orders.dlq", "a", 1).await.unwrap();
    assert_eq!(super::values(&first), ["a1"]);
    assert!(
        bus.records_of_key("orders.dlq", "c", 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        bus.records_of_key("payments.dlq", "a", 10)
            .await
            .unwrap()
            .is_empty()
    );
}
