//! The command tree: each subcommand and the settings it takes. The groups of settings
//! commands share live in [`crate::settings`], each command's own arguments beside the
//! command's code.

use clap::{Parser, Subcommand};

use crate::logging::LogFormat;
use crate::service::Service;
use crate::settings::Settings;

#[derive(Debug, Parser)]
#[command(
    name = "orderflow",
    version,
    about = "An event-driven, event-sourced order pipeline"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// How log lines (on stderr) are written: `text` for people, `json` for a log
    /// collector (one object per line). `ORDERFLOW_LOG` sets what is logged (default
    /// `info`; sqlx's own notices at `warn` unless it names `sqlx`).
    #[arg(
        long,
        global = true,
        value_enum,
        env = "ORDERFLOW_LOG_FORMAT",
        default_value_t = LogFormat::Text
    )]
    pub log_format: LogFormat,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every service in one process on the embedded defaults.
    Run(Settings),
    /// Run the chosen services (comma-separated) as one process.
    Serve {
        #[arg(value_delimiter = ',', required = true)]
        services: Vec<Service>,
        #[command(flatten)]
        settings: Settings,
    },
    /// Measure appends and the whole pipeline, each next to a baseline.
    Bench(crate::bench::BenchArgs),
    /// One service of the benchmark's synchronous chain (started by `bench --compare
    /// sync`; not part of the product).
    #[command(hide = true)]
    BenchChain(crate::bench::chain::ChainArgs),
    /// Create or upgrade the event store's tables (PostgreSQL: run the versioned
    /// migrations; services also run them on start).
    Migrate(crate::ops::MigrateArgs),
    /// Schema tools.
    #[command(subcommand)]
    Schema(crate::schema::SchemaCommand),
    /// Kafka topic tools.
    #[command(subcommand)]
    Topics(crate::ops::TopicsCommand),
    /// Customers as data subjects: forget one's personal data.
    #[command(subcommand)]
    Customers(crate::customers::CustomersCommand),
    /// Every consumer group in one line: members, lag in records and seconds, records
    /// parked (`--partitions`: each partition too).
    Consumers(crate::ops::ConsumersArgs),
    /// Is it working? Orders waiting per stage and every group, from a running API.
    Status(crate::ops::StatusArgs),
    /// One order from a running API, and what it is waiting for.
    Order(crate::ops::OrderArgs),
    /// Export the event store's history to an Avro file, or import one into an empty
    /// store (also how to move from SQLite to PostgreSQL).
    #[command(subcommand)]
    Events(crate::events::EventsCommand),
    /// Move a stopped consumer group's offsets so that it replays history.
    Replay(crate::ops::ReplayArgs),
    /// One order's history from the event store, step by step: each event and the state
    /// of the aggregate it changed.
    ReplayOrder(crate::ops::ReplayOrderArgs),
    /// The records set aside on the dead-letter topics: list, show, replay, discard.
    #[command(subcommand)]
    Dlq(crate::ops::DlqCommand),
    /// Read-model tools: make them again beside the live ones without downtime.
    #[command(subcommand)]
    Projections(crate::ops::ProjectionsCommand),
    /// Does this build agree with history? Fold every stream and re-run each recorded
    /// decision; exit non-zero on any disagreement (run it before deploying).
    Verify(crate::ops::VerifyArgs),
}

#[cfg(test)]
mod tests;
