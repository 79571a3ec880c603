//! Backfill: a group that starts from the beginning gets every event since the first,
//! even when the bus's retention deleted the oldest records. Before joining, for each
//! partition whose retained records begin past where the group resumes, the events that
//! were on it are read from the event store and handed to the handler, up to the first
//! retained record's store position (the relay publishes in store order, so every
//! earlier event of that partition was before it); the group then reads the bus from
//! there. Handlers are idempotent, so an event both backfilled and still on the bus
//! (published again) has one effect.

use std::collections::HashMap;

use orderflow_core::bus::{BusError, Offset, Record, partition_for};
use orderflow_core::store::EventStore;

use super::park::{Failure, PERMANENT};
use super::{Consumer, Delivery, retry_transient};
use crate::context::ServiceError;
use crate::relay::to_record;

const PAGE: usize = 1000;

/// What a backfill did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Backfilled {
    /// The partitions backfilled, each at the offset its retained records begin.
    pub partitions: Vec<Offset>,
    /// Events handed to the handler.
    pub events: u64,
}

/// A partition to backfill: where its retained records begin, and the store position
/// below which its events are gone from the bus.
struct Gap {
    start: u64,
    below: u64,
}

impl Consumer {
    /// See the module doc. A bus that cannot tell where its records begin is not
    /// backfilled from.
    pub(super) async fn backfill(
        &self,
        store: &dyn EventStore,
    ) -> Result<Backfilled, ServiceError> {
        let group = self.handler.group();
        let resume: HashMap<(String, u32), u64> = match self.handler.resumes_at().await? {
            Some(offsets) => offsets,
            None => self
                .bus
                .groups()
                .await?
                .into_iter()
                .filter(|g| g.group == group.name)
                .flat_map(|g| g.partitions)
                .filter_map(|p| {
                    Some(Offset {
                        topic: p.topic,
                        partition: p.partition,
                        offset: p.committed?,
                    })
                })
                .collect(),
        }
        .into_iter()
        .map(|o| ((o.topic, o.partition), o.offset))
        .collect();
        let head = store.head_position().await?;
        let mut gaps: HashMap<(String, u32), Gap> = HashMap::new();
        let mut partitions = HashMap::new();
        for topic in group.topic_names() {
            let log = match self.bus.retained(topic).await {
                Ok(log) => log,
                Err(BusError::Config(why)) => {
                    tracing::debug!(group = group.name, why, "no backfill");
                    return Ok(Backfilled::default());
                }
                Err(e) => return Err(e.into()),
            };
            partitions.insert(topic.to_owned(), log.partitions);
            for start in log.starts {
                let resumes = resume
                    .get(&(topic.to_owned(), start.partition))
                    .copied()
                    .unwrap_or(0);
                if start.offset > resumes {
                    // No retained record, or one not from the relay: everything the
                    // store holds now may have been on it.
                    let below = start.position.unwrap_or(head + 1);
                    gaps.insert(
                        (topic.to_owned(), start.partition),
                        Gap {
                            start: start.offset,
                            below,
                        },
                    );
                }
            }
        }
        let Some(until) = gaps.values().map(|g| g.below).max() else {
            return Ok(Backfilled::default());
        };
        tracing::info!(
            group = group.name,
            partitions = gaps.len(),
            until,
            "records before retention's cut are gone from the bus: backfilling them from the event store"
        );
        let mut events = 0;
        let mut after = 0;
        'read: while after + 1 < until && !self.stop.is_cancelled() {
            let page = retry_transient(&self.stop, "backfill read", || async {
                Ok(store.read_all(after, PAGE).await?)
            })
            .await?;
            let Some(last) = page.last().map(|e| e.position) else {
                break;
            };
            for stored in &page {
                if stored.position >= until {
                    break 'read;
                }
                // An event this build has no topic for was never published by it.
                let Ok(outgoing) = to_record(stored) else {
                    continue;
                };
                let Some(count) = partitions.get(&outgoing.topic) else {
                    continue;
                };
                let partition = partition_for(outgoing.key.as_bytes(), *count);
                let Some(gap) = gaps.get(&(outgoing.topic.clone(), partition)) else {
                    continue;
                };
                if stored.position >= gap.below {
                    continue;
                }
                let record = Record {
                    topic: outgoing.topic,
                    partition,
                    // Its own offset is gone with it: it stands just before the first
                    // retained record.
                    offset: gap.start,
                    key: outgoing.key,
                    value: outgoing.value,
                    headers: outgoing.headers,
                    timestamp: outgoing.timestamp,
                };
                if !self.backfill_one(record).await? {
                    return Ok(Backfilled::default());
                }
                events += 1;
            }
            after = last;
        }
        let partitions: Vec<Offset> = gaps
            .into_iter()
            .map(|((topic, partition), gap)| Offset {
                topic,
                partition,
                offset: gap.start,
            })
            .collect();
        retry_transient(&self.stop, "backfill done", || {
            self.handler.backfilled(&partitions)
        })
        .await?;
        tracing::info!(group = group.name, events, "backfill done; reading the bus");
        Ok(Backfilled { partitions, events })
    }

    /// Hands one backfilled record's event to the handler, trying again while it fails
    /// for now and setting it aside when it fails for good. False when stopped first.
    async fn backfill_one(&self, record: Record) -> Result<bool, ServiceError> {
        // Personal data stays sealed, as on the bus (see `Handler::handle`).
        let event = match self.codec.decode_framed_sealed(&record.value).await {
            Ok(event) => event,
            Err(e) => return self.park_unreadable(&record, &e.to_string()).await,
        };
        let delivery = Delivery::of(&record);
        let first = chrono::Utc::now();
        match retry_transient(&self.stop, "backfill", || {
            self.handler.backfill(&event, &delivery)
        })
        .await
        {
            Ok(()) => Ok(true),
            Err(_) if self.stop.is_cancelled() => Ok(false),
            Err(e) if e.is_fatal() => Err(e),
            Err(e) => {
                let reason = e.to_string();
                let failure = Failure {
                    group: self.handler.group().name,
                    reason: &reason,
                    kind: PERMANENT,
                    first,
                    last: chrono::Utc::now(),
                    attempts: 1,
                };
                self.park(&record, &event, &delivery, &failure).await
            }
        }
    }
}
