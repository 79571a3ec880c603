//! How to reach a cluster and what the topics should look like.

use std::collections::BTreeMap;
use std::time::Duration;

use orderflow_core::bus::{BusError, DEFAULT_PARTITIONS, DEFAULT_RETENTION};
use rdkafka::ClientConfig;

/// The shape every topic orderflow provisions should have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSettings {
    pub partitions: u32,
    pub replication_factor: u32,
    pub retention: Duration,
    /// Put before every topic and group name, so several deployments (or test runs)
    /// can share one cluster.
    pub prefix: String,
}

impl Default for TopicSettings {
    fn default() -> Self {
        Self {
            partitions: DEFAULT_PARTITIONS,
            replication_factor: 3,
            retention: DEFAULT_RETENTION,
            prefix: String::new(),
        }
    }
}

/// A cluster's address, the librdkafka properties passed through, and the topic shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaConfig {
    pub bootstrap_servers: String,
    /// librdkafka properties (`security.protocol`, `sasl.mechanism`, `linger.ms`, ...),
    /// applied over orderflow's defaults.
    pub properties: BTreeMap<String, String>,
    pub topics: TopicSettings,
}

/// Prefixes of librdkafka properties only producers use.
const PRODUCER_ONLY: &[&str] = &[
    "acks",
    "request.required.acks",
    "enable.idempotence",
    "partitioner",
    "linger.ms",
    "queue.buffering.",
    "batch.",
    "compression.",
    "message.timeout.ms",
    "delivery.timeout.ms",
    "retries",
    "message.send.max.retries",
    "enable.gapless.guarantee",
    "sticky.partitioning",
];

/// Prefixes of librdkafka properties only consumers use.
const CONSUMER_ONLY: &[&str] = &[
    "group.",
    "session.timeout.ms",
    "heartbeat.interval.ms",
    "partition.assignment.strategy",
    "max.poll.interval.ms",
    "enable.auto.",
    "auto.commit.",
    "auto.offset.reset",
    "fetch.",
    "queued.",
    "isolation.level",
    "check.crcs",
    "enable.partition.eof",
    "coordinator.query",
];

#[derive(Debug, Clone, Copy)]
enum Role {
    Producer,
    Consumer,
    Admin,
}

/// How long an admin or metadata request may take.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

impl KafkaConfig {
    /// Parses `kafka://host:9092[,host2:9092]`.
    pub fn from_url(url: &str) -> Result<Self, BusError> {
        let servers = url
            .strip_prefix("kafka://")
            .ok_or_else(|| BusError::Config(format!("{url} is not a kafka:// URL")))?
            .trim_end_matches('/');
        if servers.is_empty() || servers.split(',').any(|s| !s.contains(':')) {
            return Err(BusError::Config(format!(
                "{url}: expected kafka://host:port[,host:port...]"
            )));
        }
        Ok(Self {
            bootstrap_servers: servers.to_owned(),
            properties: BTreeMap::new(),
            topics: TopicSettings::default(),
        })
    }

    /// Sets one librdkafka property.
    pub fn set(mut self, key: &str, value: &str) -> Self {
        self.properties.insert(key.to_owned(), value.to_owned());
        self
    }

    /// Properties from the environment: `ORDERFLOW_KAFKA_SASL_MECHANISM=PLAIN` sets
    /// `sasl.mechanism` (lower case, `_` for `.`).
    pub fn with_env(mut self, vars: impl IntoIterator<Item = (String, String)>) -> Self {
        for (name, value) in vars {
            if let Some(key) = name.strip_prefix("ORDERFLOW_KAFKA_") {
                self.properties
                    .insert(key.to_ascii_lowercase().replace('_', "."), value);
            }
        }
        self
    }

