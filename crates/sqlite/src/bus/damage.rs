//! Damage: SQLite reporting the bus's file damaged (or not a database at all) is
//! [`BusError::Corrupt`], naming the file, and remembered for
//! [`EventBus::check_integrity`](orderflow_core::bus::EventBus::check_integrity);
//! every other failure may pass ([`BusError::Unavailable`]).

use std::path::Path;

use orderflow_core::bus::BusError;

use super::{Shared, lock};
use crate::db;

/// A failure of the bus's file at `path`: SQLite reporting the file damaged (or not a
/// database at all) is [`BusError::Corrupt`], naming it; anything else may pass.
pub(super) fn classify(path: &Path, e: impl std::error::Error + Send + Sync + 'static) -> BusError {
    let e: Box<dyn std::error::Error + Send + Sync> = Box::new(e);
    match e.downcast_ref::<rusqlite::Error>() {
        Some(sqlite) if db::is_damage(sqlite) => {
            BusError::Corrupt(format!("{} is damaged ({sqlite})", path.display()))
        }
        _ => BusError::Unavailable(e),
    }
}

/// [`classify`], remembering damage, so that `check_integrity` reports it whichever
/// call met it first.
pub(super) fn failed(
    shared: &Shared,
    e: impl std::error::Error + Send + Sync + 'static,
) -> BusError {
    let e = classify(&shared.path, e);
    if let BusError::Corrupt(found) = &e {
        lock(&shared.damaged).get_or_insert_with(|| found.clone());
    }
    e
}
