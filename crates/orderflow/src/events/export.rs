//! `events export`: the store's events in position order, those chosen, each with its
//! writer schema, into an Avro Object Container File (deflate blocks).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use apache_avro::{Codec, DeflateSettings, Writer};
use orderflow_core::registry::Registry;
use orderflow_core::store::EventStore;

use super::ExportArgs;
use super::file::{Exported, REGISTRY_KEY, RegisteredSchema, SCHEMA};
use crate::wiring;

/// Events read from the store at a time.
const PAGE: usize = 1000;

/// A writer schema and the subject it is registered under.
struct WriterSchema {
    subject: String,
    schema: String,
}

/// Which events an export takes.
#[derive(Debug, Clone, Default)]
pub struct Chosen {
    /// First position (inclusive).
    pub from: u64,
    /// Last position (inclusive); the head when the export starts, by default.
    pub to: Option<u64>,
    pub stream: Option<String>,
    pub event_type: Option<String>,
}

pub async fn export(args: ExportArgs) -> anyhow::Result<()> {
    let (store, registry) = wiring::open_for_reading(&args.data_dir.path, &args.store).await?;
    let chosen = Chosen {
        from: args.from,
        to: args.to,
        stream: args.stream,
        event_type: args.event_type,
    };
    let start = Instant::now();
    let (written, to) = write(store.as_ref(), &registry, &chosen, &args.out).await?;
    let took = start.elapsed();
    out!(
        "exported {written} events (positions {}..={to}) to {} in {:.2} s: {:.0} events/s",
        chosen.from,
        args.out.display(),
        took.as_secs_f64(),
        written as f64 / took.as_secs_f64().max(1e-9)
    );
    Ok(())
}

/// Writes the `chosen` events of `store` to `out`; returns how many, and the last
/// position looked at.
pub async fn write(
    store: &dyn EventStore,
    registry: &Registry,
    chosen: &Chosen,
    out: &Path,
) -> anyhow::Result<(u64, u64)> {
    let to = match chosen.to {
        Some(to) => to,
        None => store.head_position().await?,
    };
    // Written beside the file and renamed at the end: a file at `out` is whole.
    let partial = out.with_extension("partial");
    let file = std::fs::File::create(&partial)
        .with_context(|| format!("cannot create {}", partial.display()))?;
    let mut writer = Writer::with_codec(
        &SCHEMA,
        std::io::BufWriter::new(file),
        Codec::Deflate(DeflateSettings::default()),
    )?;
    let registered = serde_json::to_vec(&registered(registry).await?)?;
    writer.add_user_metadata(REGISTRY_KEY.to_owned(), registered)?;
    let mut schemas: HashMap<u32, WriterSchema> = HashMap::new();
    let (mut written, mut after) = (0u64, chosen.from.saturating_sub(1));
    'pages: while after < to {
        let page = store.read_all(after, PAGE).await?;
        if page.is_empty() {
            break;
        }
        for event in page {
            after = event.position;
            if event.position > to {
                break 'pages;
            }
            let wanted = chosen.stream.as_ref().is_none_or(|s| *s == event.stream_id)
                && chosen
                    .event_type
                    .as_ref()
                    .is_none_or(|t| *t == event.event_type);
            if !wanted {
                continue;
            }
            let id = event.schema_id;
            let schema = match schemas.entry(id) {
                Entry::Occupied(known) => known.into_mut(),
                Entry::Vacant(new) => {
                    new.insert(writer_schema(registry, id, &event.event_type).await?)
                }
            };
            writer.append_value(
                Exported {
                    event,
                    subject: schema.subject.clone(),
                    writer_schema: schema.schema.clone(),
                }
                .to_value(),
            )?;
            written += 1;
        }
    }
    writer.into_inner()?.into_inner()?.sync_all()?;
    std::fs::rename(&partial, out)?;
    Ok((written, to))
}

/// Schema `id` of the store's registry, and the subject it was registered under.
async fn writer_schema(
    registry: &Registry,
    id: u32,
    event_type: &str,
) -> anyhow::Result<WriterSchema> {
    let schema = registry.schema_by_id(id).await.with_context(|| {
        format!("the writer schema {id} of a {event_type} is not in the store's registry")
    })?;
    let subject = registry
        .versions_of_id(id, true)
        .await?
        .into_iter()
        .next()
        .map(|v| v.subject)
        .with_context(|| format!("schema {id} is registered under no subject"))?;
    Ok(WriterSchema {
        subject,
        schema: schema.schema,
    })
}

/// Every live version of every subject of the registry, in id order.
async fn registered(registry: &Registry) -> anyhow::Result<Vec<RegisteredSchema>> {
    let mut all = Vec::new();
    for subject in registry.subjects(false).await? {
        for v in registry.versions(&subject, false).await? {
            all.push(RegisteredSchema {
                id: v.id,
                subject: v.subject,
                version: v.version,
                schema: v.schema,
                references: v
                    .references
                    .into_iter()
                    .map(|r| (r.name, r.subject, r.version))
                    .collect(),
            });
        }
    }
    all.sort_by(|a, b| (a.id, &a.subject, a.version).cmp(&(b.id, &b.subject, b.version)));
    Ok(all)
}
