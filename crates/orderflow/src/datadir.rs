//! A data dir that knows itself. The event store is the truth; the bus and the read
//! models (analytics included) are copies made from it, each stamped with the identity
//! of the store it was made from. Before anything opens them, on the embedded defaults:
//!
//! - every file passes SQLite's `quick_check`, or orderflow refuses to start, naming it;
//! - a store that is missing or empty beside copies that hold data is refused (they were
//!   made from a store that is gone): restore it, or start with
//!   `--discard-derived-data` to drop the copies and make them again from this store;
//! - copies made from another store, or read models ahead of the store, are dropped and
//!   made again (the relay publishes the store to a new bus; projections and analytics
//!   start over; analytics' offsets live with its counts in the read models, so it
//!   moves its group back to them itself, on any bus);
//! - a bus that holds events the store does not (the store restored from an older
//!   backup) is made again, and so are the read models: analytics counted from it.
//!
//! PostgreSQL keeps the store and its read models in one database, so none of this
//! applies there.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use orderflow_core::bus::EventBus;
use orderflow_sqlite::{SqliteBus, lineage};

use crate::settings::{BusKind, Settings, StoreKind};

const READ_TABLES: &[&str] = &["order_views", "stock_views", "analytics_order_status"];
/// Only published records count: a service that subscribed before anything was stored
/// leaves its group's offsets in an otherwise empty bus.
const BUS_TABLES: &[&str] = &["records"];

/// A derived file and what it holds.
struct Copy {
    what: &'static str,
    path: PathBuf,
    tables: &'static [&'static str],
}

fn remove(path: &Path) -> anyhow::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        match std::fs::remove_file(&file) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("cannot remove {}", file.display()));
            }
            _ => {}
        }
    }
    Ok(())
}

fn integrity(path: &Path) -> anyhow::Result<()> {
    if !path.exists() {
        return Ok(());
    }
    lineage::quick_check(path).map_err(|found| {
        anyhow::anyhow!(
            "{} is damaged (SQLite's quick_check: {found}); restore it from a backup{}",
            path.display(),
            if path.ends_with("events.db") {
                ""
            } else {
                ", or delete it: it is made again from the event store"
            }
        )
    })
}

/// Checks the data dir before the services open it; see the module doc.
pub async fn check(settings: &Settings) -> anyhow::Result<()> {
    check_with(settings, |events| Ok(lineage::store_identity(events)?)).await
}

/// [`check`], reading the store's identity and head with `store_head`.
///
/// Other processes may be running on this data dir while it is checked (a service
/// restarted beside the rest), appending to the store and moving the read models on. So
/// the copies are read *before* the store's head: the store only grows, and a copy is
/// never ahead of the store at any moment, so a copy read first is never ahead of a head
/// read after it. (Read the other way round, read models that moved on in between would
/// look ahead of the store, and be deleted beneath the processes using them.)
async fn check_with(
    settings: &Settings,
    store_head: impl FnOnce(&Path) -> anyhow::Result<(String, u64)>,
) -> anyhow::Result<()> {
    let dir = settings.dir();
    let StoreKind::Sqlite(events) = settings.store_kind()? else {
        return Ok(());
    };
    let mut copies = vec![Copy {
        what: "read models",
        path: dir.join("read.db"),
        tables: READ_TABLES,
    }];
    let bus_path = match settings.bus_kind()? {
        BusKind::Sqlite(path) => Some(path),
        BusKind::Kafka(_) => None,
    };
    if let Some(path) = &bus_path {
        copies.push(Copy {
            what: "bus",
            path: path.clone(),
            tables: BUS_TABLES,
        });
    }
    // Before the checks open it: opening a 0-byte file makes it a database.
    let store_is = match std::fs::metadata(&events) {
        Err(_) => "missing",
        Ok(m) if m.len() == 0 => "empty (0 bytes)",
        Ok(_) => "empty",
    };
    for path in std::iter::once(&events).chain(copies.iter().map(|c| &c.path)) {
        integrity(path)?;
    }
    let mut found = Vec::with_capacity(copies.len());
    for copy in &copies {
        found.push(lineage::derived(&copy.path, copy.tables)?);
    }
    let published = match &bus_path {
        Some(path) if path.exists() => SqliteBus::open(path)
            .context("opening the event bus")?
            .published_up_to()
            .await
            .context("reading how far the event bus goes")?,
        _ => None,
    };
    let (store, head) = store_head(&events)
        .with_context(|| format!("reading the event store {}", events.display()))?;
    for (copy, found) in copies.iter().zip(found) {
        let Some(found) = found else {
            continue;
        };
        if head == 0 && found.has_data {
            if !settings.discard_derived_data {
                bail!(
                    "the event store {} is {} but {} ({}) holds data made from an event store: \
                     the store it was made from is gone. Restore {} from a backup, or start \
                     with --discard-derived-data to delete the bus and read models and make \
                     them again from this store (what they held is then lost)",
                    events.display(),
                    store_is,
                    copy.path.display(),
                    copy.what,
                    events.display()
                );
            }
            tracing::warn!(file = %copy.path.display(), "discarding derived data, as asked");
        } else if found.store.as_ref().is_some_and(|s| *s != store) {
            tracing::warn!(file = %copy.path.display(), "made from another event store: making it again");
        } else if found.position.is_some_and(|p| p > head) {
            tracing::warn!(file = %copy.path.display(), head, "ahead of the event store (restored from an older backup?): making it again");
        } else {
            continue;
        }
        remove(&copy.path)?;
    }
    if let (Some(path), Some(published)) = (&bus_path, published)
        && published > head
    {
        tracing::warn!(file = %path.display(), head, published,
            "holds events the event store does not (restored from an older backup?): making it again, and the read models with analytics counted from it");
        remove(path)?;
        remove(&copies[0].path)?;
    }
    for copy in &copies {
        lineage::stamp(&copy.path, &store)
            .with_context(|| format!("stamping {}", copy.path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
