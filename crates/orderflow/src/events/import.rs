//! `events import`: an exported file into an empty event store. The file's writer
//! schemas are registered first, in the order of their ids in the exporting registry
//! (the order they were registered there), under their subjects; each event then goes
//! in as recorded, its schema id the target registry's, in batches.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use apache_avro::Reader;
use orderflow_core::keys::KeyStore;
use orderflow_core::registry::{SchemaReference, SchemaRegistry};

use super::ImportArgs;
use super::file::{Exported, REGISTRY_KEY, RegisteredSchema};
use super::seal::Sealer;
use crate::wiring::{self, ImportTarget};

/// Events imported per write.
const BATCH: usize = 1000;

/// The file at `path`, to read its records from the start.
fn open(path: &Path) -> anyhow::Result<Reader<'static, std::io::BufReader<std::fs::File>>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    Reader::new(std::io::BufReader::new(file))
        .with_context(|| format!("{} is not an Avro container file", path.display()))
}

/// The events of a file, one after another.
fn events<R: std::io::Read>(
    reader: Reader<'_, R>,
) -> impl Iterator<Item = anyhow::Result<Exported>> {
    reader.map(|value| Exported::from_value(value?))
}

/// The exporting registry's schemas the file carries (none in a file without them).
fn registered<R: std::io::Read>(reader: &Reader<'_, R>) -> anyhow::Result<Vec<RegisteredSchema>> {
    Ok(match reader.user_metadata().get(REGISTRY_KEY) {
        Some(json) => serde_json::from_slice(json).context("the file's registry is unreadable")?,
        None => Vec::new(),
    })
}

pub async fn import(args: ImportArgs) -> anyhow::Result<()> {
    let target = wiring::open_for_import(&args.data_dir.path, &args.store).await?;
    let start = Instant::now();
    let seal_with = if args.seal {
        Some(wiring::open_keys_for_writing(&args.data_dir.path, &args.store).await?)
    } else {
        None
    };
    let loaded = load(&args.input, &target, seal_with).await?;
    let took = start.elapsed();
    out!(
        "imported {} events ({} writer schemas) from {} in {:.2} s: {:.0} events/s",
        loaded.events,
        loaded.schemas,
        args.input.display(),
        took.as_secs_f64(),
        loaded.events as f64 / took.as_secs_f64().max(1e-9)
    );
    if args.seal {
        out!(
            "sealed the personal data of {} events recorded in the clear",
            loaded.sealed
        );
    }
    Ok(())
}

/// What an import loaded.
pub struct Loaded {
    pub events: u64,
    /// Writer schemas its events used.
    pub schemas: usize,
    /// Events whose personal data it sealed.
    pub sealed: u64,
}

/// Loads the file at `input` into `target`, which must hold no event; with a key store,
/// sealing under it the personal data its events recorded in the clear.
pub async fn load(
    input: &Path,
    target: &ImportTarget,
    seal_with: Option<Arc<dyn KeyStore>>,
) -> anyhow::Result<Loaded> {
    let head = target.store.head_position().await?;
    if head != 0 {
        bail!(
            "the event store is not empty (its head is at position {head}): events are \
             imported into an empty store only"
        );
    }
    // First pass: the registry the file carries, and the writer schemas its events use.
    let reader = open(input)?;
    let registry = registered(&reader)?;
    let mut writers: BTreeMap<u32, (String, String)> = BTreeMap::new();
    for exported in events(reader) {
        let e = exported.with_context(|| format!("reading {}", input.display()))?;
        writers
            .entry(e.event.schema_id)
            .or_insert((e.subject, e.writer_schema));
    }
    // The exporting registry's schemas first, in id order: into an empty registry, each
    // gets the id it had.
    let mut ids = HashMap::new();
    for r in registry {
        let references: Vec<SchemaReference> = r
            .references
            .into_iter()
            .map(|(name, subject, version)| SchemaReference {
                name,
                subject,
                version,
            })
            .collect();
        let id = target
            .registry
            .register_version(&r.subject, &r.schema, &references)
            .await
            .with_context(|| format!("registering version {} of {}", r.version, r.subject))?
            .id;
        ids.insert(r.id, id);
    }
    for (source, (subject, schema)) in &writers {
        if ids.contains_key(source) {
            continue;
        }
        let id = target
            .registry
            .register(subject, schema)
            .await
            .with_context(|| format!("registering the writer schema {source} under {subject}"))?;
        ids.insert(*source, id);
    }
    let sealer = match seal_with {
        Some(keys) => Some(Sealer::new(target.registry.clone(), keys).await?),
        None => None,
    };
    let mut batch = Vec::with_capacity(BATCH);
    let (mut imported, mut sealed) = (0u64, 0u64);
    for exported in events(open(input)?) {
        let mut event = exported?.event;
        event.schema_id = ids[&event.schema_id];
        if let Some(sealer) = &sealer {
            sealed += u64::from(sealer.seal(&mut event).await?);
        }
        batch.push(event);
        if batch.len() == BATCH {
            imported += batch.len() as u64;
            target.import.import(std::mem::take(&mut batch)).await?;
        }
    }
    imported += batch.len() as u64;
    target.import.import(batch).await?;
    Ok(Loaded {
        events: imported,
        schemas: writers.len(),
        sealed,
    })
}
