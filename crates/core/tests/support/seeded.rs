//! Deterministic property runs, as every fuzz test of this crate makes them: proptest
//! from one fixed RNG seed, a fixed number of cases, no failure persistence (a failure
//! reproduces from the seed; inputs found are kept as named regression tests), and a
//! generous bound on one call standing in for "never stalls".

use std::fmt::Debug;
use std::time::Duration;

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};

/// The seed every property runs from.
pub const SEED: u64 = 0x0DE2_F10E_2026;

/// The bound on one call: a stand-in for "never stalls", not a speed requirement. It is
/// far above what any call takes on a loaded two-core machine running the whole suite
/// (a few seconds at most), so only a call that hangs, loops or goes quadratic on a
/// large input reaches it; how fast calls are is the bench's business.
pub const STALL: Duration = Duration::from_secs(60);

/// A run of `cases` cases from [`SEED`], shrinking a failure at most `max_shrink_iters`
/// times.
pub fn runner(cases: u32, max_shrink_iters: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(SEED),
        max_shrink_iters,
        ..Config::default()
    })
}

/// Why a test failed, shown as written (a test's `Err` is printed with `Debug`, which
/// would quote a proptest report and escape its lines).
pub struct Failure(String);

impl Debug for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for Failure {
    fn from(why: String) -> Self {
        Self(why)
    }
}

/// What a test returns.
pub type TestResult = Result<(), Failure>;

/// Checks `property` on `cases` values of `strategy`: the smallest failing value found,
/// if any.
pub fn check<S: Strategy>(
    cases: u32,
    max_shrink_iters: u32,
    strategy: S,
    property: impl Fn(S::Value) -> Result<(), TestCaseError>,
) -> TestResult
where
    S::Value: Debug,
{
    runner(cases, max_shrink_iters)
        .run(&strategy, property)
        .map_err(|e| Failure(e.to_string()))
}
