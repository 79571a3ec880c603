//! Before it joins, analytics moves its group back to its store's offsets when the store
//! is behind, leaves a group that is not ahead alone, forgets offsets of another bus, and
//! refuses, saying what to do, a group it must move back while it has a live member.

use std::sync::Arc;
use std::time::Duration;

use orderflow_core::bus::{EventBus, Offset, OutgoingRecord, StartFrom, partition_for};
use orderflow_core::read_model::{
    AnalyticsOffsets, AnalyticsRecord, AnalyticsStore, AnalyticsSummary,
};
use orderflow_core::store::StoreError;
use orderflow_sqlite::{SqliteBus, SqliteReadModel};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::*;

type TestResult = Result<(), Box<dyn std::error::Error>>;

struct Fixture {
    bus: SqliteBus,
    store: Arc<SqliteReadModel>,
    _dir: tempfile::TempDir,
}

/// A bus with three records on one partition of `orders`, read and committed by the
/// analytics group, and an empty store.
async fn read_three() -> Result<Fixture, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let bus = SqliteBus::open(&dir.path().join("bus.db"))?;
    let store = Arc::new(SqliteReadModel::open(&dir.path().join("read.db"))?);
    let record = OutgoingRecord {
        topic: "orders".into(),
        key: "k".into(),
        value: vec![],
        headers: vec![],
        timestamp: chrono::Utc::now(),
    };
    bus.publish(vec![record.clone(), record.clone(), record])
        .await?;
    let mut sub = bus
        .subscribe(GROUP.name, &GROUP.topic_names(), StartFrom::Earliest)
        .await?;
    let mut got = Vec::new();
    while got.len() < 3 {
        got.extend(sub.poll(3, Duration::from_secs(5)).await?);
    }
    sub.commit(&Offset::after(&got)).await?;
    Ok(Fixture {
        bus,
        store,
        _dir: dir,
    })
}

fn partition() -> u32 {
    partition_for(b"k", orderflow_core::bus::DEFAULT_PARTITIONS)
}

fn at(offset: u64) -> Offset {
    Offset {
        topic: "orders".into(),
        partition: partition(),
        offset,
    }
}

/// Records the record at `offset` of the fixture's partition (and what bus it read).
async fn stored_up_to(f: &Fixture, offset: u64) -> TestResult {
    f.store.start_on_bus(f.bus.identity().await?).await?;
    f.store
        .record(AnalyticsRecord {
            topic: "orders".into(),
            partition: partition(),
            offset,
            event_id: Uuid::new_v4(),
            changes: vec![],
        })
        .await?;
    Ok(())
}

async fn committed(bus: &SqliteBus) -> Result<Option<u64>, Box<dyn std::error::Error>> {
    Ok(bus
        .groups()
        .await?
        .into_iter()
        .filter(|g| g.group == GROUP.name)
        .flat_map(|g| g.partitions)
        .find(|p| p.topic == "orders" && p.partition == partition())
        .and_then(|p| p.committed))
}

#[tokio::test]
async fn a_store_behind_its_group_moves_the_group_back_to_the_stores_offsets() -> TestResult {
    let f = read_three().await?;
    stored_up_to(&f, 0).await?;
    let aligned = align(f.store.as_ref(), &f.bus, &CancellationToken::new()).await?;
    assert!(
        matches!(&aligned, Aligned::Reset(o) if o.contains(&at(1))),
        "{aligned:?}"
    );
    assert_eq!(committed(&f.bus).await?, Some(1));
    Ok(())
}

#[tokio::test]
async fn a_store_made_again_moves_the_group_back_to_the_start() -> TestResult {
    let f = read_three().await?;
    align(f.store.as_ref(), &f.bus, &CancellationToken::new()).await?;
    assert_eq!(committed(&f.bus).await?, Some(0));
    Ok(())
}

#[tokio::test]
async fn a_group_not_ahead_of_its_store_is_left_alone() -> TestResult {
    let f = read_three().await?;
    stored_up_to(&f, 2).await?;
    let aligned = align(f.store.as_ref(), &f.bus, &CancellationToken::new()).await?;
    assert_eq!(aligned, Aligned::Already);
    assert_eq!(committed(&f.bus).await?, Some(3));
    Ok(())
}

#[tokio::test]
async fn offsets_stored_for_another_bus_are_forgotten_and_this_one_is_read_from_its_start()
-> TestResult {
    let f = read_three().await?;
    stored_up_to(&f, 2).await?;
    f.store.start_on_bus(Some("another bus".into())).await?;
    stored_up_to_on_another_bus(&f).await?;
    align(f.store.as_ref(), &f.bus, &CancellationToken::new()).await?;
    let offsets = f.store.offsets().await?;
    assert_eq!(offsets.bus, f.bus.identity().await?);
    assert_eq!(offsets.next, []);
    assert_eq!(committed(&f.bus).await?, Some(0));
    Ok(())
}

