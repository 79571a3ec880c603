//! The services of the orderflow pipeline and its HTTP API, written against the ports
//! of `orderflow-core` only (the binary's wiring hands them the adapters): the order
//! process, payment, inventory, shipping, notification and analytics consume the bus;
//! the relay and the projections follow the event store. None of them calls another.
//!
//! # Layout
//!
//! - `consumer.rs`: the loop every bus-driven service runs: poll, decode, handle, commit;
//!   a record failing for now is tried again off its lane, so one failing key holds
//!   back no other.
//! - `context.rs`: what every service is given: the recorder, whose appends state each
//!   stream's expected version, and `execute` (load, decide, append, retry on conflict).
//! - `customers.rs`: forgetting a customer: their keys destroyed, `CustomerForgotten`
//!   recorded.
//! - `dead_letters.rs`: parked records as the API and the CLI show them (decoded where
//!   the registry knows their schema, raw bytes as hex otherwise), and who acts on them.
//! - `handlers.rs`: the bus-driven services, one module each declaring its consumer
//!   group and topics once; `GROUPS` lists them. Analytics keeps its bus offsets with
//!   its counts, and moves its group to them before joining (`analytics/position.rs`).
//! - `http.rs`: the HTTP API: commands append events, queries read the read models.
//! - `metrics.rs`: what the services record as metrics (their names and labels), the
//!   HTTP middleware that counts requests, and the sampler of lag.
//! - `pipeline.rs`: what the pipeline is doing: each step's responsible group, the
//!   groups' status (kept for 5 s), and what one order is waiting for.
//! - `projections.rs`: the order and stock read models, built from the event store.
//! - `rebuild.rs`: read models made again from the first event beside the live ones,
//!   then swapped in (`orderflow projections rebuild`, `POST /projections/rebuild`).
//! - `replay.rs`: one order's history step by step, each event with the state of the
//!   aggregate it changed (`orderflow replay-order`).
//! - `verify.rs`: does today's code agree with history? Folds every stream and re-runs
//!   each recorded decision (`orderflow verify`).
//! - `relay.rs`: publishes the event store to the bus in global order, checkpointed.
//! - `trace.rs`: the trace context of the work at hand (request or record), stamped on
//!   the events it appends.

pub mod consumer;
pub mod context;
pub mod customers;
pub mod dead_letters;
pub mod handlers;
pub mod http;
pub mod metrics;
pub mod pipeline;
pub mod projections;
pub mod rebuild;
pub mod relay;
pub mod replay;
pub mod trace;
pub mod verify;
