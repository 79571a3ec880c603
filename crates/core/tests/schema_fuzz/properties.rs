//! Random schemas, alone and registered after one another at every level, and nesting
//! as deep as JSON goes: each parsed or refused, never a panic, an overflow or a stall.

use orderflow_core::registry::CompatibilityLevel;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use crate::calls::{check_parse, register_both};
use crate::schemas::{deep, deep_of, schema, self_referring};
use crate::seeded::{self, TestResult};
use crate::{CASES, SHRINK};

#[test]
fn random_schemas_are_parsed_or_refused() -> TestResult {
    seeded::check(CASES, SHRINK, schema(), |s| check_parse(&s))
}

#[test]
fn records_that_refer_to_themselves_are_parsed_or_refused() -> TestResult {
    seeded::check(CASES / 2, SHRINK, self_referring(), |s| check_parse(&s))
}

#[test]
fn random_schemas_registered_after_one_another_are_registered_or_refused() -> TestResult {
    let level = prop::sample::select(vec![
        CompatibilityLevel::Backward,
        CompatibilityLevel::Forward,
        CompatibilityLevel::Full,
        CompatibilityLevel::None,
    ]);
    let pair = (
        level,
        prop_oneof![schema(), self_referring()],
        prop_oneof![schema(), self_referring()],
    );
    seeded::check(CASES / 2, SHRINK, pair, |(level, a, b)| {
        register_both(level, a.to_string(), b.to_string()).map_err(TestCaseError::fail)
    })
}

#[test]
fn nesting_as_deep_as_json_goes_is_parsed_or_refused() -> TestResult {
    // serde_json refuses past 128 levels; everything up to it must be answered.
    let shapes = (1usize..=130, 0usize..6);
    seeded::check(128, SHRINK, shapes, |(depth, shape)| {
        check_parse(&deep(depth, shape))
    })
}

#[test]
fn nesting_as_deep_as_json_goes_is_registered_and_checked_or_refused() -> TestResult {
    // The second version differs at the bottom (`int` to `long`), so the check walks
    // all the way down.
    let shapes = (1usize..=128, 0usize..6);
    seeded::check(60, SHRINK, shapes, |(depth, shape)| {
        let (old, new) = (deep_of(depth, shape, "int"), deep_of(depth, shape, "long"));
        register_both(CompatibilityLevel::Full, old.to_string(), new.to_string())
            .map_err(TestCaseError::fail)
    })
}
