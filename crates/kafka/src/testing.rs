//! For tests on a shared cluster: a configuration on topics and groups of the test's own,
//! and a guard that deletes those topics when the test ends, so the cluster does not
//! collect the partitions of every test of a run.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use orderflow_core::bus::BusError;

use crate::{KafkaBus, KafkaConfig};

/// How long a test waits for a busy cluster to create its topics.
const CONNECT_PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);

/// The test cluster (`ORDERFLOW_TEST_KAFKA_URL`) under a fresh prefix that starts with
/// `letter`; a missing cluster fails the test, saying how to provide one.
pub fn isolated_config(letter: char) -> KafkaConfig {
    let url = std::env::var("ORDERFLOW_TEST_KAFKA_URL").unwrap_or_else(|_| {
        panic!(
            "ORDERFLOW_TEST_KAFKA_URL is not set: run ./scripts/test, which starts an \
             Apache Kafka cluster (./scripts/kafka up), or point it at one \
             (kafka://host:port[,host:port])"
        )
    });
    let mut config = KafkaConfig::from_url(&url).expect("ORDERFLOW_TEST_KAFKA_URL");
    config.topics.prefix = format!("{letter}{}-", unique());
    config
}

/// A name no other test of this run, or of an earlier run, has taken: the process, the
/// time it started at, and a count within the process.
fn unique() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{:x}{nanos:x}{n}", std::process::id())
}

/// Connects to the test cluster and provisions the topics, retrying while the cluster is
/// unavailable (as orderflow's processes do): on a machine busy with a test run, new
/// topics can take longer than one request's timeout to get their leaders.
pub async fn connect(config: KafkaConfig) -> (KafkaBus, OwnTopics) {
    let deadline = tokio::time::Instant::now() + CONNECT_PATIENCE;
    loop {
        match KafkaBus::connect(config.clone()).await {
            Ok(bus) => return (bus, OwnTopics(config)),
            Err(BusError::Unavailable(e)) if tokio::time::Instant::now() < deadline => {
                tracing::warn!(error = %e, "test cluster unavailable; retrying");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            Err(e) => panic!("connecting to the test cluster: {e}"),
        }
    }
}

/// Deletes the topics of its configuration's prefix when dropped.
#[derive(Debug)]
pub struct OwnTopics(pub KafkaConfig);

impl Drop for OwnTopics {
    fn drop(&mut self) {
        let config = self.0.clone();
        // A runtime of its own on a thread of its own: the test's runtime may be
        // single-threaded, and is busy dropping this.
        let deleting = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            let _ = runtime.block_on(crate::delete_topics(&config));
        });
        let _ = deleting.join();
    }
}
