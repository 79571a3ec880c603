//! Watermarks, committed offsets and group offset resets.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use orderflow_core::bus::{BusError, Offset, StartFrom};
use rdkafka::Offset as KOffset;
use rdkafka::TopicPartitionList;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};

use super::{blocking, unavailable};
use crate::config::{KafkaConfig, REQUEST_TIMEOUT};

/// Per (topic, partition): the offset where the log starts and where it ends.
type Watermarks = HashMap<(String, i32), (i64, i64)>;

/// Per partition of `topics`: the offset where the log starts and where it ends.
pub(crate) fn watermarks(
    client: &BaseConsumer,
    config: &KafkaConfig,
    topics: &[String],
) -> Result<Watermarks, BusError> {
    let mut out = HashMap::new();
    for topic in topics {
        let name = config.name(topic);
        let metadata = client
            .fetch_metadata(Some(&name), REQUEST_TIMEOUT)
            .map_err(unavailable)?;
        let Some(t) = metadata.topics().first() else {
            continue;
        };
        for p in t.partitions() {
            let (low, high) = client
                .fetch_watermarks(&name, p.id(), REQUEST_TIMEOUT)
                .map_err(unavailable)?;
            out.insert((topic.clone(), p.id()), (low, high));
        }
    }
    Ok(out)
}

/// Where `start` points in each partition of `topics`.
fn targets(
    client: &BaseConsumer,
    config: &KafkaConfig,
    topics: &[String],
    start: StartFrom,
) -> Result<Vec<Offset>, BusError> {
    let marks = watermarks(client, config, topics)?;
    let mut by_time: HashMap<(String, i32), i64> = HashMap::new();
    if let StartFrom::Timestamp(at) = start {
        by_time = offsets_at(client, config, &marks, at)?;
    }
    let mut out: Vec<Offset> = marks
        .iter()
        .map(|((topic, partition), (low, high))| {
            let offset = match start {
                StartFrom::Earliest => *low,
                StartFrom::Latest => *high,
                StartFrom::Timestamp(_) => {
                    *by_time.get(&(topic.clone(), *partition)).unwrap_or(high)
                }
            };
            Offset {
                topic: topic.clone(),
                partition: *partition as u32,
                offset: offset.max(0) as u64,
            }
        })
        .collect();
    out.sort();
    Ok(out)
}

/// The first offset at or after `at` per partition (`offsets_for_times`); partitions
/// with nothing that recent are left out.
fn offsets_at(
    client: &BaseConsumer,
    config: &KafkaConfig,
    marks: &Watermarks,
    at: DateTime<Utc>,
) -> Result<HashMap<(String, i32), i64>, BusError> {
    let mut tpl = TopicPartitionList::new();
    for (topic, partition) in marks.keys() {
        tpl.add_partition_offset(
            &config.name(topic),
            *partition,
            KOffset::Offset(at.timestamp_millis()),
        )
        .map_err(unavailable)?;
    }
    let found = client
        .offsets_for_times(tpl, REQUEST_TIMEOUT)
        .map_err(unavailable)?;
    Ok(found
        .elements()
        .iter()
        .filter_map(|e| match e.offset() {
            KOffset::Offset(o) => Some(((config.strip(e.topic())?.to_owned(), e.partition()), o)),
            _ => None,
        })
        .collect())
}

/// The offsets `group` committed, per partition of `topics` (absent: none committed).
pub(crate) fn committed(
    config: &KafkaConfig,
    group: &str,
    partitions: &[(String, i32)],
) -> Result<HashMap<(String, i32), u64>, BusError> {
    let member: BaseConsumer = config.consumer(group).create().map_err(unavailable)?;
    let mut tpl = TopicPartitionList::new();
    for (topic, partition) in partitions {
        tpl.add_partition(&config.name(topic), *partition);
    }
    let found = member
        .committed_offsets(tpl, REQUEST_TIMEOUT)
        .map_err(unavailable)?;
    Ok(found
        .elements()
        .iter()
        .filter_map(|e| match e.offset() {
            KOffset::Offset(o) if o >= 0 => Some((
                (config.strip(e.topic())?.to_owned(), e.partition()),
                o as u64,
            )),
            _ => None,
        })
        .collect())
}

