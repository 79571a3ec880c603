//! Inventory over a store in memory: given a SKU's stock level, when an order is
//! created, cancelled or shipped, then its reservation and the SKU's level record it.

use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::Utc;
use orderflow_core::codec::EventCodec;
use orderflow_core::registry::InMemoryRegistry;
use orderflow_core::store::{
    AppendRequest, Appended, EventStore, InMemoryEventStore, StoreError, StoredEvent,
};
use orderflow_domain::events::{
    OrderCancelled, OrderShipped, StockAllocated, StockDeallocated, StockFulfilled, StockLevelSet,
    StockReleased, StockReserved, StockShipped,
};
use orderflow_domain::testing::sample_created;
use orderflow_domain::{OrderLine, OrderLines, Quantity};
use tokio::sync::{Barrier, Notify};

use super::*;
use crate::context::Cause;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn sku() -> Result<Sku, Box<dyn std::error::Error>> {
    Ok(Sku::parse("SKU-1")?)
}

/// An inventory service over a fresh store in which SKU-1 has `available` units.
async fn inventory_with(available: u64) -> Result<InventoryService, Box<dyn std::error::Error>> {
    let store = Arc::new(InMemoryEventStore::default());
    let codec = Arc::new(
        EventCodec::new(Arc::new(InMemoryRegistry::default()))
            .await?
            .with_keys(Arc::new(orderflow_core::keys::InMemoryKeyStore::default())),
    );
    let recorder = Recorder::new(store, codec);
    let level: Event = StockLevelSet {
        sku: sku()?,
        available,
    }
    .into();
    recorder
        .append(
            &streams::sku(&sku()?),
            ExpectedVersion::NoStream,
            &[level],
            cause(),
        )
        .await?;
    Ok(InventoryService::new(recorder))
}

fn cause() -> Cause<'static> {
    Cause {
        causation_id: None,
        actor: "test",
        now: Utc::now(),
    }
}

fn delivery() -> Delivery {
    Delivery {
        event_id: None,
        occurred_at: Utc::now(),
        origin: Default::default(),
    }
}

/// `sample_created`, for order `id` and `quantity` units of SKU-1.
fn created(id: &str, quantity: i64) -> Result<Event, Box<dyn std::error::Error>> {
    let Event::OrderCreated(mut e) = sample_created() else {
        return Err("sample_created is an OrderCreated".into());
    };
    e.order_id = OrderId::parse(id)?;
    let price = e.lines.lines().first().ok_or("one line")?.unit_price;
    e.lines = OrderLines::new(vec![OrderLine {
        sku: sku()?,
        quantity: Quantity::new(quantity)?,
        unit_price: price,
    }])?;
    Ok(e.into())
}

fn line(quantity: i64) -> Result<StockLine, Box<dyn std::error::Error>> {
    Ok(StockLine {
        sku: sku()?,
        quantity: Quantity::new(quantity)?,
    })
}

async fn events_of(service: &InventoryService, stream: &str) -> Result<Vec<Event>, ServiceError> {
    let read = service.recorder.read(stream, StreamQuery::all()).await?;
    Ok(read.into_iter().map(|(_, e)| e).collect())
}

async fn reservation_of(
    service: &InventoryService,
    id: &str,
) -> Result<Vec<Event>, Box<dyn std::error::Error>> {
    Ok(events_of(service, &streams::reservation(&OrderId::parse(id)?)).await?)
}

/// The SKU-1 stream's events after its level was set.
async fn sku_changes(service: &InventoryService) -> Result<Vec<Event>, Box<dyn std::error::Error>> {
    let mut all = events_of(service, &streams::sku(&sku()?)).await?;
    all.remove(0);
    Ok(all)
}

