//! Embedded adapters on SQLite, for running orderflow on one machine with no
//! infrastructure: the event store with checkpoints, the partitioned event-bus log with
//! consumer groups, the schema registry's storage, the read models, and the simulated
//! payment provider's ledger. Each lives in its own file under the data dir so that
//! their writers do not contend.

mod bus;
mod db;
mod ledger;
pub mod lineage;
mod read_model;
mod registry;
mod store;

pub use bus::SqliteBus;
pub use ledger::{Call, SimulatedProvider, SimulatedSettings};
pub use read_model::SqliteReadModel;
pub use registry::SqliteSchemaStore;
pub use store::{EVENTS_TABLE, SqliteEventStore};