/// Commits `offsets` for `group` from outside it (as Kafka's own offset tools do),
/// which the cluster accepts while the group has no active member.
fn commit_for(config: &KafkaConfig, group: &str, offsets: &[Offset]) -> Result<(), BusError> {
    if offsets.is_empty() {
        return Ok(());
    }
    let outsider: BaseConsumer = config.consumer(group).create().map_err(unavailable)?;
    let mut tpl = TopicPartitionList::new();
    for o in offsets {
        tpl.add_partition_offset(
            &config.name(&o.topic),
            o.partition as i32,
            KOffset::Offset(o.offset as i64),
        )
        .map_err(unavailable)?;
    }
    outsider.commit(&tpl, CommitMode::Sync).map_err(unavailable)
}

/// Gives a new group's partitions without a committed offset their start: Kafka's
/// `auto.offset.reset` only knows earliest and latest, and resolves "latest" lazily,
/// after records published meanwhile.
pub(crate) fn seed_start(
    config: &KafkaConfig,
    group: &str,
    topics: &[String],
    start: StartFrom,
) -> Result<(), BusError> {
    if start == StartFrom::Earliest {
        return Ok(());
    }
    let client: BaseConsumer = config.admin().create().map_err(unavailable)?;
    let wanted = targets(&client, config, topics, start)?;
    let parts: Vec<(String, i32)> = wanted
        .iter()
        .map(|o| (o.topic.clone(), o.partition as i32))
        .collect();
    let have = committed(config, group, &parts)?;
    let missing: Vec<Offset> = wanted
        .into_iter()
        .filter(|o| !have.contains_key(&(o.topic.clone(), o.partition as i32)))
        .collect();
    commit_for(config, group, &missing)
}

/// Moves a stopped group's committed offsets on `topics` to `to` (earliest, latest or a
/// time), so it replays from there when it starts again. Refuses while the group has
/// active members, whose commits would undo the reset.
pub async fn reset_group(
    config: &KafkaConfig,
    group: &str,
    topics: &[String],
    to: StartFrom,
) -> Result<Vec<Offset>, BusError> {
    reset(config, group, topics, to, Vec::new()).await
}

/// Like [`reset_group`], to the offsets given (no lower than each log's start); the
/// partitions not among them go to their earliest retained record.
pub async fn reset_group_to(
    config: &KafkaConfig,
    group: &str,
    topics: &[String],
    given: &[Offset],
) -> Result<Vec<Offset>, BusError> {
    reset(config, group, topics, StartFrom::Earliest, given.to_vec()).await
}

async fn reset(
    config: &KafkaConfig,
    group: &str,
    topics: &[String],
    to: StartFrom,
    given: Vec<Offset>,
) -> Result<Vec<Offset>, BusError> {
    let (config, group, topics) = (config.clone(), group.to_owned(), topics.to_vec());
    blocking(move || {
        let client: BaseConsumer = config.admin().create().map_err(unavailable)?;
        let name = config.name(&group);
        let list = client
            .fetch_group_list(Some(&name), REQUEST_TIMEOUT)
            .map_err(unavailable)?;
        if let Some(g) = list.groups().iter().find(|g| g.name() == name)
            && !g.members().is_empty()
        {
            return Err(BusError::GroupActive {
                group: group.clone(),
                reason: format!(
                    "group {group} has {} active member(s); stop them before resetting its offsets",
                    g.members().len()
                ),
            });
        }
        let mut offsets = targets(&client, &config, &topics, to)?;
        for o in &mut offsets {
            if let Some(g) = given
                .iter()
                .find(|g| g.topic == o.topic && g.partition == o.partition)
            {
                // Under `to` (earliest) is where the log starts.
                o.offset = o.offset.max(g.offset);
            }
        }
        commit_for(&config, &group, &offsets)?;
        Ok(offsets)
    })
    .await
}
