//! The orders API's HTTP contract (docs/api.md): what a request must be to be accepted,
//! what an `Idempotency-Key` makes of a retry, errors that name their real culprit, and
//! every member of every answer.

mod failed_steps;
mod failures;
mod fuzz;
mod idempotency;
mod listing;
mod shapes;
mod validation;
pub mod waiting;
