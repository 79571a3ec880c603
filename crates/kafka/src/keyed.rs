//! Reading a (small) topic back from its partitions' starts, within [`READ_DEADLINE`]:
//! the records of one key (its partition by Kafka's murmur2 partitioner, over the
//! topic's partitions on the cluster), or every record. Meant for the dead-letter
//! topics.

use std::time::{Duration, Instant};

use chrono::DateTime;
use orderflow_core::bus::{BusError, Record, partition_for};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use rdkafka::{Message, Offset, TopicPartitionList};

use crate::admin::{unavailable, watermarks};
use crate::config::KafkaConfig;

/// How long reading a topic may take.
const READ_DEADLINE: Duration = Duration::from_secs(5);

/// See the module doc. Blocking: call on the blocking pool.
pub(crate) fn records_of_key(
    config: &KafkaConfig,
    meta: &BaseConsumer,
    topic: &str,
    key: &str,
    max: usize,
) -> Result<Vec<Record>, BusError> {
    let marks = watermarks(meta, config, &[topic.to_owned()])?;
    if marks.is_empty() {
        return Ok(vec![]);
    }
    let partition = partition_for(key.as_bytes(), marks.len() as u32) as i32;
    let Some(&(low, high)) = marks.get(&(topic.to_owned(), partition)) else {
        return Ok(vec![]);
    };
    let mut read = Read::new(config, topic, max)?;
    read.partition(partition, low, high, Some(key))?;
    Ok(read.out)
}

/// Every record of `topic`, partition by partition, at most `max`. Blocking.
pub(crate) fn records(
    config: &KafkaConfig,
    meta: &BaseConsumer,
    topic: &str,
    max: usize,
) -> Result<Vec<Record>, BusError> {
    let mut marks: Vec<(i32, (i64, i64))> = watermarks(meta, config, &[topic.to_owned()])?
        .into_iter()
        .map(|((_, p), m)| (p, m))
        .collect();
    marks.sort();
    let mut read = Read::new(config, topic, max)?;
    for (partition, (low, high)) in marks {
        read.partition(partition, low, high, None)?;
    }
    Ok(read.out)
}

/// A read of one topic, within one deadline.
struct Read<'a> {
    config: &'a KafkaConfig,
    topic: &'a str,
    max: usize,
    deadline: Instant,
    out: Vec<Record>,
}

impl<'a> Read<'a> {
    fn new(config: &'a KafkaConfig, topic: &'a str, max: usize) -> Result<Self, BusError> {
        Ok(Self {
            config,
            topic,
            max,
            deadline: Instant::now() + READ_DEADLINE,
            out: Vec::new(),
        })
    }

    /// The records of `partition` from `low` to `high` (of `key` only, if given).
    fn partition(
        &mut self,
        partition: i32,
        low: i64,
        high: i64,
        key: Option<&str>,
    ) -> Result<(), BusError> {
        if low >= high || self.out.len() >= self.max {
            return Ok(());
        }
        let reader: BaseConsumer = self
            .config
            .consumer("read-back")
            .create()
            .map_err(|e| BusError::Config(e.to_string()))?;
        let mut assignment = TopicPartitionList::new();
        assignment
            .add_partition_offset(
                &self.config.name(self.topic),
                partition,
                Offset::Offset(low),
            )
            .map_err(unavailable)?;
        reader.assign(&assignment).map_err(unavailable)?;
        let mut next = low;
        while next < high && self.out.len() < self.max {
            let Some(wait) = self.deadline.checked_duration_since(Instant::now()) else {
                tracing::warn!(
                    topic = self.topic,
                    partition,
                    read = next - low,
                    of = high - low,
                    "could not read a partition to its end in time"
                );
                break;
            };
            let Some(message) = reader.poll(wait.min(Duration::from_millis(200))) else {
                continue;
            };
            let m = message.map_err(unavailable)?;
            next = m.offset() + 1;
            if key.is_some_and(|k| m.key() != Some(k.as_bytes())) {
                continue;
            }
            let headers = m
                .headers()
                .map(|hs| {
                    hs.iter()
                        .map(|h| (h.key.to_owned(), h.value.unwrap_or_default().to_vec()))
                        .collect()
                })
                .unwrap_or_default();
            self.out.push(Record {
                topic: self.topic.to_owned(),
                partition: partition as u32,
                offset: m.offset() as u64,
                key: String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned(),
                value: m.payload().unwrap_or_default().to_vec(),
                headers,
                timestamp: m
                    .timestamp()
                    .to_millis()
                    .and_then(DateTime::from_timestamp_millis)
                    .unwrap_or_default(),
            });
        }
        Ok(())
    }
}
