//! The orders API's HTTP contract, in process: what a request must be to be accepted
//! (README "HTTP API"), and what an `Idempotency-Key` makes of a retry.

mod failures;
mod fuzz;
mod idempotency;
mod openapi;
mod shapes;
mod support;
mod validation;