#[tokio::test]
async fn a_created_order_reserves_its_lines_from_the_stock() -> TestResult {
    let inventory = inventory_with(5).await?;
    inventory
        .handle(&created("order-1", 2)?, &delivery())
        .await?;
    let order_id = OrderId::parse("order-1")?;
    let reserved = StockReserved {
        order_id: order_id.clone(),
        items: vec![line(2)?],
    };
    assert_eq!(
        reservation_of(&inventory, "order-1").await?,
        vec![reserved.into()]
    );
    let allocated = StockAllocated {
        sku: sku()?,
        order_id,
        quantity: Quantity::new(2)?,
    };
    assert_eq!(sku_changes(&inventory).await?, vec![allocated.into()]);
    Ok(())
}

#[tokio::test]
async fn a_cancelled_order_gives_its_reserved_units_back() -> TestResult {
    let inventory = inventory_with(5).await?;
    inventory
        .handle(&created("order-1", 2)?, &delivery())
        .await?;
    let order_id = OrderId::parse("order-1")?;
    let cancelled = OrderCancelled {
        order_id: order_id.clone(),
        reason: "customer asked".into(),
    };
    inventory.handle(&cancelled.into(), &delivery()).await?;
    let released = StockReleased {
        order_id: order_id.clone(),
        items: vec![line(2)?],
    };
    let reservation = reservation_of(&inventory, "order-1").await?;
    assert_eq!(reservation.last(), Some(&released.into()));
    let deallocated = StockDeallocated {
        sku: sku()?,
        order_id,
        quantity: Quantity::new(2)?,
    };
    assert_eq!(
        sku_changes(&inventory).await?.last(),
        Some(&deallocated.into())
    );
    Ok(())
}

#[tokio::test]
async fn a_shipped_order_lets_its_reserved_units_go() -> TestResult {
    let inventory = inventory_with(5).await?;
    inventory
        .handle(&created("order-1", 2)?, &delivery())
        .await?;
    let order_id = OrderId::parse("order-1")?;
    let shipped = OrderShipped {
        order_id: order_id.clone(),
        tracking_number: "TRK-1".into(),
    };
    inventory.handle(&shipped.into(), &delivery()).await?;
    let fulfilled = StockFulfilled {
        order_id: order_id.clone(),
        items: vec![line(2)?],
    };
    let reservation = reservation_of(&inventory, "order-1").await?;
    assert_eq!(reservation.last(), Some(&fulfilled.into()));
    let gone = StockShipped {
        sku: sku()?,
        order_id,
        quantity: Quantity::new(2)?,
    };
    assert_eq!(sku_changes(&inventory).await?.last(), Some(&gone.into()));
    Ok(())
}

#[tokio::test]
async fn the_service_remembers_each_sku_as_of_the_version_it_last_decided_on() -> TestResult {
    let inventory = inventory_with(5).await?;
    inventory
        .handle(&created("order-1", 1)?, &delivery())
        .await?;
    inventory
        .handle(&created("order-2", 1)?, &delivery())
        .await?;
    inventory
        .handle(&created("order-3", 1)?, &delivery())
        .await?;
    // The third decision read the level and the first two allocations (versions 1-3),
    // each event once.
    let stream = events_of(&inventory, &streams::sku(&sku()?)).await?;
    let seen = SkuStock::from_events(stream.iter().take(3));
    let cached = inventory.skus.lock().await.get(&sku()?).cloned();
    assert_eq!(cached, Some((seen, 3)));
    Ok(())
}

#[tokio::test]
async fn an_order_beyond_the_stock_left_reserves_nothing() -> TestResult {
    let inventory = inventory_with(3).await?;
    inventory
        .handle(&created("order-1", 2)?, &delivery())
        .await?;
    inventory
        .handle(&created("order-2", 2)?, &delivery())
        .await?;
    let reservation = reservation_of(&inventory, "order-2").await?;
    assert!(
        matches!(reservation.as_slice(), [Event::StockUnavailable(_)]),
        "{reservation:?}"
    );
    assert_eq!(
        sku_changes(&inventory).await?.len(),
        1,
        "only order-1's units"
    );
    Ok(())
}

#[tokio::test]
async fn inventory_reads_orders_as_the_inventory_group() -> TestResult {
    let inventory = inventory_with(0).await?;
    assert_eq!(inventory.group().name, "inventory");
    assert_eq!(inventory.group().topic_names(), ["orders"]);
    Ok(())
}

