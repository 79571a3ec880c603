//! Operator commands: `topics`, `consumers` and `replay`.

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use orderflow_core::bus::StartFrom;
use orderflow_services::handlers::{SUBSCRIPTIONS, topics_of};

use crate::cli::Settings;
use crate::wiring;

#[derive(Debug, Subcommand)]
pub enum TopicsCommand {
    /// Create the missing topics with the configured partitions, replication factor and
    /// retention, and check the existing ones.
    Create(Settings),
    /// Show the topics as the cluster has them.
    Describe(Settings),
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The consumer group (a service's name, e.g. `analytics`).
    #[arg(long)]
    pub group: String,
    /// Replay everything still retained.
    #[arg(long, conflicts_with = "from", required_unless_present = "from")]
    pub from_beginning: bool,
    /// Replay from the first record at or after this time (RFC 3339).
    #[arg(long)]
    pub from: Option<DateTime<Utc>>,
    #[command(flatten)]
    pub settings: Settings,
}

#[cfg(feature = "kafka")]
fn kafka_url(settings: &Settings) -> anyhow::Result<orderflow_kafka::KafkaConfig> {
    match wiring::bus_kind(&settings.data_dir, settings.bus_url.as_deref())? {
        wiring::BusKind::Kafka(url) => wiring::kafka_config(settings, &url),
        wiring::BusKind::Sqlite(_) => {
            bail!(
                "topics are provisioned on Kafka: pass --bus kafka://HOST:PORT (or ORDERFLOW_BUS_URL)"
            )
        }
    }
}

#[cfg(feature = "kafka")]
pub async fn topics(command: TopicsCommand) -> anyhow::Result<()> {
    match command {
        TopicsCommand::Create(settings) => {
            let config = kafka_url(&settings)?;
            let created = orderflow_kafka::provision_topics(&config).await?;
            for t in &created {
                out!("created {t}");
            }
            out!(
                "topics ready: {} partitions, replication factor {}, retention {} h",
                settings.topic_partitions,
                settings.topic_replication_factor,
                settings.topic_retention_hours
            );
        }
        TopicsCommand::Describe(settings) => {
            let config = kafka_url(&settings)?;
            let (brokers, topics) = orderflow_kafka::describe_topics(&config).await?;
            out!("brokers: {brokers}");
            out!(
                "{:<24} {:>10} {:>12} {:>14}",
                "TOPIC",
                "PARTITIONS",
                "REPLICATION",
                "RETENTION_MS"
            );
            for t in topics {
                let retention = t.retention_ms.map_or("?".to_owned(), |r| r.to_string());
                out!(
                    "{:<24} {:>10} {:>12} {:>14}",
                    config.name(&t.name),
                    t.partitions,
                    t.replication_factor,
                    retention
                );
            }
        }
    }
    Ok(())
}

#[cfg(not(feature = "kafka"))]
pub async fn topics(_: TopicsCommand) -> anyhow::Result<()> {
    bail!(
        "Kafka support is not compiled into this build of orderflow (build with `--features kafka`)"
    )
}

pub async fn consumers(settings: &Settings) -> anyhow::Result<()> {
    let bus = wiring::open_bus(settings).await?;
    let groups = bus.groups().await.context("listing the consumer groups")?;
    out!(
        "{:<14} {:<16} {:>9} {:>10} {:>10} {:>8}",
        "GROUP",
        "TOPIC",
        "PARTITION",
        "COMMITTED",
        "END",
        "LAG"
    );
    for g in groups {
        for p in &g.partitions {
            let committed = p.committed.map_or("-".to_owned(), |c| c.to_string());
            out!(
                "{:<14} {:<16} {:>9} {:>10} {:>10} {:>8}",
                g.group,
                p.topic,
                p.partition,
                committed,
                p.end,
                p.lag
            );
        }
        out!("{:<14} total lag {}", g.group, g.total_lag());
    }
    Ok(())
}

pub async fn replay(args: ReplayArgs) -> anyhow::Result<()> {
    let Some(topics) = topics_of(&args.group) else {
        let known: Vec<&str> = SUBSCRIPTIONS.iter().map(|(g, _)| *g).collect();
        bail!(
            "unknown consumer group {:?}: one of {}",
            args.group,
            known.join(", ")
        );
    };
    let to = match args.from {
        Some(at) => StartFrom::Timestamp(at),
        None => StartFrom::Earliest,
    };
    let bus = wiring::open_bus(&args.settings).await?;
    let offsets = bus
        .reset_offsets(&args.group, topics, to)
        .await
        .with_context(|| format!("resetting the offsets of group {}", args.group))?;
    let moved = offsets.iter().filter(|o| o.offset > 0).count();
    out!(
        "group {} reset on {} ({} partitions, {} past offset 0); it replays from there when it starts",
        args.group,
        topics.join(", "),
        offsets.len(),
        moved
    );
    Ok(())
}
