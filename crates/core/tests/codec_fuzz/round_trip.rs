//! Valid events of every type, whatever their values, decode to themselves.

use orderflow_core::frame;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use crate::events::{event, parts};
use crate::fixture::Fixture;
use crate::seeded::{self, TestResult};
use crate::{CASES, SHRINK};

#[test]
fn every_event_type_round_trips_whatever_its_values() -> TestResult {
    let fixture = Fixture::new();
    let codec = fixture.codec.clone();
    seeded::check(CASES, SHRINK, parts(), |p| {
        let event = event(&p);
        let encoded = codec.encode(&event).expect("a valid event encodes");
        let decoded = fixture
            .decode(&frame(encoded.schema_id, &encoded.payload))
            .map_err(TestCaseError::fail)?
            .map_err(|e| TestCaseError::fail(format!("{event:?} does not decode: {e}")))?;
        prop_assert_eq!(decoded, event);
        Ok(())
    })
}
