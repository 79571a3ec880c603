//! The cluster as an rdkafka client sees it: who leads what, and every record of a
//! deployment's topics read back.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

use crate::support::*;

/// The pipeline's topics, as the relay publishes to them.
const TOPICS: [&str; 5] = [
    "orders",
    "payments",
    "inventory",
    "shipments",
    "notifications",
];

/// A record read back from a topic.
#[derive(Debug)]
pub struct Published {
    /// Orderflow's name for its topic (without the deployment's prefix).
    pub topic: String,
    pub key: String,
    pub event_type: String,
    pub position: u64,
}

/// A broker and what it leads when chosen.
#[derive(Debug, Clone, Copy)]
pub struct Victim {
    pub id: usize,
    pub orders_partitions_led: usize,
    pub groups_coordinated: usize,
}

/// The cluster as an rdkafka client sees it, for the deployment's topics and groups.
pub struct ClusterView {
    bootstrap: String,
    prefix: String,
}

const REQUEST: Duration = Duration::from_secs(10);

impl ClusterView {
    pub fn new(cluster: &Cluster, deployment: &Deployment) -> Res<Self> {
        let prefix = deployment
            .env
            .iter()
            .find(|(k, _)| k == "ORDERFLOW_TOPIC_PREFIX")
            .map(|(_, v)| v.clone())
            .ok_or("the deployment has no topic prefix")?;
        let bootstrap = cluster.url().trim_start_matches("kafka://").to_owned();
        Ok(Self { bootstrap, prefix })
    }

    fn client(&self) -> Res<BaseConsumer> {
        Ok(ClientConfig::new()
            .set("bootstrap.servers", &self.bootstrap)
            .set("group.id", format!("{}audit", self.prefix))
            .set("enable.auto.commit", "false")
            .create()?)
    }

    /// Of the brokers that lead partitions of the orders topic, the one that coordinates
    /// the most groups (a group's coordinator is the leader of its partition of
    /// `__consumer_offsets`).
    pub async fn victim(&self, groups: &[&str]) -> Res<Victim> {
        let client = self.client()?;
        let prefix = self.prefix.clone();
        let groups: Vec<String> = groups.iter().map(|g| format!("{prefix}{g}")).collect();
        tokio::task::spawn_blocking(move || {
            let meta = client.fetch_metadata(None, REQUEST)?;
            let leaders = |topic: &str| -> Res<Vec<i32>> {
                let t = meta
                    .topics()
                    .iter()
                    .find(|t| t.name() == topic)
                    .ok_or_else(|| format!("no topic {topic}"))?;
                let mut by_partition: Vec<(i32, i32)> = t
                    .partitions()
                    .iter()
                    .map(|p| (p.id(), p.leader()))
                    .collect();
                by_partition.sort();
                Ok(by_partition.into_iter().map(|(_, leader)| leader).collect())
            };
            let orders = leaders(&format!("{prefix}orders"))?;
            let offsets = leaders("__consumer_offsets")?;
            let coordinators: Vec<i32> = groups
                .iter()
                .map(|g| offsets[offsets_partition(g, offsets.len())])
                .collect();
            meta.brokers()
                .iter()
                .map(|b| Victim {
                    id: b.id() as usize,
                    orders_partitions_led: orders.iter().filter(|l| **l == b.id()).count(),
                    groups_coordinated: coordinators.iter().filter(|c| **c == b.id()).count(),
                })
                .filter(|v| v.orders_partitions_led > 0)
                .max_by_key(|v| (v.groups_coordinated, v.orders_partitions_led))
                .ok_or_else(|| "no broker leads a partition of the orders topic".into())
        })
        .await?
    }

    /// Every record of the deployment's topics, each partition read from its beginning
    /// to its end as it is now.
    pub async fn read_topics(&self) -> Res<Vec<Published>> {
        let client = self.client()?;
        let prefix = self.prefix.clone();
        tokio::task::spawn_blocking(move || {
            let mut ends = HashMap::new();
            let mut assignment = TopicPartitionList::new();
            for topic in TOPICS {
                let name = format!("{prefix}{topic}");
                let meta = client.fetch_metadata(Some(&name), REQUEST)?;
                for p in meta.topics().iter().flat_map(|t| t.partitions()) {
                    let (low, high) = client.fetch_watermarks(&name, p.id(), REQUEST)?;
                    assert_eq!(low, 0, "{name}/{}: records were removed", p.id());
                    if high > 0 {
                        assignment.add_partition_offset(&name, p.id(), Offset::Beginning)?;
                        ends.insert((name.clone(), p.id()), high);
                    }
                }
            }
            client.assign(&assignment)?;
            let deadline = Instant::now() + PATIENCE;
            let mut out = Vec::new();
            while !ends.is_empty() {
                if Instant::now() > deadline {
                    return Err(format!("partitions not read to their end: {ends:?}").into());
                }
                let Some(m) = client.poll(Duration::from_millis(200)) else {
                    continue;
                };
                let m = m?;
                let at = (m.topic().to_owned(), m.partition());
                let Some(&end) = ends.get(&at) else { continue };
                if m.offset() >= end {
                    continue;
                }
                if m.offset() + 1 == end {
                    ends.remove(&at);
                }
                let header = |name: &str| {
                    m.headers()
                        .and_then(|hs| hs.iter().find(|h| h.key == name))
                        .and_then(|h| h.value)
                        .map(|v| String::from_utf8_lossy(v).into_owned())
                        .unwrap_or_default()
                };
                out.push(Published {
                    topic: m.topic().trim_start_matches(&prefix).to_owned(),
                    key: String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned(),
                    event_type: header("event-type"),
                    position: header("position").parse()?,
                });
            }
            Ok(out)
        })
        .await?
    }
}

/// Kafka's `Utils.abs(group.hashCode()) % partitions`: the partition of
/// `__consumer_offsets` whose leader coordinates a group.
fn offsets_partition(group: &str, partitions: usize) -> usize {
    let hash = group
        .encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)));
    let abs = if hash == i32::MIN { 0 } else { hash.abs() };
    abs as usize % partitions
}