    /// Properties from a file of `key=value` lines (`#` starts a comment), the format
    /// of Kafka's own client `.properties` files.
    pub fn with_properties_file(mut self, text: &str) -> Result<Self, BusError> {
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, value) = line.split_once('=').ok_or_else(|| {
                BusError::Config(format!("line {}: expected key=value, got {line:?}", n + 1))
            })?;
            self.properties
                .insert(key.trim().to_owned(), value.trim().to_owned());
        }
        Ok(self)
    }

    /// The name of one of orderflow's topics (or groups) on this cluster.
    pub fn name(&self, topic: &str) -> String {
        format!("{}{topic}", self.topics.prefix)
    }

    /// Orderflow's name for a cluster topic, if it is one of this deployment's.
    pub(crate) fn strip<'a>(&self, topic: &'a str) -> Option<&'a str> {
        topic.strip_prefix(self.topics.prefix.as_str())
    }

    fn base(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.bootstrap_servers);
        c
    }

    /// The passed-through properties a client of `role` uses: librdkafka warns about
    /// (and ignores) producer-only properties on a consumer and the other way round.
    fn apply(&self, mut c: ClientConfig, role: Role) -> ClientConfig {
        for (k, v) in &self.properties {
            let producer_only = PRODUCER_ONLY.iter().any(|p| k.starts_with(p));
            let consumer_only = CONSUMER_ONLY.iter().any(|p| k.starts_with(p));
            let skip = match role {
                Role::Producer => consumer_only,
                Role::Consumer => producer_only,
                Role::Admin => producer_only || consumer_only,
            };
            if !skip {
                c.set(k, v);
            }
        }
        c
    }

    /// An idempotent producer partitioning keys with murmur2, as Kafka's Java client.
    ///
    /// It does not linger (`linger.ms=0`; librdkafka's default is 5): the relay hands
    /// it everything it has read from the store at once and waits for the
    /// acknowledgements before it reads again, so there is nothing more to wait for, and
    /// records queued while a request is in flight are batched anyway. On a local
    /// three-broker Apache Kafka cluster, lingering 5 ms did not lower the brokers' CPU
    /// (0.83 cores at 100 orders/s, against 0.80–0.87 without) nor any latency
    /// (docs/benchmarks.md).
    pub(crate) fn producer(&self) -> ClientConfig {
        let mut c = self.base();
        c.set("enable.idempotence", "true")
            .set("acks", "all")
            .set("partitioner", "murmur2_random")
            .set("linger.ms", "0");
        self.apply(c, Role::Producer)
    }

    /// What a producer of this configuration is given for the librdkafka property
    /// `key`: orderflow's default or what was set over it.
    pub fn producer_property(&self, key: &str) -> Option<String> {
        self.producer().get(key).map(str::to_owned)
    }

    /// A group member that commits by hand.
    ///
    /// `fetch.wait.max.ms` is how long a broker holds a fetch that finds no new record.
    /// Apache Kafka answers a waiting fetch as soon as a record arrives
    /// (`fetch.min.bytes` 1), so the wait adds no latency: it only sets how often an idle
    /// member asks each broker again. 500 ms (librdkafka's and the Java client's
    /// default) instead of 100 cut the CPU an idle pipeline costs a local three-broker
    /// cluster by about a third (docs/benchmarks.md).
    ///
    /// Assignment is cooperative-sticky: when a member joins or leaves, only the
    /// partitions that move are revoked, and the others keep being consumed through the
    /// rebalance (librdkafka's default, `range,roundrobin`, stops every member).
    pub(crate) fn consumer(&self, group: &str) -> ClientConfig {
        let mut c = self.base();
        c.set("group.id", self.name(group))
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("enable.partition.eof", "false")
            .set("fetch.wait.max.ms", "500")
            .set("partition.assignment.strategy", "cooperative-sticky");
        self.apply(c, Role::Consumer)
    }

    /// An admin or metadata client.
    pub(crate) fn admin(&self) -> ClientConfig {
        self.apply(self.base(), Role::Admin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_lists_the_bootstrap_servers() {
        let c = KafkaConfig::from_url("kafka://a:9092,b:9093").unwrap();
        assert_eq!(c.bootstrap_servers, "a:9092,b:9093");
        assert!(KafkaConfig::from_url("kafka://").is_err());
        assert!(KafkaConfig::from_url("kafka://nohost").is_err());
        assert!(KafkaConfig::from_url("sqlite://x").is_err());
    }

    #[test]
    fn environment_variables_become_librdkafka_properties() {
        let c = KafkaConfig::from_url("kafka://a:1").unwrap().with_env([
            (
                "ORDERFLOW_KAFKA_SECURITY_PROTOCOL".into(),
                "SASL_SSL".into(),
            ),
            ("ORDERFLOW_KAFKA_LINGER_MS".into(), "20".into()),
            ("PATH".into(), "/bin".into()),
        ]);
        assert_eq!(c.properties["security.protocol"], "SASL_SSL");
        assert_eq!(c.properties["linger.ms"], "20");
        assert_eq!(c.properties.len(), 2);
        assert_eq!(
            c.producer().get("linger.ms"),
            Some("20"),
            "over the default"
        );
    }

    #[test]
    fn the_producer_does_not_linger_unless_told_to() {
        let c = KafkaConfig::from_url("kafka://a:1").unwrap();
        assert_eq!(c.producer().get("linger.ms"), Some("0"));
    }

    #[test]
    fn consumers_rebalance_cooperatively_unless_told_otherwise() {
        let c = KafkaConfig::from_url("kafka://a:1").unwrap();
        assert_eq!(
            c.consumer("g").get("partition.assignment.strategy"),
            Some("cooperative-sticky")
        );
        let c = c.set("partition.assignment.strategy", "range");
        assert_eq!(
            c.consumer("g").get("partition.assignment.strategy"),
            Some("range")
        );
    }

    #[test]
    fn a_properties_file_sets_properties_and_names_a_bad_line() {
        let c = KafkaConfig::from_url("kafka://a:1")
            .unwrap()
            .with_properties_file("# cluster\nsasl.mechanism = PLAIN\n\n")
            .unwrap();
        assert_eq!(c.properties["sasl.mechanism"], "PLAIN");
        let err = KafkaConfig::from_url("kafka://a:1")
            .unwrap()
            .with_properties_file("ok=1\nbroken")
            .unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }
}
