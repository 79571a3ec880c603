//! PostgreSQL adapters for running orderflow's services as separate processes on several
//! machines: the event store (with gap-safe global positions), checkpoints, the schema
//! registry's storage and the read models. Migrations are versioned files in
//! `migrations/`, run on connect.
//!
//! # Layout
//!
//! - `keys.rs`: the key store of personal data's keys (`subject_keys`).
//! - `read_model.rs`: the read models: order and stock summaries, analytics; a rebuild's
//!   next generation in a schema beside them (`read_model/generations.rs`).
//! - `registry.rs`: the schema registry's storage.
//! - `store.rs`: the event store and checkpoints, with gap-safe positions;
//!   `store/connect.rs` makes the first connection and says what is wrong when it
//!   fails; `store/group.rs` (+ `group/fast.rs`) is the group commit of appends.
//! - `reopen.rs`, `test_schema.rs` (tests only): reopening a store, and a scratch schema
//!   per test.

mod keys;
mod read_model;
mod registry;
#[cfg(test)]
mod reopen;
mod store;
#[cfg(test)]
mod test_schema;

pub use keys::PgKeyStore;
pub use read_model::{PgGenerations, PgReadModel};
pub use registry::PgSchemaStore;
pub use store::{PgEventStore, PoolSettings};
