//! Random schemas through the registry's parser (`normalise`, and apache-avro behind
//! it) and its rules (registration, compatibility checks): JSON values shaped like Avro
//! schemas — records, enums, fixed, arrays, maps, unions, logical types, defaults of
//! every kind, names that refer back to the record being defined, random names and
//! namespaces — and nesting as deep as serde_json reads. Each must be parsed or refused
//! with a `RegistryError`, never panic, never overflow the stack (which aborts the whole
//! process: one registration would take orderflow down) and never run without end.
//!
//! Every call runs on a thread with a 2 MiB stack, the size of a tokio worker's, within
//! a generous time bound. Deterministic: proptest with a fixed RNG seed and a fixed
//! number of cases, no failure persistence (inputs found are kept as named regression
//! tests).
//!
//! # Layout
//!
//! - `support/seeded.rs`: the seed, the runner and the stall bound every fuzz test shares.
//! - `schema_fuzz/calls.rs`: the registry's calls, each on a worker's stack within the bound.
//! - `schema_fuzz/schemas.rs`: JSON values shaped like Avro schemas, and deep nesting.
//! - `schema_fuzz/properties.rs`: random schemas are parsed, registered or refused.
//! - `schema_fuzz/regressions.rs`: checks of large schemas that took too long.

#[path = "schema_fuzz/calls.rs"]
mod calls;
#[path = "schema_fuzz/properties.rs"]
mod properties;
#[path = "schema_fuzz/regressions.rs"]
mod regressions;
#[path = "schema_fuzz/schemas.rs"]
mod schemas;
#[path = "support/seeded.rs"]
mod seeded;

/// Cases per property.
const CASES: u32 = 1_000;
/// How many times a failing input is shrunk at most.
const SHRINK: u32 = 1_000;
