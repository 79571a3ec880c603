//! `orderflow events export` and `events import`: the event store's history as an Avro
//! Object Container File, and back into an empty store, every event as it was recorded
//! (position, version, ids, both times, trace context) with its writer schema. Any
//! Avro tool reads the file (Python's `fastavro`, `avro-tools tojson`); it is also how a
//! deployment moves from the embedded SQLite store to PostgreSQL.
//!
//! # Layout
//!
//! - `file`: the file's record schema, and an event to and from one of its records.
//! - `export`: reads the store in position order, filtered, into a file.
//! - `import`: registers the file's writer schemas with the target's registry, then
//!   imports its events in batches, each schema id mapped to the target's.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::settings::{DataDir, StoreArgs};

pub mod export;
mod file;
pub mod import;
pub mod seal;

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Write the store's events (all, or those chosen) to an Avro Object Container File.
    Export(ExportArgs),
    /// Load an exported file into an empty event store (`--store`, or the data dir's).
    Import(ImportArgs),
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The file to write (replaced if it exists).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// The first position to export (inclusive).
    #[arg(long, value_name = "POS", default_value_t = 1)]
    pub from: u64,
    /// The last position to export (inclusive); the head by default.
    #[arg(long, value_name = "POS")]
    pub to: Option<u64>,
    /// Only this stream's events (`order-<id>`, `payment-<id>`, …).
    #[arg(long, value_name = "STREAM")]
    pub stream: Option<String>,
    /// Only events of this type (`OrderCreated`, …).
    #[arg(long = "type", value_name = "TYPE")]
    pub event_type: Option<String>,
    #[command(flatten)]
    pub data_dir: DataDir,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file to read, as `events export` wrote it.
    #[arg(long = "in", value_name = "FILE")]
    pub input: PathBuf,
    /// Seal the personal data that events recorded in the clear (shipping addresses
    /// written before `OrderCreated` v3) under each customer's key, in this store's key
    /// store, so that forgetting the customer erases it: such events are written again
    /// with the current schema, everything else as recorded.
    #[arg(long)]
    pub seal: bool,
    #[command(flatten)]
    pub data_dir: DataDir,
    #[command(flatten)]
    pub store: StoreArgs,
}

pub async fn run(command: EventsCommand) -> anyhow::Result<()> {
    match command {
        EventsCommand::Export(args) => export::export(args).await,
        EventsCommand::Import(args) => import::import(args).await,
    }
}
