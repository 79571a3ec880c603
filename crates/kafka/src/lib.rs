//! The Kafka adapter of orderflow's event bus, on librdkafka through the `rdkafka` crate,
//! so it runs on any Kafka-protocol cluster (Apache Kafka, Redpanda, MSK, Confluent
//! Cloud).
//!
//! - Publishing is idempotent (`enable.idempotence`, `acks=all`) and keyed by order id
//!   with Kafka's default murmur2 partitioner, the one the embedded bus uses too, so a
//!   key lands on the same partition number on either bus.
//! - Each service is a consumer group; offsets are committed by hand, only for handled
//!   records, and again when partitions are revoked in a rebalance.
//! - Topics are provisioned on start (with `min.insync.replicas` one below the
//!   replication factor) and checked: a topic whose partition count, replication factor
//!   or retention differs from the configuration is reported, not silently used.
//! - Nothing depends on Kafka transactions.
//!
//! # Layout
//!
//! - `bus.rs`: the bus port on a cluster: publishing, reading a partition, watermarks.
//! - `subscription.rs`: one member of a consumer group (polling, manual commits,
//!   rebalances).
//! - `admin.rs`: topic provisioning and checks (`admin/topics.rs`), watermarks and group
//!   offset resets (`admin/offsets.rs`).
//! - `config.rs`: how to reach a cluster and what the topics should look like.
//! - `groups.rs`: consumer groups: their members, lag, and oldest unhandled records.
//! - `keyed.rs`: reading a (small) topic back, such as a dead-letter topic: the records
//!   of one key, or all.
//! - `published.rs`: how far the relay's records on the cluster reach.
//! - `testing.rs`: for tests on a shared cluster: topics of their own, deleted after.

mod admin;
mod bus;
mod config;
mod groups;
mod keyed;
mod published;
mod subscription;
pub mod testing;

pub use admin::{
    TopicDescription, delete_topics, describe_topics, min_insync_replicas, provision_topics,
    reset_group,
};
pub use bus::KafkaBus;
pub use config::{KafkaConfig, TopicSettings};
