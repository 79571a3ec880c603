//! Describing, creating and checking orderflow's topics.

use std::time::{Duration, Instant};

use orderflow_core::bus::BusError;
use rdkafka::admin::{AdminClient, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};

use super::{all_topics, blocking, options, unavailable, watermarks};
use crate::config::{KafkaConfig, REQUEST_TIMEOUT};

/// A topic as the cluster has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicDescription {
    /// Orderflow's name for it (without the prefix).
    pub name: String,
    pub partitions: u32,
    pub replication_factor: u32,
    pub retention_ms: Option<i64>,
    pub min_insync_replicas: Option<u32>,
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
                min_insync_replicas: None,
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
        let Ok(described) = described else { continue };
        let value = |key: &str| described.get(key).and_then(|e| e.value.clone());
        topic.retention_ms = value("retention.ms").and_then(|v| v.parse().ok());
        topic.min_insync_replicas = value("min.insync.replicas").and_then(|v| v.parse().ok());
    }
    Ok((brokers, found))
}

/// The `min.insync.replicas` orderflow gives a topic replicated `replication_factor`
/// times: all but one replica, at least one. With the producer's `acks=all`, an
/// acknowledged record is then on every replica but one (two of three by default), and
/// one broker can be down without stopping writes.
pub fn min_insync_replicas(replication_factor: u32) -> u32 {
    replication_factor.saturating_sub(1).max(1)
}

/// Creates orderflow's missing topics with the configured shape, and checks the ones
/// that exist: a partition count, replication factor or retention that differs is an
/// error naming the setting, since keys would land on other partitions than the embedded
/// bus puts them on, records would be on fewer brokers than planned, or history would
/// vanish sooner. An existing topic that accepts writes on fewer in-sync replicas than
/// orderflow would give it is logged as a warning. Returns the topics created.
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
        if t.replication_factor != settings.replication_factor {
            problems.push(format!(
                "topic {} has replication factor {} but {} is configured \
                 (ORDERFLOW_TOPIC_REPLICATION_FACTOR / --topic-replication-factor)",
                config.name(&t.name),
                t.replication_factor,
                settings.replication_factor
            ));
        }
        let durable = min_insync_replicas(t.replication_factor);
        if let Some(isr) = t.min_insync_replicas.filter(|isr| *isr < durable) {
            tracing::warn!(
                topic = config.name(&t.name),
                min_insync_replicas = isr,
                "an acknowledged record may be on fewer brokers than orderflow would \
                 ask for ({durable}); set the topic's min.insync.replicas to {durable}"
            );
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
    let min_insync = min_insync_replicas(settings.replication_factor).to_string();
    let new_topics: Vec<NewTopic<'_>> = missing
        .iter()
        .map(|name| {
            NewTopic::new(
                name,
                settings.partitions as i32,
                TopicReplication::Fixed(settings.replication_factor as i32),
            )
            .set("retention.ms", &retention)
            .set("min.insync.replicas", &min_insync)
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

/// Deletes this deployment's topics (those of its prefix) that exist, with every record
/// in them: for tearing down a test or staging deployment that shares a cluster. Returns
/// the topics deleted, once the cluster no longer lists them.
pub async fn delete_topics(config: &KafkaConfig) -> Result<Vec<String>, BusError> {
    let (_, existing) = describe_topics(config).await?;
    let names: Vec<String> = existing.iter().map(|t| config.name(&t.name)).collect();
    if names.is_empty() {
        return Ok(names);
    }
    let admin: AdminClient<DefaultClientContext> = config.admin().create().map_err(unavailable)?;
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let results = admin
        .delete_topics(&refs, &options())
        .await
        .map_err(unavailable)?;
    for result in results {
        match result {
            Ok(_) | Err((_, rdkafka::types::RDKafkaErrorCode::UnknownTopicOrPartition)) => {}
            Err((name, code)) => {
                return Err(BusError::Config(format!("deleting topic {name}: {code}")));
            }
        }
    }
    // Deletion goes on in the background: the brokers go on listing a topic for a
    // moment. Returns once none does, so that what follows sees them gone.
    let deadline = Instant::now() + REQUEST_TIMEOUT;
    loop {
        let (_, left) = describe_topics(config).await?;
        if left.is_empty() {
            break;
        }
        if Instant::now() >= deadline {
            return Err(BusError::Unavailable(
                format!(
                    "topics {:?} are still listed {REQUEST_TIMEOUT:?} after their deletion",
                    left.iter().map(|t| t.name.as_str()).collect::<Vec<_>>()
                )
                .into(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tracing::info!(topics = ?names, "topics deleted");
    Ok(names)
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

#[cfg(test)]
mod tests {
    use orderflow_core::bus::{Topic, dead_letter_topic};

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

    #[test]
    fn an_acknowledged_record_is_on_all_replicas_but_one() {
        let by_factor: Vec<u32> = (1..=5).map(min_insync_replicas).collect();
        assert_eq!(by_factor, [1, 1, 2, 3, 4]);
    }
}
