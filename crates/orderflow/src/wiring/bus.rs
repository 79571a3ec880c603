//! The event bus `--bus` names: the embedded log in the data dir, or Kafka.

#[cfg(feature = "kafka")]
use anyhow::Context;
#[cfg(not(feature = "kafka"))]
use anyhow::bail;
use orderflow_core::bus::EventBus;
use orderflow_sqlite::SqliteBus;
use std::path::Path;
use std::sync::Arc;

#[cfg(feature = "kafka")]
use crate::settings::KafkaArgs;
use crate::settings::{BusArgs, BusKind};

/// The Kafka client settings: the URL, the properties file, `ORDERFLOW_KAFKA_*`
/// variables, and the topic shape.
#[cfg(feature = "kafka")]
pub fn kafka_config(
    settings: &KafkaArgs,
    url: &str,
) -> anyhow::Result<orderflow_kafka::KafkaConfig> {
    let mut config = orderflow_kafka::KafkaConfig::from_url(url)?;
    if let Some(path) = &settings.kafka_properties {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the Kafka properties file {}", path.display()))?;
        config = config
            .with_properties_file(&text)
            .with_context(|| format!("in {}", path.display()))?;
    }
    config = config.with_env(std::env::vars());
    config.topics = orderflow_kafka::TopicSettings {
        partitions: settings.topic_partitions,
        replication_factor: settings.topic_replication_factor,
        retention: settings.retention(),
        prefix: settings.topic_prefix.clone(),
    };
    Ok(config)
}

/// Opens the event bus `--bus` names. On Kafka, topics are provisioned and checked;
/// a cluster that cannot be reached yet is not fatal (the relay and the consumers retry
/// until it is back), a topic of the wrong shape is.
pub async fn open_bus(data_dir: &Path, bus: &BusArgs) -> anyhow::Result<Arc<dyn EventBus>> {
    match bus.kind(data_dir)? {
        BusKind::Sqlite(path) => Ok(Arc::new(
            SqliteBus::open_with(
                &path,
                orderflow_core::bus::DEFAULT_PARTITIONS,
                bus.kafka.retention(),
            )
            .context("opening the event bus")?,
        )),
        #[cfg(feature = "kafka")]
        BusKind::Kafka(url) => {
            use orderflow_core::bus::BusError;
            use orderflow_kafka::KafkaBus;
            let config = kafka_config(&bus.kafka, &url)?;
            match KafkaBus::connect(config.clone()).await {
                Ok(bus) => Ok(Arc::new(bus)),
                Err(e @ BusError::Unavailable(_)) => {
                    tracing::warn!(error = %e, "Kafka is unreachable; topics not checked, retrying as we go");
                    Ok(Arc::new(KafkaBus::without_provisioning(config)?))
                }
                Err(e) => Err(e).context("provisioning the Kafka topics"),
            }
        }
        #[cfg(not(feature = "kafka"))]
        BusKind::Kafka(url) => bail!(
            "bus URL {url:?}: Kafka support is not compiled into this build of orderflow \
             (build with `--features kafka`)"
        ),
    }
}
