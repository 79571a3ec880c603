//! PostgreSQL adapters for running orderflow's services as separate processes on several
//! machines: the event store (with gap-safe global positions), checkpoints and the
//! schema registry's storage. Migrations are versioned files in `migrations/`, run on
//! connect.

mod registry;
mod store;

pub use registry::PgSchemaStore;
pub use store::{PgEventStore, PoolSettings};
