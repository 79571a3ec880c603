//! The test cluster, and topics of each test's own that go when the test ends.

use orderflow_kafka::{KafkaBus, KafkaConfig};

/// The test cluster's URL; a missing cluster fails the test, saying how to provide one.
pub fn test_broker() -> String {
    std::env::var("ORDERFLOW_TEST_KAFKA_URL").unwrap_or_else(|_| {
        panic!(
            "ORDERFLOW_TEST_KAFKA_URL is not set: run ./scripts/test, which starts an \
             Apache Kafka cluster (./scripts/kafka up), or point it at one (kafka://host:port)"
        )
    })
}

/// A configuration on the test cluster with topics and groups of its own.
pub fn isolated_config() -> KafkaConfig {
    let mut config = KafkaConfig::from_url(&test_broker()).expect("test broker URL");
    config.topics.prefix = format!("t{}-", uuid::Uuid::new_v4().simple());
    config
}

/// Deletes the topics of its configuration when dropped, so the shared cluster does not
/// fill up with the partitions of every test of the run.
pub struct OwnTopics(pub KafkaConfig);

impl Drop for OwnTopics {
    fn drop(&mut self) {
        let config = self.0.clone();
        // Its own runtime on its own thread: the test's runtime may be single-threaded
        // and is busy dropping this.
        let deleting = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            let _ = runtime.block_on(orderflow_kafka::delete_topics(&config));
        });
        let _ = deleting.join();
    }
}

/// A bus on the test cluster, on topics of its own.
pub async fn isolated_bus() -> (KafkaBus, OwnTopics) {
    let config = isolated_config();
    let bus = KafkaBus::connect(config.clone()).await.expect("connect");
    (bus, OwnTopics(config))
}
