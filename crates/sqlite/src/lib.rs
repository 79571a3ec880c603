//! Embedded adapters on SQLite, for running orderflow on one machine with no
//! infrastructure: the event store with checkpoints, the partitioned event-bus log with
//! consumer groups, the schema registry's storage, the read models, and the simulated
//! payment provider's ledger. Each lives in its own file under the data dir so that
//! their writers do not contend.
//!
//! # Layout
//!
//! - `bus.rs`: the event bus: the partitioned log, publishing, offsets; `bus/` holds its
//!   parts (`subscription.rs`, `retention.rs`, `members.rs` for a group's one member,
//!   `offsets.rs`, the in-memory `tail.rs`, `headers.rs`, `read.rs` for reading records
//!   back (a key's, a small topic's), `durability.rs`, and
//!   `damage.rs`: a damaged file is `BusError::Corrupt`, not `Unavailable`).
//! - `db.rs`: opening connections (WAL, synchronous, busy timeout) and the read pool.
//! - `keys.rs`: the key store of personal data's keys, in `keys.db`.
//! - `ledger.rs`: the simulated payment provider and its ledger.
//! - `lineage.rs`: which event store a data dir's derived files were made from.
//! - `read_model.rs`: the read models: order and stock summaries, analytics with its bus
//!   offsets (`read_model/analytics.rs`), and a rebuild's next generation beside them in
//!   `read.db.next` (`read_model/generations.rs`).
//! - `registry.rs`: the schema registry's storage.
//! - `store.rs`: the event store and checkpoints; `store/group.rs` is the group-commit
//!   writer that the store and the read models write through.

mod bus;
mod db;
mod keys;
mod ledger;
pub mod lineage;
mod read_model;
mod registry;
mod store;

pub use bus::SqliteBus;
pub use keys::SqliteKeyStore;
pub use ledger::{Call, SimulatedProvider, SimulatedSettings};
pub use read_model::{SqliteGenerations, SqliteReadModel};
pub use registry::SqliteSchemaStore;
pub use store::{EVENTS_TABLE, SqliteEventStore};
