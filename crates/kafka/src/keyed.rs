//! The records of one key on a topic: the key's partition (Kafka's murmur2 partitioner,
//! over the topic's partitions on the cluster) read from its start, within
//! [`READ_DEADLINE`]. Meant for small topics such as the dead-letter topics.

use std::time::{Duration, Instant};

use chrono::DateTime;
use orderflow_core::bus::{BusError, Record, partition_for};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use rdkafka::{Message, Offset, TopicPartitionList};

use crate::admin::{unavailable, watermarks};
use crate::config::KafkaConfig;

/// How long reading a key's partition may take.
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
    if low >= high {
        return Ok(vec![]);
    }
    let name = config.name(topic);
    let reader: BaseConsumer = config
        .consumer("records-of-key")
        .create()
        .map_err(|e| BusError::Config(e.to_string()))?;
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(&name, partition, Offset::Offset(low))
        .map_err(unavailable)?;
    reader.assign(&assignment).map_err(unavailable)?;
    let deadline = Instant::now() + READ_DEADLINE;
    let mut out = Vec::new();
    let mut next = low;
    while next < high && out.len() < max {
        let Some(wait) = deadline.checked_duration_since(Instant::now()) else {
            tracing::warn!(
                topic,
                partition,
                read = next - low,
                of = high - low,
                "could not read a key's partition to its end in time"
            );
            break;
        };
        let Some(message) = reader.poll(wait.min(Duration::from_millis(200))) else {
            continue;
        };
        let m = message.map_err(unavailable)?;
        next = m.offset() + 1;
        if m.key() != Some(key.as_bytes()) {
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
        out.push(Record {
            topic: topic.to_owned(),
            partition: partition as u32,
            offset: m.offset() as u64,
            key: key.to_owned(),
            value: m.payload().unwrap_or_default().to_vec(),
            headers,
            timestamp: m
                .timestamp()
                .to_millis()
                .and_then(DateTime::from_timestamp_millis)
                .unwrap_or_default(),
        });
    }
    Ok(out)
}
