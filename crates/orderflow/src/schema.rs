//! `orderflow schema check`: would the `.avsc` files in a folder break anyone? It checks
//! each against the registered history of its subject under the subject's compatibility
//! level and, with `--against-data`, decodes every event in the store with them. Exits
//! non-zero with an explanation on a break: a command a team puts in its own CI.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use orderflow_core::EventStore;
use orderflow_core::codec::{EventCodec, subject, topic_of_record};
use orderflow_core::registry::{Against, Registry, VersionRef};

use crate::settings::{DataDir, StoreArgs};
use crate::wiring;

#[derive(Debug, Subcommand)]
pub enum SchemaCommand {
    /// Check schema files against the registry (and the stored events).
    ///
    /// The schema registry is read from the event store (`--store`, by default the one
    /// in the data dir). The check only reads: a PostgreSQL database must already have
    /// this build's migrations (`orderflow migrate`).
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The folder of `.avsc` files to check (one per event type, named after it).
    #[arg(long, default_value = "schemas")]
    pub schemas: PathBuf,
    /// Also decode every event in the event store with these schemas.
    #[arg(long)]
    pub against_data: bool,
    #[command(flatten)]
    pub data_dir: DataDir,
    #[command(flatten)]
    pub store: StoreArgs,
}

pub async fn run(command: SchemaCommand) -> anyhow::Result<()> {
    match command {
        SchemaCommand::Check(args) => check(args).await,
    }
}

fn read_schemas(dir: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "avsc") {
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .context("schema file name is not UTF-8")?
                .to_owned();
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            out.push((name, text));
        }
    }
    out.sort();
    Ok(out)
}

async fn check(args: CheckArgs) -> anyhow::Result<()> {
    let (store, registry) = wiring::open_for_reading(&args.data_dir.path, &args.store).await?;
    let registry = Arc::new(registry);
    let schemas = read_schemas(&args.schemas)?;
    let mut breaks = 0;
    for (name, text) in &schemas {
        let Some(topic) = topic_of_record(name) else {
            breaks += 1;
            out!("BREAK  {name}.avsc: {name} is no event type of this build, so it has no topic");
            continue;
        };
        let subject = subject(topic, name);
        let versions = registry
            .versions(&subject, false)
            .await
            .map(|v| v.len())
            .unwrap_or(0);
        let level = registry.level(&subject).await?;
        let messages = match registry
            .incompatibilities(&subject, text, &[], Against::Level)
            .await
        {
            Ok(m) => m,
            Err(e) => vec![e.to_string()],
        };
        if messages.is_empty() {
            let latest = registry
                .version(&subject, VersionRef::Latest, false)
                .await
                .ok();
            let status = match latest {
                None => "new subject".to_owned(),
                Some(_) if registry.lookup(&subject, text, &[], false).await.is_ok() => {
                    "registered".to_owned()
                }
                Some(_) => format!("compatible with {versions} version(s) under {level}"),
            };
            out!("ok     {subject}: {status}");
        } else {
            breaks += 1;
            out!("BREAK  {subject} ({level}, {versions} registered version(s)):");
            for m in messages {
                out!("         {m}");
            }
        }
    }
    if args.against_data {
        breaks += check_data(store.as_ref(), registry, &schemas).await?;
    }
    if breaks > 0 {
        bail!("{breaks} problem(s): these schemas would break existing data or consumers");
    }
    out!("all {} schema(s) are safe to ship", schemas.len());
    Ok(())
}

/// Decodes every stored event with the new reader schemas; returns how many schema ids
/// could not be read.
async fn check_data(
    store: &dyn EventStore,
    registry: Arc<Registry>,
    schemas: &[(String, String)],
) -> anyhow::Result<usize> {
    let codec = EventCodec::reader(registry, schemas)?;
    let mut failures: std::collections::BTreeMap<u32, (usize, String, u64)> = Default::default();
    let (mut position, mut seen) = (0, 0usize);
    loop {
        let events = store
            .read_all(position, 1000)
            .await
            .context("reading the event store")?;
        let Some(last) = events.last() else { break };
        position = last.position;
        for e in &events {
            seen += 1;
            if let Err(err) = codec.decode(e.schema_id, &e.payload).await {
                let entry = failures
                    .entry(e.schema_id)
                    .or_insert((0, err.to_string(), e.position));
                entry.0 += 1;
            }
        }
    }
    for (id, (count, error, first)) in &failures {
        out!(
            "BREAK  stored events written with schema {id}: {count} cannot be read (first at position {first}): {error}"
        );
    }
    if failures.is_empty() {
        out!("ok     all {seen} stored event(s) decode with these schemas");
    }
    Ok(failures.len())
}
