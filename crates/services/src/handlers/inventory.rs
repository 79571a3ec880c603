//! Inventory: reserves an order's lines when it is created (all or none), releases them
//! when it is cancelled, and lets them go from the reserved count when it ships. The
//! reservation and the SKU levels it changes are appended in one atomic multi-stream
//! write, each stream at the version it was read: two orders can never take the same
//! unit, and a conflict just means deciding again.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use orderflow_core::store::{ExpectedVersion, StreamQuery};
use orderflow_domain::inventory::{Reservation, ReservationCommand, SkuStock};
use orderflow_domain::reactions::{ReservationIntent, reservation_intent};
use orderflow_domain::{Aggregate, Event, OrderId, Sku, StockLine, streams};
use tokio::sync::{Mutex, OwnedMutexGuard};

use super::cause_of;
use crate::consumer::{Delivery, Group, Handler, Parked};
use crate::context::{Recorder, ServiceError, StreamAppend, retry_on_conflict};
use orderflow_domain::Topic;

/// The consumer group, and the topics it reads.
pub const GROUP: Group = Group {
    name: "inventory",
    topics: &[Topic::Orders],
};

/// What an event asks of an order's reservation.
#[derive(Debug, Clone, Copy)]
enum Intent<'a> {
    /// Reserve these lines (the order was created).
    Reserve(&'a [StockLine]),
    /// Give the reserved units back (the order was cancelled).
    Release,
    /// The reserved units left with the shipment (the order shipped).
    Fulfil,
}

#[derive(Debug)]
pub struct InventoryService {
    recorder: Recorder,
    /// SKU states read so far, with their versions; caught up before every decision.
    skus: Mutex<HashMap<Sku, (SkuStock, u64)>>,
    /// One lock per SKU: decisions on the same SKU in this process take turns instead of
    /// conflicting (other processes still meet optimistic concurrency).
    locks: std::sync::Mutex<HashMap<Sku, Arc<Mutex<()>>>>,
}

impl InventoryService {
    pub fn new(recorder: Recorder) -> Self {
        Self {
            recorder,
            skus: Mutex::default(),
            locks: std::sync::Mutex::default(),
        }
    }

    /// The current state of each SKU, reading only events newer than the cache.
    async fn stock_of(
        &self,
        lines: &[StockLine],
    ) -> Result<BTreeMap<Sku, (SkuStock, u64)>, ServiceError> {
        let mut out = BTreeMap::new();
        for line in lines {
            if out.contains_key(&line.sku) {
                continue;
            }
            let cached = self
                .skus
                .lock()
                .await
                .get(&line.sku)
                .cloned()
                .unwrap_or_default();
            let (mut state, mut version) = cached;
            let newer = self
                .recorder
                .read(
                    &streams::sku(&line.sku),
                    StreamQuery {
                        after_version: version,
                        ..StreamQuery::all()
                    },
                )
                .await?;
            for (stored, event) in &newer {
                state.apply(event);
                version = stored.version;
            }
            let mut cache = self.skus.lock().await;
            let entry = cache.entry(line.sku.clone()).or_default();
            if entry.1 < version {
                *entry = (state.clone(), version);
            }
            out.insert(line.sku.clone(), (state, version));
        }
        Ok(out)
    }

    /// Takes the locks of these SKUs, in order (so two orders never wait on each other).
    async fn lock(&self, skus: BTreeSet<&Sku>) -> Vec<OwnedMutexGuard<()>> {
        let mutexes: Vec<Arc<Mutex<()>>> = {
            let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
            skus.into_iter()
                .map(|sku| locks.entry(sku.clone()).or_default().clone())
                .collect()
        };
        let mut guards = Vec::with_capacity(mutexes.len());
        for m in mutexes {
            guards.push(m.lock_owned().await);
        }
        guards
    }

    async fn decide_and_record(
        &self,
        order_id: &OrderId,
        intent: Intent<'_>,
        delivery: &Delivery,
    ) -> Result<(), ServiceError> {
        let reservation_stream = streams::reservation(order_id);
        // Releasing or fulfilling needs the reservation before the SKU locks, to know
        // which SKUs to lock; the first attempt decides on that read (the expected
        // version still guards it), and only a retry after a conflict reads again.
        let mut loaded = None;
        let skus: BTreeSet<Sku> = match intent {
            Intent::Reserve(lines) => lines.iter().map(|l| l.sku.clone()).collect(),
            Intent::Release | Intent::Fulfil => {
                let reservation = self
                    .recorder
                    .load::<Reservation>(&reservation_stream)
                    .await?;
                let Reservation::Reserved { items } = &reservation.aggregate else {
                    return Ok(());
                };
                let skus = items.iter().map(|l| l.sku.clone()).collect();
                loaded = Some(reservation);
                skus
            }
        };
        let _turn = self.lock(skus.iter().collect()).await;
        let reservation_stream = &reservation_stream;
        retry_on_conflict(|| {
            let first_read = loaded.take();
            async move {
                let reservation = match first_read {
                    Some(reservation) => reservation,
                    None => {
                        self.recorder
                            .load::<Reservation>(reservation_stream)
                            .await?
                    }
                };
                let (command, touched) = match intent {
                    Intent::Reserve(lines) => {
                        if reservation.aggregate.is_requested() {
                            return Ok(());
                        }
                        let stock = self.stock_of(lines).await?;
                        let versions: Vec<(String, u64)> = stock
                            .iter()
                            .map(|(sku, (_, v))| (streams::sku(sku), *v))
                            .collect();
                        let command = ReservationCommand::Reserve {
                            order_id: order_id.clone(),
                            items: lines.to_vec(),
                            stock: stock.into_iter().map(|(k, (s, _))| (k, s)).collect(),
                        };
                        (command, versions)
                    }
                    Intent::Release | Intent::Fulfil => {
                        let Reservation::Reserved { items } = &reservation.aggregate else {
                            return Ok(());
                        };
                        let stock = self.stock_of(items).await?;
                        let versions = stock
                            .iter()
                            .map(|(sku, (_, v))| (streams::sku(sku), *v))
                            .collect();
                        let order_id = order_id.clone();
                        let command = match intent {
                            Intent::Fulfil => ReservationCommand::Fulfil { order_id },
                            _ => ReservationCommand::Release { order_id },
                        };
                        (command, versions)
                    }
                };
                let events = reservation.aggregate.decide(command)?;
                let mut read = vec![(reservation_stream.clone(), reservation.expected())];
                read.extend(
                    touched
                        .into_iter()
                        .map(|(stream, version)| (stream, ExpectedVersion::after(version))),
                );
                let appends = StreamAppend::split(read, events)?;
                self.recorder
                    .append_all(appends, cause_of(delivery, "inventory"))
                    .await
                    .map(drop)
            }
        })
        .await
    }
}

#[async_trait]
impl Handler for InventoryService {
    fn group(&self) -> Group {
        GROUP
    }

    async fn parked(&self, parked: &Parked<'_>) -> Result<(), ServiceError> {
        super::step_failed::record(&self.recorder, GROUP, parked).await
    }

    async fn handle(&self, event: &Event, delivery: &Delivery) -> Result<(), ServiceError> {
        let Some((order_id, intent)) = reservation_intent(event) else {
            return Ok(());
        };
        let intent = match &intent {
            ReservationIntent::Reserve(lines) => Intent::Reserve(lines),
            ReservationIntent::Release => Intent::Release,
            ReservationIntent::Fulfil => Intent::Fulfil,
        };
        self.decide_and_record(order_id, intent, delivery).await
    }
}

#[cfg(test)]
mod tests;
