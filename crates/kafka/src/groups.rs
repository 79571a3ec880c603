//! Consumer groups on the cluster: their members (the group coordinators' list), their
//! committed offsets and lag, and the timestamp of each lagging partition's oldest
//! unhandled record.
//!
//! That timestamp is read from the record itself: one reader, assigned to the lagging
//! partitions at the offsets to read, takes one record of each, with prefetching kept
//! to a minimum; partitions it could not read in [`OLDEST_DEADLINE`] are left without
//! one. Nothing is read while no partition lags.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use orderflow_core::bus::{BusError, GroupLag, GroupMember, PartitionLag};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};

use crate::admin::{all_topics, committed, unavailable, watermarks};
use crate::config::{KafkaConfig, REQUEST_TIMEOUT};

/// How long reading the oldest unhandled records may take, over all partitions.
const OLDEST_DEADLINE: Duration = Duration::from_secs(5);

/// A record's place: topic (its name on the cluster), partition, offset.
type Place = (String, i32, i64);

/// See the module doc. Blocking: call on the blocking pool.
pub(crate) fn groups(config: &KafkaConfig, meta: &BaseConsumer) -> Result<Vec<GroupLag>, BusError> {
    let list = meta
        .fetch_group_list(None, REQUEST_TIMEOUT)
        .map_err(unavailable)?;
    let mut members: HashMap<String, Vec<GroupMember>> = HashMap::new();
    for g in list.groups() {
        let Some(name) = config.strip(g.name()).filter(|n| !n.is_empty()) else {
            continue;
        };
        let listed = g.members().iter().map(|m| GroupMember {
            id: m.id().to_owned(),
            client: m.client_id().to_owned(),
            host: m.client_host().to_owned(),
            alive: true,
            last_seen: None,
        });
        members.entry(name.to_owned()).or_default().extend(listed);
    }
    let marks = watermarks(meta, config, &all_topics())?;
    let parts: Vec<(String, i32)> = marks.keys().cloned().collect();
    let mut out = Vec::new();
    for (group, members) in members {
        let done = committed(config, &group, &parts)?;
        let topics: BTreeSet<&String> = done.keys().map(|(t, _)| t).collect();
        let mut partitions: Vec<PartitionLag> = marks
            .iter()
            .filter(|((t, _), _)| topics.contains(t))
            .map(|((topic, p), (low, high))| {
                let committed = done.get(&(topic.clone(), *p)).copied();
                let (low, end) = (*low as u64, *high as u64);
                PartitionLag {
                    topic: topic.clone(),
                    partition: *p as u32,
                    committed,
                    end,
                    lag: end.saturating_sub(committed.unwrap_or(low).max(low)),
                    oldest_unhandled: None,
                }
            })
            .collect();
        partitions.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
        out.push(GroupLag {
            group,
            partitions,
            members,
        });
    }
    out.sort_by(|a, b| a.group.cmp(&b.group));
    stamp_oldest(config, &mut out)?;
    Ok(out)
}

/// Fills in `oldest_unhandled` of every lagging partition that can be read in time.
fn stamp_oldest(config: &KafkaConfig, groups: &mut [GroupLag]) -> Result<(), BusError> {
    // The first unhandled offset of a partition: one past the committed one's gap.
    let mut wanted: BTreeSet<Place> = BTreeSet::new();
    for p in groups.iter().flat_map(|g| &g.partitions) {
        if p.lag > 0 {
            let from = p.end - p.lag;
            wanted.insert((config.name(&p.topic), p.partition as i32, from as i64));
        }
    }
    if wanted.is_empty() {
        return Ok(());
    }
    let found = read_timestamps(config, &wanted)?;
    for g in groups.iter_mut() {
        for p in g.partitions.iter_mut().filter(|p| p.lag > 0) {
            let key = (
                config.name(&p.topic),
                p.partition as i32,
                (p.end - p.lag) as i64,
            );
            p.oldest_unhandled = found.get(&key).copied();
        }
    }
    Ok(())
}

/// The timestamp of the first record at or after each (topic, partition, offset).
fn read_timestamps(
    config: &KafkaConfig,
    wanted: &BTreeSet<Place>,
) -> Result<HashMap<Place, DateTime<Utc>>, BusError> {
    let mut found = HashMap::new();
    // One partition can be wanted at several offsets (one per group): a reader per round.
    let mut rest: Vec<Place> = wanted.iter().cloned().collect();
    let deadline = Instant::now() + OLDEST_DEADLINE;
    while !rest.is_empty() {
        let mut round: HashMap<(String, i32), i64> = HashMap::new();
        let mut later = Vec::new();
        for (topic, partition, offset) in rest {
            match round.entry((topic.clone(), partition)) {
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(offset);
                }
                std::collections::hash_map::Entry::Occupied(_) => {
                    later.push((topic, partition, offset))
                }
            }
        }
        found.extend(read_round(config, round, deadline)?);
        if Instant::now() >= deadline {
            break;
        }
        rest = later;
    }
    Ok(found)
}

/// Reads one record of each partition at its offset, until `deadline`: the timestamp
/// read at each place asked for.
fn read_round(
    config: &KafkaConfig,
    mut round: HashMap<(String, i32), i64>,
    deadline: Instant,
) -> Result<Vec<(Place, DateTime<Utc>)>, BusError> {
    let reader: BaseConsumer = config
        .consumer("lag-oldest-unhandled")
        .set("queued.min.messages", "1")
        .set("queued.max.messages.kbytes", "64")
        .set("fetch.max.bytes", "1048576")
        .set("max.partition.fetch.bytes", "16384")
        .create()
        .map_err(|e| BusError::Config(e.to_string()))?;
    let mut assignment = TopicPartitionList::new();
    for ((topic, partition), offset) in &round {
        assignment
            .add_partition_offset(topic, *partition, Offset::Offset(*offset))
            .map_err(unavailable)?;
    }
    reader.assign(&assignment).map_err(unavailable)?;
    let mut out = Vec::new();
    while !round.is_empty() {
        let Some(wait) = deadline.checked_duration_since(Instant::now()) else {
            tracing::warn!(
                partitions = round.len(),
                "could not read the oldest unhandled record of every lagging partition in \
                 time; their lag in seconds is left out"
            );
            break;
        };
        let Some(message) = reader.poll(wait.min(Duration::from_millis(200))) else {
            continue;
        };
        let message = message.map_err(unavailable)?;
        let key = (message.topic().to_owned(), message.partition());
        let Some(&offset) = round.get(&key) else {
            continue;
        };
        if message.offset() < offset {
            continue;
        }
        round.remove(&key);
        if let Some(at) = message
            .timestamp()
            .to_millis()
            .and_then(DateTime::from_timestamp_millis)
        {
            out.push(((key.0, key.1, offset), at));
        }
    }
    Ok(out)
}
