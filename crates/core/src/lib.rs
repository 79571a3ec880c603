//! The core of orderflow: the ports every adapter implements (event store, checkpoints,
//! event bus, schema registry), the Avro codec of the event contract, and — behind the
//! `contract` feature — the contract suites every adapter must pass.

pub mod bus;
pub mod codec;
pub mod commit_stats;
#[cfg(feature = "contract")]
pub mod contract;
pub mod idle;
pub mod registry;
pub mod store;
pub mod views;

pub use bus::{EventBus, Offset, OutgoingRecord, Record, StartFrom, Subscription};
pub use codec::{EventCodec, frame, unframe};
pub use registry::SchemaRegistry;
pub use store::{
    AppendRequest, Appended, Checkpoints, EventStore, ExpectedVersion, NewEvent, StoreError,
    StoredEvent, StreamQuery,
};
