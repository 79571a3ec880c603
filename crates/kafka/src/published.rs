//! Where the relay's records on the cluster begin ([`retained`]), and how far they reach: the `position` header of each
//! partition's last record (the relay publishes in store order, so a partition's last
//! record holds the highest position published to it).
//!
//! The answer is only given when it is certain. A partition that once held records but
//! whose last one cannot be read (retention removed them all) or does not say its
//! position (written by another producer) could hide a higher position, so then the
//! cluster "cannot tell". Topics that never held a record say `Some(0)`: a topic deleted
//! and made again, or a deployment moved onto a new cluster, gets the store published
//! to it again.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use orderflow_core::bus::{BusError, RetainedLog, RetainedStart, Topic};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use rdkafka::{Message, Offset, TopicPartitionList};

use crate::admin::{unavailable, watermarks};
use crate::config::{KafkaConfig, REQUEST_TIMEOUT};

/// The header the relay stamps each record with.
const POSITION: &str = "position";

/// See the module doc. Blocking: call on the blocking pool.
pub(crate) fn published_up_to(
    config: &KafkaConfig,
    meta: &BaseConsumer,
) -> Result<Option<u64>, BusError> {
    let topics: Vec<String> = Topic::ALL.map(|t| t.name().to_owned()).into();
    let mut last = HashMap::new();
    for ((topic, partition), (low, high)) in watermarks(meta, config, &topics)? {
        if high == 0 {
            continue;
        }
        if low >= high {
            // Every record it held is gone (retention): its highest is unknown.
            return Ok(None);
        }
        last.insert((config.name(&topic), partition), high - 1);
    }
    if last.is_empty() {
        return Ok(Some(0));
    }
    let Some(positions) = positions_at(config, "relay-published-up-to", &last)? else {
        tracing::warn!(
            partitions = last.len(),
            "could not read the last record of every partition in time; the relay \
             cannot tell how far the bus reaches"
        );
        return Ok(None);
    };
    let mut highest = 0;
    for position in positions.into_values() {
        match position {
            Some(p) => highest = highest.max(p),
            // Written by someone else: this partition's highest is unknown.
            None => return Ok(None),
        }
    }
    Ok(Some(highest))
}

/// Per partition (by its name on the cluster and its number), a record's position.
type Positions = HashMap<(String, i32), Option<u64>>;

/// The `position` header of the record at each given offset (partitions keyed by their
/// name on the cluster), `None` for a record without one; `None` for all when they could
/// not all be read in time. Blocking.
pub(crate) fn positions_at(
    config: &KafkaConfig,
    client: &str,
    at: &HashMap<(String, i32), i64>,
) -> Result<Option<Positions>, BusError> {
    let mut left = at.clone();
    let mut found = HashMap::new();
    if left.is_empty() {
        return Ok(Some(found));
    }
    let reader: BaseConsumer = config
        .consumer(client)
        .create()
        .map_err(|e| BusError::Config(e.to_string()))?;
    let mut assignment = TopicPartitionList::new();
    for ((topic, partition), offset) in &left {
        assignment
            .add_partition_offset(topic, *partition, Offset::Offset(*offset))
            .map_err(unavailable)?;
    }
    reader.assign(&assignment).map_err(unavailable)?;
    let deadline = Instant::now() + REQUEST_TIMEOUT;
    while !left.is_empty() {
        let Some(wait) = deadline.checked_duration_since(Instant::now()) else {
            return Ok(None);
        };
        let Some(message) = reader.poll(wait.min(Duration::from_millis(200))) else {
            continue;
        };
        let message = message.map_err(unavailable)?;
        let key = (message.topic().to_owned(), message.partition());
        if left.get(&key) != Some(&message.offset()) {
            continue;
        }
        left.remove(&key);
        let position = message.headers().and_then(|headers| {
            headers
                .iter()
                .find(|h| h.key == POSITION)
                .and_then(|h| std::str::from_utf8(h.value?).ok()?.parse::<u64>().ok())
        });
        found.insert(key, position);
    }
    Ok(Some(found))
}

/// Where each partition of `topic` that ever had a record begins now: its low
/// watermark, and the position of the record there. Blocking.
pub(crate) fn retained(
    config: &KafkaConfig,
    meta: &BaseConsumer,
    topic: &str,
) -> Result<RetainedLog, BusError> {
    let marks = watermarks(meta, config, &[topic.to_owned()])?;
    let partitions = marks.len() as u32;
    let mut firsts = HashMap::new();
    for ((_, partition), (low, high)) in &marks {
        if low < high {
            firsts.insert((config.name(topic), *partition), *low);
        }
    }
    let positions = positions_at(config, "retained-starts", &firsts)?.ok_or_else(|| {
        BusError::Unavailable(
            format!(
                "could not read the first retained record of every partition of {topic} in time"
            )
            .into(),
        )
    })?;
    let mut starts: Vec<RetainedStart> = marks
        .iter()
        .filter(|(_, (_, high))| *high > 0)
        .map(|((_, partition), (low, _))| RetainedStart {
            partition: *partition as u32,
            offset: *low as u64,
            position: positions
                .get(&(config.name(topic), *partition))
                .copied()
                .flatten(),
        })
        .collect();
    starts.sort_by_key(|s| s.partition);
    Ok(RetainedLog { partitions, starts })
}
