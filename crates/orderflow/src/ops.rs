//! Operator commands: `migrate`, `topics`, `consumers`, `replay`, `status`, `order`,
//! `replay-order`, `dlq`, `verify` and `projections rebuild`.
//!
//! - `ops/consumers.rs`: `consumers`, the groups at a glance or per partition.
//! - `ops/dlq.rs`: `dlq list | show | replay | discard`, the parked records.
//! - `ops/projections.rs`: `projections rebuild`, read models made again beside the live
//!   ones and swapped in.
//! - `ops/replay_order.rs`: `replay-order ID`, one order's history step by step from the
//!   event store, with the state each event left.
//! - `ops/verify.rs`: `verify`, whether this build agrees with the recorded history.
//! - `ops/status.rs`: `status` and `order ID`, the pipeline and one order as a running
//!   API tells them.

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use clap::{ArgGroup, Args, Subcommand};
use orderflow_core::bus::StartFrom;
use orderflow_services::handlers::{GROUPS, group};

use crate::settings::{BusArgs, DataDir, StoreArgs, StoreKind};
use crate::wiring;

mod consumers;
mod dlq;
mod projections;
mod replay_order;
mod status;
mod verify;

pub use consumers::{ConsumersArgs, consumers};
pub use dlq::{DlqCommand, dlq};
pub use projections::{ProjectionsCommand, projections};
pub use replay_order::{ReplayOrderArgs, replay_order};
pub use status::{OrderArgs, StatusArgs, order, status};
pub use verify::{VerifyArgs, verify};

#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub data_dir: DataDir,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Subcommand)]
pub enum TopicsCommand {
    /// Create the missing topics with the configured partitions, replication factor and
    /// retention, and check the existing ones.
    Create(BusArgs),
    /// Show the topics as the cluster has them.
    Describe(BusArgs),
    /// Delete this deployment's topics (those of `--topic-prefix`) with every record in
    /// them: for tearing down a test or staging deployment on a shared cluster.
    Delete(DeleteTopicsArgs),
}

#[derive(Debug, Args)]
pub struct DeleteTopicsArgs {
    #[command(flatten)]
    pub bus: BusArgs,
    /// Confirms that every record in the topics is to go.
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("start").required(true).args(["from_beginning", "from"])))]
pub struct ReplayArgs {
    /// The consumer group (a service's name, e.g. `analytics`).
    #[arg(long)]
    pub group: String,
    /// Replay everything still retained.
    #[arg(long)]
    pub from_beginning: bool,
    /// Replay from the first record at or after this time (RFC 3339).
    #[arg(long)]
    pub from: Option<DateTime<Utc>>,
    #[command(flatten)]
    pub data_dir: DataDir,
    #[command(flatten)]
    pub bus: BusArgs,
}

/// `orderflow migrate`: brings the store's tables up to date and says what it did.
pub async fn migrate(args: MigrateArgs) -> anyhow::Result<()> {
    match wiring::migrate(&args.data_dir.path, &args.store).await? {
        StoreKind::Postgres(_) => out!("orderflow: PostgreSQL migrations are up to date"),
        StoreKind::Sqlite(path) => out!(
            "orderflow: SQLite tables are up to date in {}",
            path.display()
        ),
    }
    Ok(())
}

/// The Kafka cluster `--bus` names; topics live nowhere else.
#[cfg(feature = "kafka")]
fn kafka_config(bus: &BusArgs) -> anyhow::Result<orderflow_kafka::KafkaConfig> {
    match bus.named()? {
        Some(crate::settings::BusKind::Kafka(url)) => wiring::kafka_config(&bus.kafka, &url),
        _ => bail!(
            "topics are provisioned on Kafka: pass --bus kafka://HOST:PORT (or ORDERFLOW_BUS_URL)"
        ),
    }
}

#[cfg(feature = "kafka")]
pub async fn topics(command: TopicsCommand) -> anyhow::Result<()> {
    match command {
        TopicsCommand::Create(bus) => {
            let config = kafka_config(&bus)?;
            let created = orderflow_kafka::provision_topics(&config).await?;
            for t in &created {
                out!("created {t}");
            }
            out!(
                "topics ready: {} partitions, replication factor {} (min.insync.replicas {}), \
                 retention {} s",
                bus.kafka.topic_partitions,
                bus.kafka.topic_replication_factor,
                orderflow_kafka::min_insync_replicas(bus.kafka.topic_replication_factor),
                bus.kafka.retention().as_secs_f64()
            );
        }
        TopicsCommand::Delete(DeleteTopicsArgs { bus, yes }) => {
            let config = kafka_config(&bus)?;
            if !yes {
                bail!(
                    "this deletes every record in the topics of prefix {:?}; pass --yes to do it",
                    config.topics.prefix
                );
            }
            for t in orderflow_kafka::delete_topics(&config).await? {
                out!("deleted {t}");
            }
        }
        TopicsCommand::Describe(bus) => {
            let config = kafka_config(&bus)?;
            let (brokers, topics) = orderflow_kafka::describe_topics(&config).await?;
            out!("brokers: {brokers}");
            out!(
                "{:<24} {:>10} {:>12} {:>14} {:>10}",
                "TOPIC",
                "PARTITIONS",
                "REPLICATION",
                "RETENTION_MS",
                "MIN_ISR"
            );
            let known = |v: Option<String>| v.unwrap_or_else(|| "?".to_owned());
            for t in topics {
                out!(
                    "{:<24} {:>10} {:>12} {:>14} {:>10}",
                    config.name(&t.name),
                    t.partitions,
                    t.replication_factor,
                    known(t.retention_ms.map(|r| r.to_string())),
                    known(t.min_insync_replicas.map(|r| r.to_string()))
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

pub async fn replay(args: ReplayArgs) -> anyhow::Result<()> {
    let Some(topics) = group(&args.group).map(|g| g.topic_names()) else {
        let known: Vec<&str> = GROUPS.iter().map(|g| g.name).collect();
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
    let bus = wiring::open_bus(&args.data_dir.path, &args.bus).await?;
    let offsets = bus
        .reset_offsets(&args.group, &topics, to)
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
