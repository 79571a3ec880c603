//! The core of orderflow: the ports every adapter implements (event store, checkpoints,
//! event bus, schema registry, payment provider, mailer, key store), the Avro codec of the event
//! contract, and — behind the `contract` feature — the contract suites every adapter must
//! pass.
//!
//! # Layout
//!
//! - `bus.rs`: the event bus port, shaped after Kafka (topics, partitions, groups); in
//!   `bus/dead_letters.rs`, parked records listed, read, replayed and discarded.
//! - `codec.rs`: Avro encoding of events with registry schema ids; in `codec/`, the
//!   compiled-in `.avsc` files, each type's topic and registry subject, the wire shapes
//!   and their conversions, upcasters, and the Confluent framing used on the bus.
//! - `commit_stats.rs`: what a group-commit writer counts about its own commits.
//! - `contract.rs`: the contract suites every adapter instantiates (`contract` feature).
//! - `idle.rs`: how long a follower that has caught up waits before it looks again.
//! - `keys.rs`: the key-store port of personal data's keys, one or more per data
//!   subject, destroyed by forgetting it (crypto-shredding); `keys/seal.rs` seals a value
//!   under its subject's key (AES-256-GCM) and opens it.
//! - `mail.rs`: the mail port: an email with a stable `Message-ID`, and its errors.
//! - `payment.rs`: the payment-provider port: charge, void, refund under idempotency keys.
//! - `read_model.rs`: the read-model ports: the query side of CQRS (order and stock
//!   summaries, analytics), kept up to date by projections; `read_model/generations.rs`,
//!   a rebuild's next generation beside the live one and the swap.
//! - `registry.rs`: the schema registry, its storage port and compatibility rules.
//! - `store.rs`: the event store and checkpoint ports: the source of truth.
//! - `trace_context.rs`: the W3C `traceparent` an event carries, and its trace id.

pub mod bus;
pub mod codec;
pub mod commit_stats;
#[cfg(any(test, feature = "contract"))]
pub mod contract;
pub mod idle;
pub mod keys;
pub mod mail;
pub mod payment;
pub mod read_model;
pub mod registry;
pub mod store;
pub mod trace_context;

pub use bus::{EventBus, Offset, OutgoingRecord, Record, StartFrom, Subscription};
pub use codec::{EventCodec, frame, unframe};
pub use mail::{Email, MailError, Mailer};
pub use payment::{PaymentProvider, ProviderError};
pub use registry::SchemaRegistry;
pub use store::{
    AppendRequest, Appended, Checkpoints, EventStore, ExpectedVersion, InMemoryEventStore,
    NewEvent, StoreError, StoredEvent, StreamQuery,
};
