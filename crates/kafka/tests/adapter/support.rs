//! The test broker.

use orderflow_kafka::{KafkaBus, KafkaConfig};

/// The test broker's URL; a missing broker fails the test, saying how to provide one.
pub fn test_broker() -> String {
    std::env::var("ORDERFLOW_TEST_KAFKA_URL").unwrap_or_else(|_| {
        panic!(
            "ORDERFLOW_TEST_KAFKA_URL is not set: run ./scripts/test, which starts an \
             Apache Kafka cluster (./scripts/kafka up), or point it at one (kafka://host:port)"
        )
    })
}

/// A configuration on the test broker with topics and groups of its own.
pub fn isolated_config() -> KafkaConfig {
    let mut config = KafkaConfig::from_url(&test_broker()).expect("test broker URL");
    config.topics.prefix = format!("t{}-", uuid::Uuid::new_v4().simple());
    config
}

/// A bus on the test broker, on topics of its own.
pub async fn isolated_bus() -> (KafkaBus, ()) {
    let bus = KafkaBus::connect(isolated_config()).await.expect("connect");
    (bus, ())
}
