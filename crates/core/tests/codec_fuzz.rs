//! Random input to the Confluent wire format and the Avro decoder
//! (`EventCodec::decode_framed`): random bytes, frames of random bodies under every
//! registered schema id (current, history, legacy) and unknown ones, and valid encodings
//! of every event type truncated, mutated, spliced with huge length prefixes or padded.
//! Every input must decode to an event or to a `CodecError` (which a consumer parks on
//! the topic's dead-letter queue), never panic, and return within a generous bound.
//!
//! Deterministic: proptest with a fixed RNG seed and a fixed number of cases, no
//! failure persistence (a failure reproduces from the seed; inputs found are kept as
//! named regression tests).
//!
//! # Layout
//!
//! - `support/seeded.rs`: the seed, the runner and the stall bound every fuzz test shares.
//! - `codec_fuzz/fixture.rs`: a codec over a fresh registry, and the property checked.
//! - `codec_fuzz/events.rs`: valid events of every type, and the older shapes' encodings.
//! - `codec_fuzz/damage.rs`: what is done to a valid body (truncation, flips, lengths…).
//! - `codec_fuzz/random_input.rs`: random and damaged input is an event or a `CodecError`.
//! - `codec_fuzz/round_trip.rs`: every event type decodes to itself, whatever its values.
//! - `codec_fuzz/allocation.rs`: regressions: huge declared lengths and counts.
//! - `codec_fuzz/nesting.rs`: regressions: writer schemas nested past a worker's stack.

#[path = "codec_fuzz/allocation.rs"]
mod allocation;
#[path = "codec_fuzz/damage.rs"]
mod damage;
#[path = "codec_fuzz/events.rs"]
mod events;
#[path = "codec_fuzz/fixture.rs"]
mod fixture;
#[path = "codec_fuzz/nesting.rs"]
mod nesting;
#[path = "codec_fuzz/random_input.rs"]
mod random_input;
#[path = "codec_fuzz/round_trip.rs"]
mod round_trip;
#[path = "support/seeded.rs"]
mod seeded;

/// Cases per property.
const CASES: u32 = 1_500;
/// How many times a failing input is shrunk at most.
const SHRINK: u32 = 2_000;
