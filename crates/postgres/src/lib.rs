//! PostgreSQL adapters for running orderflow's services as separate processes on several
//! machines: the event store (with gap-safe global positions), checkpoints, the schema
//! registry's storage and the read models. Migrations are versioned files in `migrations/`, run on
//! connect.

mod read_model;
mod registry;
#[cfg(test)]
mod reopen;
mod store;
#[cfg(test)]
mod test_schema;

pub use read_model::PgReadModel;
pub use registry::PgSchemaStore;
pub use store::{PgEventStore, PoolSettings};
