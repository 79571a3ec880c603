//! The HTTP API in process (zero-to-production's `spawn_app`): each test spawns the
//! router over a fresh data dir of its own (see `support`) and sends it requests that
//! read as the HTTP calls they are. One test binary, so it is linked once.
//!
//! - `orders`: what a request must be to be accepted, what an `Idempotency-Key` makes
//!   of a retry, errors that name their culprit, and every member of every answer.
//! - `registry`: the embedded schema registry's REST API, Confluent's routes, codes and
//!   shapes, and the compatibility cases of Avro's and Confluent's test suites.
//! - `access`: who may call what, and no request a page could send cross-site.
//! - `dlq`: the parked records: listed, shown, replayed and discarded by an operator.
//! - `forget`: a customer's personal data forgotten; every other fact kept.
//! - `openapi`: the OpenAPI document against the router itself.
//! - `pipeline`: `GET /pipeline`, the orders waiting at each stage and the groups.

mod access;
mod console;
mod dlq;
mod forget;
mod openapi;
mod orders;
mod pipeline;
mod registry;
mod replay;
mod support;
