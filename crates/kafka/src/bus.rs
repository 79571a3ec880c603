//! The bus port on a Kafka cluster.

use std::sync::Arc;

use async_trait::async_trait;
use futures::future::try_join_all;
use orderflow_core::bus::{
    BusError, EventBus, GroupLag, Offset, OutgoingRecord, Record, RetainedLog, StartFrom,
    Subscription,
};
use rdkafka::consumer::BaseConsumer;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};

use crate::admin::{
    blocking, provision_topics, reset_group, reset_group_to, unavailable, watermarks,
};
use crate::config::KafkaConfig;
use crate::subscription::KafkaSubscription;

/// Orderflow's event bus on a Kafka cluster.
#[derive(Clone)]
pub struct KafkaBus {
    config: Arc<KafkaConfig>,
    producer: FutureProducer,
    meta: Arc<BaseConsumer>,
}

impl std::fmt::Debug for KafkaBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaBus")
            .field("bootstrap_servers", &self.config.bootstrap_servers)
            .field("prefix", &self.config.topics.prefix)
            .finish()
    }
}

impl KafkaBus {
    /// Connects to the cluster and provisions (and checks) the topics.
    pub async fn connect(config: KafkaConfig) -> Result<Self, BusError> {
        provision_topics(&config).await?;
        Self::without_provisioning(config)
    }

    /// Connects without touching the topics (they must exist).
    pub fn without_provisioning(config: KafkaConfig) -> Result<Self, BusError> {
        let producer = config.producer().create().map_err(config_error)?;
        let meta = config.admin().create().map_err(config_error)?;
        Ok(Self {
            config: Arc::new(config),
            producer,
            meta: Arc::new(meta),
        })
    }

    pub fn config(&self) -> &KafkaConfig {
        &self.config
    }
}

/// librdkafka refuses unknown or invalid properties when a client is created.
fn config_error(e: KafkaError) -> BusError {
    BusError::Config(e.to_string())
}

fn queue_full(e: &KafkaError) -> bool {
    matches!(
        e,
        KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull)
    )
}

#[async_trait]
impl EventBus for KafkaBus {
    /// Enqueues the records in order (one key's records keep their order, and the
    /// idempotent producer keeps it through retries), then waits for every broker
    /// acknowledgement (`acks=all`).
    async fn publish(&self, records: Vec<OutgoingRecord>) -> Result<(), BusError> {
        let topics: Vec<String> = records.iter().map(|r| self.config.name(&r.topic)).collect();
        let mut pending = Vec::with_capacity(records.len());
        for (r, topic) in records.iter().zip(&topics) {
            let headers = r.headers.iter().fold(OwnedHeaders::new(), |h, (k, v)| {
                h.insert(Header {
                    key: k,
                    value: Some(v),
                })
            });
            let mut record = FutureRecord::to(topic)
                .key(r.key.as_bytes())
                .payload(&r.value)
                .headers(headers)
                .timestamp(r.timestamp.timestamp_millis());
            loop {
                match self.producer.send_result(record) {
                    Ok(delivery) => {
                        pending.push(delivery);
                        break;
                    }
                    Err((e, back)) if queue_full(&e) => {
                        // Let what is queued drain, then enqueue the rest in order.
                        let queued = std::mem::take(&mut pending);
                        wait_delivered(queued).await?;
                        record = back;
                    }
                    Err((e, _)) => return Err(unavailable(e)),
                }
            }
        }
        wait_delivered(pending).await
    }

    /// Nothing left to do: `publish` returned only once every in-sync replica had the
    /// records (`acks=all`). Like Kafka itself, which leaves fsync to the page cache by
    /// default, that is the cluster's durability: replication, not the disk.
    async fn flush(&self) -> Result<(), BusError> {
        Ok(())
    }

    async fn subscribe(
        &self,
        group: &str,
        topics: &[&str],
        start: StartFrom,
    ) -> Result<Box<dyn Subscription>, BusError> {
        let sub = KafkaSubscription::join(self.config.clone(), group, topics, start).await?;
        Ok(Box::new(sub))
    }

    /// Groups of this deployment (by prefix): their members, and the partitions of the
    /// topics they have committed offsets on (see [`crate::groups`]).
    async fn groups(&self) -> Result<Vec<GroupLag>, BusError> {
        let (config, meta) = (self.config.clone(), self.meta.clone());
        blocking(move || crate::groups::groups(&config, &meta)).await
    }

    /// See [`crate::keyed`].
    async fn records_of_key(
        &self,
        topic: &str,
        key: &str,
        max: usize,
    ) -> Result<Vec<Record>, BusError> {
        let (config, meta) = (self.config.clone(), self.meta.clone());
        let (topic, key) = (topic.to_owned(), key.to_owned());
        blocking(move || crate::keyed::records_of_key(&config, &meta, &topic, &key, max)).await
    }

    /// See [`crate::keyed`].
    async fn records(&self, topic: &str, max: usize) -> Result<Vec<Record>, BusError> {
        let (config, meta, topic) = (self.config.clone(), self.meta.clone(), topic.to_owned());
        blocking(move || crate::keyed::records(&config, &meta, &topic, max)).await
    }

    async fn end_offsets(&self, topic: &str) -> Result<Vec<(u32, u64)>, BusError> {
        let (config, meta, topic) = (self.config.clone(), self.meta.clone(), topic.to_owned());
        blocking(move || {
            let marks = watermarks(&meta, &config, &[topic])?;
            let mut ends: Vec<(u32, u64)> = marks
                .into_iter()
                .filter(|(_, (_, high))| *high > 0)
                .map(|((_, p), (_, high))| (p as u32, high as u64))
                .collect();
            ends.sort();
            Ok(ends)
        })
        .await
    }

    async fn retained(&self, topic: &str) -> Result<RetainedLog, BusError> {
        let (config, meta, topic) = (self.config.clone(), self.meta.clone(), topic.to_owned());
        blocking(move || crate::published::retained(&config, &meta, &topic)).await
    }

    /// The highest `position` among the last records of the pipeline's partitions:
    /// see [`crate::published`].
    async fn published_up_to(&self) -> Result<Option<u64>, BusError> {
        let (config, meta) = (self.config.clone(), self.meta.clone());
        blocking(move || crate::published::published_up_to(&config, &meta)).await
    }

    async fn reset_offsets(
        &self,
        group: &str,
        topics: &[&str],
        to: StartFrom,
    ) -> Result<Vec<Offset>, BusError> {
        let topics: Vec<String> = topics.iter().map(|t| (*t).to_owned()).collect();
        reset_group(&self.config, group, &topics, to).await
    }

    async fn reset_offsets_to(
        &self,
        group: &str,
        topics: &[&str],
        to: &[Offset],
    ) -> Result<Vec<Offset>, BusError> {
        let topics: Vec<String> = topics.iter().map(|t| (*t).to_owned()).collect();
        reset_group_to(&self.config, group, &topics, to).await
    }
}

async fn wait_delivered(pending: Vec<rdkafka::producer::DeliveryFuture>) -> Result<(), BusError> {
    let results = try_join_all(pending)
        .await
        .map_err(|e| BusError::Unavailable(Box::new(e)))?;
    for r in results {
        r.map_err(|(e, _)| unavailable(e))?;
    }
    Ok(())
}
