//! Each test on topics and groups of its own, deleted when it ends.

use orderflow_kafka::KafkaBus;
use orderflow_kafka::testing::{OwnTopics, connect, isolated_config};

/// A bus on the test cluster, on topics of its own.
pub async fn isolated_bus() -> (KafkaBus, OwnTopics) {
    connect(isolated_config('t')).await
}