/// The store read the fixture's partition up to 2 on a bus that is not the fixture's.
async fn stored_up_to_on_another_bus(f: &Fixture) -> TestResult {
    f.store
        .record(AnalyticsRecord {
            topic: "orders".into(),
            partition: partition(),
            offset: 2,
            event_id: Uuid::new_v4(),
            changes: vec![],
        })
        .await?;
    Ok(())
}

#[tokio::test]
async fn offsets_past_the_end_of_the_bus_are_forgotten() -> TestResult {
    let f = read_three().await?;
    stored_up_to(&f, 9).await?;
    align(f.store.as_ref(), &f.bus, &CancellationToken::new()).await?;
    assert_eq!(f.store.offsets().await?.next, []);
    assert_eq!(committed(&f.bus).await?, Some(0));
    Ok(())
}

#[tokio::test]
async fn a_group_to_move_back_with_a_live_member_is_refused_saying_what_to_do() -> TestResult {
    let f = read_three().await?;
    let _member = f
        .bus
        .subscribe(GROUP.name, &GROUP.topic_names(), StartFrom::Earliest)
        .await?;
    let refused = align_within(
        f.store.as_ref(),
        &f.bus,
        Duration::ZERO,
        &CancellationToken::new(),
    )
    .await;
    let message = refused.err().ok_or("a refusal")?.to_string();
    assert!(
        message.contains("Stop every analytics process"),
        "{message}"
    );
    assert_eq!(committed(&f.bus).await?, Some(3));
    Ok(())
}

/// A store shared with a running member of the group, which handles the next record
/// (into this store, then commits it on the bus) right after the store's offsets are
/// read, and stays in the group.
#[derive(Debug)]
struct SharedWithARunningMember {
    store: Arc<SqliteReadModel>,
    bus: SqliteBus,
    member: tokio::sync::Mutex<Option<Box<dyn orderflow_core::bus::Subscription>>>,
}

#[async_trait::async_trait]
impl orderflow_core::read_model::generations::CountEvents for SharedWithARunningMember {
    async fn count_events(
        &self,
        events: Vec<(Uuid, Vec<orderflow_core::read_model::AnalyticsChange>)>,
    ) -> Result<(), StoreError> {
        self.store.count_events(events).await
    }
}

#[async_trait::async_trait]
impl AnalyticsStore for SharedWithARunningMember {
    async fn record(&self, record: AnalyticsRecord) -> Result<bool, StoreError> {
        self.store.record(record).await
    }

    async fn offsets(&self) -> Result<AnalyticsOffsets, StoreError> {
        let read = self.store.offsets().await?;
        let mut member = self.member.lock().await;
        if member.is_none() {
            let unavailable = |e: orderflow_core::bus::BusError| StoreError::Unavailable(e.into());
            let mut sub = self
                .bus
                .subscribe(GROUP.name, &GROUP.topic_names(), StartFrom::Earliest)
                .await
                .map_err(unavailable)?;
            let next = sub
                .poll(1, Duration::from_secs(5))
                .await
                .map_err(unavailable)?;
            for r in &next {
                self.store
                    .record(AnalyticsRecord {
                        topic: r.topic.clone(),
                        partition: r.partition,
                        offset: r.offset,
                        event_id: Uuid::new_v4(),
                        changes: vec![],
                    })
                    .await?;
            }
            sub.commit(&Offset::after(&next))
                .await
                .map_err(unavailable)?;
            *member = Some(sub);
        }
        Ok(read)
    }

    async fn start_on_bus(&self, bus: Option<String>) -> Result<(), StoreError> {
        self.store.start_on_bus(bus).await
    }

    async fn summary(&self) -> Result<AnalyticsSummary, StoreError> {
        self.store.summary().await
    }
}

#[tokio::test]
async fn a_member_moving_on_while_a_process_starts_beside_it_is_not_taken_for_a_store_behind()
-> TestResult {
    let f = read_three().await?;
    stored_up_to(&f, 2).await?;
    f.bus
        .publish(vec![OutgoingRecord {
            topic: "orders".into(),
            key: "k".into(),
            value: vec![],
            headers: vec![],
            timestamp: chrono::Utc::now(),
        }])
        .await?;
    let shared = SharedWithARunningMember {
        store: f.store.clone(),
        bus: f.bus.clone(),
        member: Default::default(),
    };
    let aligned = align_within(&shared, &f.bus, Duration::ZERO, &CancellationToken::new()).await?;
    assert_eq!(aligned, Aligned::Already);
    assert_eq!(committed(&f.bus).await?, Some(4), "the member moved on");
    Ok(())
}
