//! One member of a consumer group.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::FutureExt;
use orderflow_core::bus::{BusError, Offset, Record, StartFrom, Subscription};
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::message::{BorrowedMessage, Headers};
use rdkafka::{ClientContext, Message, Offset as KOffset, TopicPartitionList};

use crate::admin::{blocking, seed_start, unavailable};
use crate::config::KafkaConfig;

/// Remembers the offsets handed to `commit`, to commit them once more when their
/// partitions are revoked (a failed or late commit must not make the next owner
/// handle them again).
///
/// An entry lives only while its partition is owned: it is dropped when the partition
/// is revoked and when it is assigned. A partition that comes back after another member
/// has moved its offset on must not be committed at what this member handled before,
/// which would move the group back and make it handle those records again.
#[derive(Debug, Default)]
pub(crate) struct GroupContext {
    handed: Mutex<HashMap<(String, i32), i64>>,
}

impl GroupContext {
    fn handed(&self) -> std::sync::MutexGuard<'_, HashMap<(String, i32), i64>> {
        self.handed.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Forgets what was handed for `partitions`.
    fn forget(&self, partitions: &TopicPartitionList) {
        let mut handed = self.handed();
        for e in partitions.elements() {
            handed.remove(&(e.topic().to_owned(), e.partition()));
        }
    }
}

impl ClientContext for GroupContext {}

impl ConsumerContext for GroupContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let revoked = match rebalance {
            Rebalance::Assign(assigned) => return self.forget(assigned),
            Rebalance::Revoke(revoked) => revoked,
            Rebalance::Error(_) => return,
        };
        let mut tpl = TopicPartitionList::new();
        {
            let handed = self.handed();
            for e in revoked.elements() {
                if let Some(o) = handed.get(&(e.topic().to_owned(), e.partition())) {
                    let _ = tpl.add_partition_offset(e.topic(), e.partition(), KOffset::Offset(*o));
                }
            }
        }
        // Lost partitions (this member was fenced) may already have a new owner, and
        // the cluster refuses a commit from a member that is no longer in the group.
        if tpl.count() > 0
            && !consumer.assignment_lost()
            && let Err(e) = consumer.commit(&tpl, CommitMode::Sync)
        {
            tracing::warn!(error = %e, "commit on revocation failed");
        }
        self.forget(revoked);
    }
}

/// A member of a group: polls its assigned partitions and commits by hand.
pub struct KafkaSubscription {
    consumer: Arc<StreamConsumer<GroupContext>>,
    config: Arc<KafkaConfig>,
}

impl std::fmt::Debug for KafkaSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSubscription").finish_non_exhaustive()
    }
}

impl KafkaSubscription {
    pub(crate) async fn join(
        config: Arc<KafkaConfig>,
        group: &str,
        topics: &[&str],
        start: StartFrom,
    ) -> Result<Self, BusError> {
        let topics: Vec<String> = topics.iter().map(|t| (*t).to_owned()).collect();
        {
            let (config, group, topics) = (config.clone(), group.to_owned(), topics.clone());
            blocking(move || seed_start(&config, &group, &topics, start)).await?;
        }
        let consumer: StreamConsumer<GroupContext> = config
            .consumer(group)
            .create_with_context(GroupContext::default())
            .map_err(|e| BusError::Config(e.to_string()))?;
        let names: Vec<String> = topics.iter().map(|t| config.name(t)).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        consumer.subscribe(&names).map_err(unavailable)?;
        Ok(Self {
            consumer: Arc::new(consumer),
            config,
        })
    }

    fn record(&self, m: &BorrowedMessage<'_>) -> Record {
        let headers = m
            .headers()
            .map(|hs| {
                hs.iter()
                    .map(|h| (h.key.to_owned(), h.value.unwrap_or_default().to_vec()))
                    .collect()
            })
            .unwrap_or_default();
        let topic = self.config.strip(m.topic()).unwrap_or(m.topic()).to_owned();
        Record {
            topic,
            partition: m.partition() as u32,
            offset: m.offset() as u64,
            key: String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned(),
            value: m.payload().unwrap_or_default().to_vec(),
            headers,
            timestamp: m
                .timestamp()
                .to_millis()
                .and_then(DateTime::<Utc>::from_timestamp_millis)
                .unwrap_or_default(),
        }
    }
}

#[async_trait]
impl Subscription for KafkaSubscription {
    async fn poll(&mut self, max: usize, wait: Duration) -> Result<Vec<Record>, BusError> {
        let first = match tokio::time::timeout(wait, self.consumer.recv()).await {
            Err(_) => return Ok(vec![]),
            Ok(m) => m.map_err(unavailable)?,
        };
        let mut out = vec![self.record(&first)];
        drop(first);
        while out.len() < max {
            match self.consumer.recv().now_or_never() {
                Some(Ok(m)) => out.push(self.record(&m)),
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "consuming");
                    break;
                }
                None => break,
            }
        }
        Ok(out)
    }

    /// Commits the offsets of partitions this member still owns. Those of partitions a
    /// rebalance moved away are dropped: the new owner commits them, and an older offset
    /// from here would only move its group back.
    async fn commit(&mut self, offsets: &[Offset]) -> Result<(), BusError> {
        let owned = self.consumer.assignment().map_err(unavailable)?;
        let mut tpl = TopicPartitionList::new();
        {
            let mut handed = self.consumer.context().handed();
            for o in offsets {
                let topic = self.config.name(&o.topic);
                if owned.find_partition(&topic, o.partition as i32).is_none() {
                    continue;
                }
                tpl.add_partition_offset(
                    &topic,
                    o.partition as i32,
                    KOffset::Offset(o.offset as i64),
                )
                .map_err(unavailable)?;
                handed.insert((topic, o.partition as i32), o.offset as i64);
            }
        }
        if tpl.count() == 0 {
            return Ok(());
        }
        let consumer = self.consumer.clone();
        blocking(move || consumer.commit(&tpl, CommitMode::Sync).map_err(unavailable)).await
    }
}

#[cfg(test)]
mod tests;
