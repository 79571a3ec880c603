//! Cluster administration: topic provisioning and checks, watermarks, and group offsets.
//!
//! # Layout
//!
//! - `topics`: describing, creating and checking orderflow's topics
//! - `offsets`: watermarks, committed offsets and group offset resets

use orderflow_core::bus::{BusError, Topic, dead_letter_topic};
use rdkafka::admin::AdminOptions;
use rdkafka::error::KafkaError;

use crate::config::REQUEST_TIMEOUT;

mod offsets;
mod topics;

pub(crate) use offsets::{committed, seed_start, watermarks};
pub use offsets::{reset_group, reset_group_to};
pub use topics::{
    TopicDescription, delete_topics, describe_topics, min_insync_replicas, provision_topics,
};

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

pub(crate) fn options() -> AdminOptions {
    AdminOptions::new().request_timeout(Some(REQUEST_TIMEOUT))
}
