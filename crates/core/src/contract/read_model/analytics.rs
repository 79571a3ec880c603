//! Analytics scenarios: counts and the bus offsets they reflect, committed together.

use std::sync::Arc;

use uuid::Uuid;

use crate::bus::Offset;
use crate::read_model::{
    AnalyticsChange, AnalyticsOffsets, AnalyticsRecord, AnalyticsStore, ReadModel,
};

/// The record at `offset` of `orders`/`partition` carrying event `id`.
pub(crate) fn at(
    partition: u32,
    offset: u64,
    id: Uuid,
    changes: Vec<AnalyticsChange>,
) -> AnalyticsRecord {
    AnalyticsRecord {
        topic: "orders".into(),
        partition,
        offset,
        event_id: id,
        changes,
    }
}

pub(crate) fn paid(cents: i64) -> Vec<AnalyticsChange> {
    vec![
        AnalyticsChange::Revenue {
            day: "2026-01-01".into(),
            delta_cents: cents,
        },
        AnalyticsChange::OrderStatus {
            order_id: "o-1".into(),
            status: "PAID".into(),
        },
    ]
}

pub(crate) fn next(partition: u32, offset: u64) -> Offset {
    Offset {
        topic: "orders".into(),
        partition,
        offset,
    }
}

/// An event's changes are applied once, however often it is recorded, even at another
/// offset (the same event published again to a new bus): it adds revenue (applied
/// twice, a sum that would double) and moves an order to a status (counted under it
/// once).
pub async fn an_analytics_event_recorded_twice_counts_once<M: ReadModel + AnalyticsStore>(
    model: Arc<M>,
) {
    let id = Uuid::new_v4();
    assert!(model.record(at(0, 0, id, paid(500))).await.unwrap());
    assert!(!model.record(at(0, 1, id, paid(500))).await.unwrap());
    let summary = model.summary().await.unwrap();
    assert_eq!(summary.revenue_cents_by_day.get("2026-01-01"), Some(&500));
    assert_eq!(summary.orders_by_status.get("PAID"), Some(&1));
}

/// Each record moves its own partition's offset past it, in the commit of its counts.
pub async fn a_record_commits_its_partitions_next_offset_with_its_counts<
    M: ReadModel + AnalyticsStore,
>(
    model: Arc<M>,
) {
    assert_eq!(model.offsets().await.unwrap(), AnalyticsOffsets::default());
    model
        .record(at(3, 0, Uuid::new_v4(), paid(100)))
        .await
        .unwrap();
    model
        .record(at(3, 1, Uuid::new_v4(), paid(100)))
        .await
        .unwrap();
    model
        .record(at(5, 7, Uuid::new_v4(), paid(100)))
        .await
        .unwrap();
    let mut offsets = model.offsets().await.unwrap().next;
    offsets.sort();
    assert_eq!(offsets, [next(3, 2), next(5, 8)]);
    let summary = model.summary().await.unwrap();
    assert_eq!(summary.revenue_cents_by_day.get("2026-01-01"), Some(&300));
}

/// A record below its partition's stored offset was applied before (a replay, a
/// redelivery after a crash between the store's commit and the bus's): skipped, even
/// under an event id never seen (a record from outside the relay gets one derived from
/// its content, which need not match).
pub async fn a_record_below_its_partitions_offset_is_skipped<M: ReadModel + AnalyticsStore>(
    model: Arc<M>,
) {
    assert!(
        model
            .record(at(0, 5, Uuid::new_v4(), paid(500)))
            .await
            .unwrap()
    );
    assert!(
        !model
            .record(at(0, 5, Uuid::new_v4(), paid(500)))
            .await
            .unwrap()
    );
    assert!(
        !model
            .record(at(0, 2, Uuid::new_v4(), paid(500)))
            .await
            .unwrap()
    );
    let summary = model.summary().await.unwrap();
    assert_eq!(summary.revenue_cents_by_day.get("2026-01-01"), Some(&500));
    assert_eq!(model.offsets().await.unwrap().next, [next(0, 6)]);
}

/// An event analytics does not count still moves its partition on: a group whose last
/// records are such events is not behind its store.
pub async fn a_record_without_changes_moves_its_offset_only<M: ReadModel + AnalyticsStore>(
    model: Arc<M>,
) {
    assert!(
        !model
            .record(at(1, 4, Uuid::new_v4(), vec![]))
            .await
            .unwrap()
    );
    assert_eq!(model.offsets().await.unwrap().next, [next(1, 5)]);
    assert_eq!(model.summary().await.unwrap(), Default::default());
}

/// Offsets belong to the bus they were read on: on another bus they are forgotten, and
/// the counts are kept, with the events they came from, so the same events published to
/// the new bus are not counted again.
pub async fn another_bus_starts_from_no_offsets_and_keeps_the_counts<
    M: ReadModel + AnalyticsStore,
>(
    model: Arc<M>,
) {
    let id = Uuid::new_v4();
    model.start_on_bus(Some("bus-1".into())).await.unwrap();
    model.record(at(0, 9, id, paid(500))).await.unwrap();
    assert_eq!(
        model.offsets().await.unwrap(),
        AnalyticsOffsets {
            bus: Some("bus-1".into()),
            next: vec![next(0, 10)],
        }
    );
    model.start_on_bus(Some("bus-2".into())).await.unwrap();
    assert_eq!(
        model.offsets().await.unwrap(),
        AnalyticsOffsets {
            bus: Some("bus-2".into()),
            next: vec![],
        }
    );
    assert!(!model.record(at(0, 0, id, paid(500))).await.unwrap());
    let summary = model.summary().await.unwrap();
    assert_eq!(summary.revenue_cents_by_day.get("2026-01-01"), Some(&500));
    assert_eq!(model.offsets().await.unwrap().next, [next(0, 1)]);
}

pub async fn revenue_adds_up_per_day_refunds_included<M: ReadModel + AnalyticsStore>(
    model: Arc<M>,
) {
    for (offset, (day, delta)) in [
        ("2026-01-01", 500),
        ("2026-01-01", 250),
        ("2026-01-01", -500),
        ("2026-01-02", 100),
    ]
    .into_iter()
    .enumerate()
    {
        let change = AnalyticsChange::Revenue {
            day: day.into(),
            delta_cents: delta,
        };
        let record = at(0, offset as u64, Uuid::new_v4(), vec![change]);
        model.record(record).await.unwrap();
    }
    let summary = model.summary().await.unwrap();
    assert_eq!(summary.revenue_cents_by_day.get("2026-01-01"), Some(&250));
    assert_eq!(summary.revenue_cents_by_day.get("2026-01-02"), Some(&100));
}
