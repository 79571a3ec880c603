//! Topic provisioning and checks, watermarks, and group offset resets.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use orderflow_core::bus::{BusError, Offset, StartFrom, Topic, dead_letter_topic};
use rdkafka::Offset as KOffset;
use rdkafka::TopicPartitionList;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;

use crate::config::{KafkaConfig, REQUEST_TIMEOUT};

pub(crate) fn unavailable(e: KafkaError) -> BusError {
    BusError::Unavailable(Box::new(e))
}

/// Runs blocking librdkafka calls off the async runtime.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BusError> + Send + 'static,
) -> Result<T, BusError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| BusError::Unavailable(Box::new(e)))?
}

/// Every topic orderflow uses: the pipeline's and their dead-letter topics.
pub(crate) fn all_topics() -> Vec<String> {
    Topic::ALL
        .iter()
        .flat_map(|t| [t.name().to_owned(), dead_letter_topic(t.name())])
        .collect()
}

/// A topic as the cluster has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicDescription {
    /// Orderflow's name for it (without the prefix).
    pub name: String,
    pub partitions: u32,
    pub replication_factor: u32,
    pub retention_ms: Option<i64>,
}

/// Describes orderflow's topics that exist on the cluster, and counts its brokers.
pub async fn describe_topics(
    config: &KafkaConfig,
) -> Result<(usize, Vec<TopicDescription>), BusError> {
    let meta_client: BaseConsumer = config.admin().create().map_err(unavailable)?;
    let metadata = blocking(move || {
        meta_client
            .fetch_metadata(None, REQUEST_TIMEOUT)
            .map_err(unavailable)
    })
    .await?;
    let brokers = metadata.brokers().len();
    let wanted = all_topics();
    let mut found: Vec<TopicDescription> = metadata
        .topics()
        .iter()
        .filter(|t| t.error().is_none() && !t.partitions().is_empty())
        .filter_map(|t| {
            let name = config.strip(t.name())?;
            wanted.iter().any(|w| w == name).then(|| TopicDescription {
                name: name.to_owned(),
                partitions: t.partitions().len() as u32,
                replication_factor: t.partitions()[0].replicas().len() as u32,
                retention_ms: None,
            })
        })
        .collect();
    if found.is_empty() {
        return Ok((brokers, found));
    }
    let admin: AdminClient<DefaultClientContext> = config.admin().create().map_err(unavailable)?;
    let names: Vec<String> = found.iter().map(|t| config.name(&t.name)).collect();
    let specs: Vec<ResourceSpecifier<'_>> =
        names.iter().map(|n| ResourceSpecifier::Topic(n)).collect();
    let configs = admin
        .describe_configs(&specs, &options())
        .await
        .map_err(unavailable)?;
    for (topic, described) in found.iter_mut().zip(configs) {
        topic.retention_ms = described.ok().and_then(|c| {
            c.get("retention.ms")
                .and_then(|e| e.value.as_deref())
                .and_then(|v| v.parse().ok())
        });
    }
    Ok((brokers, found))
}

fn options() -> AdminOptions {
    AdminOptions::new().request_timeout(Some(REQUEST_TIMEOUT))
}

