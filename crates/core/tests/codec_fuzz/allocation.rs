//! Regressions: declared lengths and counts that made the decoder allocate what they
//! declared before finding the body short. Capped, they are refused at once.

use std::time::{Duration, Instant};

use crate::damage::varint;
use crate::fixture::Fixture;
use crate::seeded::TestResult;

/// How long a refused record may take at most here: far more than it does.
const QUICK: Duration = Duration::from_millis(500);

/// A 6-byte body declaring a 500 MB string (the first field of `OrderCreated`): apache-
/// avro allocated what was declared (up to its default 512 MiB) before finding the
/// body short. The codec caps what it may allocate at once (`MAX_ALLOCATION_BYTES`), so
/// the record is refused for the length itself.
#[test]
fn a_declared_length_past_the_allocation_cap_is_malformed_without_allocating_it() -> TestResult {
    let fixture = Fixture::new();
    for (id, n) in [
        (
            fixture.codec.schema_id("OrderCreated").unwrap(),
            500i64 << 20,
        ),
        (fixture.v1_id, 500 << 20),
        (fixture.legacy_id, 511 << 20),
    ] {
        let reason = fixture.refused(&fixture.codec, id, &varint(n), &n.to_string())?;
        assert!(reason.contains("Unable to allocate"), "{reason}");
    }
    Ok(())
}

/// A writer schema registered by anyone (the registry is open) whose record is named
/// as an event and holds an array of `null`s: items of zero bytes, so a 4-byte body
/// declaring 8 million of them filled 460 MB and took a second (debug build) before
/// failing. Capped, it is refused at once.
#[test]
fn a_huge_count_of_zero_byte_items_is_refused_at_once() -> TestResult {
    let fixture = Fixture::new();
    let (codec, id) = fixture.registered_elsewhere(
        "elsewhere-OrderCreated",
        r#"{"type":"record","name":"OrderCreated","fields":[
            {"name":"pad","type":{"type":"array","items":"null"}}]}"#,
    );
    for n in [8i64 << 20, i64::MAX, -(8 << 20)] {
        let started = Instant::now();
        let reason = fixture.refused(&codec, id, &varint(n), &n.to_string())?;
        assert!(started.elapsed() < QUICK, "{n}: {:?}", started.elapsed());
        // A negative count is followed by a block size, which the body lacks.
        let why = if n < 0 { "fill" } else { "Unable to allocate" };
        assert!(reason.contains(why), "{n}: {reason}");
    }
    Ok(())
}
