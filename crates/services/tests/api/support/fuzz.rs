//! What the random-request tests share: a seeded proptest runner, and a runtime of its
//! own that sends each request on a task, so that a panic or a request that does not
//! end (past a generous bound standing in for "no stall") fails the case.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use proptest::prelude::any;
use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};

use super::{Answer, answer};

/// Every run draws the same cases.
pub const SEED: u64 = 0x0DE2_F10E_2026;

/// The bound on one request: a stand-in for "never stalls", not a speed requirement (a
/// request answers in milliseconds; only a hang or a blow-up reaches a minute).
pub const STALL: Duration = Duration::from_secs(60);

/// Runs properties over requests to a router.
pub struct Driver {
    rt: tokio::runtime::Runtime,
}

impl Driver {
    pub fn new() -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        Self { rt }
    }

    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.rt.block_on(future)
    }

    /// The answer of `router` to `request`, which must be JSON, within [`STALL`].
    pub async fn answer(router: &Router, request: Request<Body>) -> Result<Answer, TestCaseError> {
        let router = router.clone();
        let task =
            tokio::spawn(async move { answer(&router, request).await.map_err(|e| e.to_string()) });
        match tokio::time::timeout(STALL, task).await {
            Err(_) => Err(TestCaseError::fail(format!("no answer in {STALL:?}"))),
            Ok(Err(join)) => Err(TestCaseError::fail(format!("panicked: {join}"))),
            // Not JSON.
            Ok(Ok(Err(e))) => Err(TestCaseError::fail(e)),
            Ok(Ok(Ok(answer))) => Ok(answer),
        }
    }

    /// Checks `cases` cases of `strategy` with `check` (which answers the status it
    /// saw), from [`SEED`], with no failure persistence; returns the statuses seen.
    pub fn run<S: Strategy>(
        &self,
        cases: u32,
        strategy: S,
        check: impl Fn(&S::Value) -> Result<u16, TestCaseError>,
    ) -> Vec<u16> {
        let statuses = std::sync::Mutex::new(Vec::new());
        let outcome = runner(cases).run(&strategy, |case| {
            let status = check(&case)?;
            statuses.lock().unwrap().push(status);
            Ok(())
        });
        if let Err(e) = outcome {
            panic!("{e}");
        }
        let statuses = statuses.into_inner().unwrap();
        let mut counts = BTreeMap::new();
        for s in &statuses {
            *counts.entry(*s).or_insert(0) += 1;
        }
        eprintln!("statuses: {counts:?}");
        statuses
    }
}

/// Any text, cut to `bytes` bytes (at a byte, not a character: sometimes not UTF-8),
/// percent-encoded as a path segment.
pub fn percent_encoded(bytes: usize) -> impl Strategy<Value = String> {
    any::<String>().prop_map(move |s| {
        let mut out = String::new();
        for b in s.bytes().take(bytes) {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                out.push(b as char);
            } else {
                let _ = write!(out, "%{b:02X}");
            }
        }
        out
    })
}

/// A proptest runner drawing `cases` cases from [`SEED`].
pub fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(SEED),
        max_shrink_iters: 1_000,
        ..Config::default()
    })
}