/// Creates orderflow's missing topics with the configured shape, and checks the ones
/// that exist: a partition count or retention that differs is an error naming the
/// setting, since keys would land on other partitions than the embedded bus puts them
/// on, or history would vanish sooner than planned. Returns the topics created.
pub async fn provision_topics(config: &KafkaConfig) -> Result<Vec<String>, BusError> {
    let settings = &config.topics;
    let (brokers, existing) = describe_topics(config).await?;
    if settings.replication_factor as usize > brokers {
        return Err(BusError::Config(format!(
            "topics need a replication factor of {}, but the cluster has {brokers} broker(s); \
             set ORDERFLOW_TOPIC_REPLICATION_FACTOR (--topic-replication-factor) to {brokers} \
             or fewer, or add brokers",
            settings.replication_factor
        )));
    }
    let retention_ms = settings.retention.as_millis() as i64;
    let mut problems = Vec::new();
    for t in &existing {
        if t.partitions != settings.partitions {
            problems.push(format!(
                "topic {} has {} partitions but {} are configured \
                 (ORDERFLOW_TOPIC_PARTITIONS / --topic-partitions)",
                config.name(&t.name),
                t.partitions,
                settings.partitions
            ));
        }
        if let Some(r) = t.retention_ms.filter(|r| *r != retention_ms) {
            problems.push(format!(
                "topic {} keeps records for retention.ms={r} but {retention_ms} is configured \
                 (ORDERFLOW_TOPIC_RETENTION_HOURS / --topic-retention-hours)",
                config.name(&t.name)
            ));
        }
    }
    if !problems.is_empty() {
        return Err(BusError::Config(problems.join("; ")));
    }
    let absent: Vec<String> = all_topics()
        .into_iter()
        .filter(|name| !existing.iter().any(|t| &t.name == name))
        .collect();
    let missing: Vec<String> = absent.iter().map(|name| config.name(name)).collect();
    if missing.is_empty() {
        return Ok(missing);
    }
    let retention = retention_ms.to_string();
    let new_topics: Vec<NewTopic<'_>> = missing
        .iter()
        .map(|name| {
            NewTopic::new(
                name,
                settings.partitions as i32,
                TopicReplication::Fixed(settings.replication_factor as i32),
            )
            .set("retention.ms", &retention)
        })
        .collect();
    let admin: AdminClient<DefaultClientContext> = config.admin().create().map_err(unavailable)?;
    let results = admin
        .create_topics(&new_topics, &options())
        .await
        .map_err(unavailable)?;
    for result in results {
        match result {
            Ok(_) => {}
            // Another process created it meanwhile.
            Err((_, rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => {
                return Err(BusError::Config(format!("creating topic {name}: {code}")));
            }
        }
    }
    wait_until_led(config, absent, settings.partitions as usize).await?;
    tracing::info!(topics = ?missing, "topics created");
    Ok(missing)
}

/// Waits until every partition of the new `topics` has a leader that answers for it: the
/// brokers learn of a topic a moment after the controller created it, and until then
/// they answer UnknownTopicOrPartition or NotLeaderForPartition.
async fn wait_until_led(
    config: &KafkaConfig,
    topics: Vec<String>,
    partitions: usize,
) -> Result<(), BusError> {
    let client: BaseConsumer = config.admin().create().map_err(unavailable)?;
    let config = config.clone();
    blocking(move || {
        let deadline = Instant::now() + REQUEST_TIMEOUT;
        loop {
            let led = watermarks(&client, &config, &topics);
            match led {
                Ok(marks) if marks.len() == topics.len() * partitions => return Ok(()),
                _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
                Ok(_) => {
                    return Err(BusError::Unavailable(
                        format!("new topics {topics:?} have no leaders after {REQUEST_TIMEOUT:?}")
                            .into(),
                    ));
                }
                Err(e) => return Err(e),
            }
        }
    })
    .await
}

/// Per (topic, partition): the offset where the log starts and where it ends.
pub(crate) type Watermarks = HashMap<(String, i32), (i64, i64)>;

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
pub(crate) fn commit_for(
    config: &KafkaConfig,
    group: &str,
    offsets: &[Offset],
) -> Result<(), BusError> {
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
        let offsets = targets(&client, &config, &topics, to)?;
        commit_for(&config, &group, &offsets)?;
        Ok(offsets)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_topic_of_the_pipeline_is_provisioned_with_its_dead_letter_topic() {
        let provisioned = all_topics();
        for topic in Topic::ALL {
            for name in [topic.name().to_owned(), dead_letter_topic(topic.name())] {
                assert!(provisioned.contains(&name), "{name} in {provisioned:?}");
            }
        }
        assert_eq!(provisioned.len(), 2 * Topic::ALL.len());
    }
}
