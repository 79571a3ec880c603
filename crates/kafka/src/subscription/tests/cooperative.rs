//! A second member joins a group with cooperative-sticky assignment: only the partitions
//! that move are revoked, and the first member goes on reading the ones it keeps.

use std::collections::BTreeMap;

use super::*;

/// How many times each member was handed each record, by (partition, offset).
#[derive(Debug, Default)]
struct Deliveries {
    first: BTreeMap<(u32, u64), usize>,
    second: BTreeMap<(u32, u64), usize>,
}

fn count(into: &mut BTreeMap<(u32, u64), usize>, records: &[Record]) {
    for r in records {
        *into.entry((r.partition, r.offset)).or_default() += 1;
    }
}

impl Deliveries {
    /// One short poll of each member, counting what each was handed.
    async fn poll_both(&mut self, first: &mut KafkaSubscription, second: &mut KafkaSubscription) {
        let wait = Duration::from_millis(50);
        count(&mut self.first, &first.poll(100, wait).await.expect("poll"));
        count(
            &mut self.second,
            &second.poll(100, wait).await.expect("poll"),
        );
    }
}

/// The first member handles everything but commits only the first round: the second
/// round is handled and not yet committed when the second member joins, as records in
/// flight are. Rounds keep being published while the group rebalances.
///
/// An eager rebalance revokes every partition of the first member and assigns it its
/// share again from the committed offsets, so it would be handed the second round of
/// the partitions it keeps once more; here only the partitions that move are revoked,
/// and only those are read again from the committed offsets (by the second member).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_joining_member_takes_only_the_partitions_that_move() {
    let config = Arc::new(isolated_config());
    let (bus, _topics) = crate::testing::connect((*config).clone()).await;
    let all: BTreeSet<u32> = (0..PARTITIONS).collect();
    let ends = |marks: Vec<(u32, u64)>| marks.into_iter().collect::<HashMap<u32, u64>>();
    let mut got = Deliveries::default();

    let mut first = KafkaSubscription::join(config.clone(), "g", &["orders"], StartFrom::Earliest)
        .await
        .expect("join");
    bus.publish(records(48)).await.expect("publish");
    let round = read_to(
        &mut first,
        &all,
        &ends(bus.end_offsets("orders").await.expect("ends")),
    )
    .await;
    count(&mut got.first, &round);
    let committed: HashMap<u32, u64> = Offset::after(&round)
        .iter()
        .map(|o| (o.partition, o.offset))
        .collect();
    first.commit(&Offset::after(&round)).await.expect("commit");
    bus.publish(records(48)).await.expect("publish");
    let round = read_to(
        &mut first,
        &all,
        &ends(bus.end_offsets("orders").await.expect("ends")),
    )
    .await;
    count(&mut got.first, &round);

    // The second member joins while records keep coming; both handle what they get.
    let mut second = KafkaSubscription::join(config.clone(), "g", &["orders"], StartFrom::Earliest)
        .await
        .expect("join");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (mine, theirs) = (owned(&first), owned(&second));
        if !theirs.is_empty() && mine.len() + theirs.len() == PARTITIONS as usize {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the partitions were never shared: {mine:?} and {theirs:?}"
        );
        assert!(
            !mine.is_empty(),
            "the first member kept its partitions during the rebalance"
        );
        bus.publish(records(12)).await.expect("publish");
        got.poll_both(&mut first, &mut second).await;
    }
    let (kept, moved) = (owned(&first), owned(&second));
    assert!(kept.is_disjoint(&moved), "{kept:?} and {moved:?}");

    // Everything published so far reaches one member or the other.
    let end = ends(bus.end_offsets("orders").await.expect("ends"));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let reached = |got: &Deliveries| {
        end.iter().all(|(p, e)| {
            (0..*e).all(|o| got.first.contains_key(&(*p, o)) || got.second.contains_key(&(*p, o)))
        })
    };
    while !reached(&got) {
        assert!(tokio::time::Instant::now() < deadline, "records were lost");
        got.poll_both(&mut first, &mut second).await;
    }

    let twice: Vec<_> = got
        .first
        .iter()
        .chain(&got.second)
        .filter(|(_, n)| **n > 1)
        .collect();
    assert!(twice.is_empty(), "handed twice to one member: {twice:?}");
    for (p, o) in got.second.keys() {
        assert!(moved.contains(p), "partition {p} moved");
        if got.first.contains_key(&(*p, *o)) {
            assert!(
                *o >= committed.get(p).copied().unwrap_or(0),
                "the second member read {p}/{o}, which the first had committed"
            );
        }
    }
}