/// The store, with the first read of a SKU's stream held (once done) until let go, and
/// the appends refused for a stale version counted.
#[derive(Debug)]
struct HeldSkuRead {
    inner: InMemoryEventStore,
    sku_stream: String,
    sku_reads: AtomicUsize,
    go: Notify,
    conflicts: AtomicUsize,
}

#[async_trait]
impl EventStore for HeldSkuRead {
    async fn append(&self, requests: Vec<AppendRequest>) -> Result<Vec<Appended>, StoreError> {
        let appended = self.inner.append(requests).await;
        if appended.as_ref().is_err_and(StoreError::is_conflict) {
            self.conflicts.fetch_add(1, Ordering::SeqCst);
        }
        appended
    }

    async fn read_stream(
        &self,
        stream_id: &str,
        query: StreamQuery,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let read = self.inner.read_stream(stream_id, query).await;
        if stream_id == self.sku_stream && self.sku_reads.fetch_add(1, Ordering::SeqCst) == 0 {
            self.go.notified().await;
        }
        read
    }

    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.inner.read_all(after, limit).await
    }

    async fn read_correlated(&self, correlation_id: &str) -> Result<Vec<StoredEvent>, StoreError> {
        self.inner.read_correlated(correlation_id).await
    }

    async fn head_position(&self) -> Result<u64, StoreError> {
        self.inner.head_position().await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_orders_for_the_last_unit_take_turns_and_only_one_reserves_it() -> TestResult {
    let store = Arc::new(HeldSkuRead {
        inner: InMemoryEventStore::default(),
        sku_stream: streams::sku(&sku()?),
        sku_reads: AtomicUsize::new(0),
        go: Notify::new(),
        conflicts: AtomicUsize::new(0),
    });
    let codec = Arc::new(
        EventCodec::new(Arc::new(InMemoryRegistry::default()))
            .await?
            .with_keys(Arc::new(orderflow_core::keys::InMemoryKeyStore::default())),
    );
    let recorder = Recorder::new(store.clone(), codec);
    let level: Event = StockLevelSet {
        sku: sku()?,
        available: 1,
    }
    .into();
    recorder
        .append(
            &store.sku_stream,
            ExpectedVersion::NoStream,
            &[level],
            cause(),
        )
        .await?;
    let inventory = Arc::new(InventoryService::new(recorder));
    let start = Arc::new(Barrier::new(2));
    let mut racers = Vec::new();
    for id in ["order-1", "order-2"] {
        let (inventory, start, order) = (inventory.clone(), start.clone(), created(id, 1)?);
        racers.push(tokio::spawn(async move {
            start.wait().await;
            inventory.handle(&order, &delivery()).await
        }));
    }
    // One order reads the SKU and is held; let it go once the other is queued behind the
    // SKU's lock (the lock's map, the holder and the waiter share it), has read the SKU
    // too, or is done (a racer that never reads the SKU is not waited for).
    loop {
        let sharing = {
            let locks = inventory.locks.lock().map_err(|e| e.to_string())?;
            locks.get(&sku()?).map_or(0, Arc::strong_count)
        };
        let reads = store.sku_reads.load(Ordering::SeqCst);
        let other_moved = sharing >= 3 || reads >= 2 || racers.iter().any(|r| r.is_finished());
        if (reads >= 1 && other_moved) || racers.iter().all(|r| r.is_finished()) {
            break;
        }
        tokio::task::yield_now().await;
    }
    store.go.notify_one();
    for racer in racers {
        racer.await??;
    }
    assert_eq!(store.conflicts.load(Ordering::SeqCst), 0, "they took turns");
    let mut outcomes = Vec::new();
    for id in ["order-1", "order-2"] {
        outcomes.extend(
            reservation_of(&inventory, id)
                .await?
                .iter()
                .map(Event::type_name),
        );
    }
    outcomes.sort_unstable();
    assert_eq!(outcomes, ["StockReserved", "StockUnavailable"]);
    Ok(())
}
