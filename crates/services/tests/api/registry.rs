//! The embedded schema registry's REST API, in process: Confluent's routes, codes and
//! shapes, and the compatibility cases of Avro's and Confluent's own test suites run
//! through it at every level.

mod access;
mod api;
mod fuzz;
mod ported;
