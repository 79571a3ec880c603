//! The registry's calls as the fuzz tests make them: each on a thread with a tokio
//! worker's stack (a stack overflow aborts the whole process), within the bound.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use orderflow_core::registry::{
    Against, CompatibilityLevel, Existing, Registry, RegistryError, check_compatibility, normalise,
};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::Value;

use crate::seeded::STALL;

/// A tokio worker's stack.
const STACK: usize = 2 * 1024 * 1024;

/// Runs `f` on a thread with a worker's stack; its answer, or why there is none.
pub fn bounded<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(move || {
            let _ = tx.send(f());
        })
        .map_err(|e| e.to_string())?;
    match rx.recv_timeout(STALL) {
        Ok(answer) => Ok(answer),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(format!("no answer within {STALL:?}")),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err("panicked".into()),
    }
}

/// Parses `schema` as the registry does: parsed or a `RegistryError`, in time.
fn parse(schema: &str) -> Result<Result<(), RegistryError>, String> {
    let text = schema.to_owned();
    bounded(move || normalise("s", &text, &[]).map(|_| ()))
}

/// The property of a parse: parsed, or refused with a 4xx, in time, without a panic.
pub fn check_parse(schema: &Value) -> Result<(), TestCaseError> {
    match parse(&schema.to_string()) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => {
            prop_assert!(
                (400..500).contains(&e.http_status()),
                "{}: {e}",
                e.http_status()
            );
            Ok(())
        }
        Err(why) => Err(TestCaseError::fail(why)),
    }
}

/// Registers `first`, then checks `second` against it and registers it, at `level`,
/// as the registry's REST API does.
pub fn register_both(
    level: CompatibilityLevel,
    first: String,
    second: String,
) -> Result<(), String> {
    bounded(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        rt.block_on(async {
            let registry = Registry::default();
            registry.set_level(Some("s"), level).await.expect("a level");
            let _ = registry.register_version("s", &first, &[]).await;
            let _ = registry
                .incompatibilities("s", &second, &[], Against::Level)
                .await;
            let _ = registry.register_version("s", &second, &[]).await;
            let _ = registry.lookup("s", &second, &[], false).await;
        })
    })
}

/// Checks `new` against `old` as its only earlier version at `level` (both must parse):
/// what the check found and how long it took, or why there is no answer.
pub fn check_against(
    level: CompatibilityLevel,
    new: &str,
    old: String,
) -> Result<(Vec<String>, Duration), String> {
    let (reader, _) = normalise("s", new, &[]).expect("parses");
    let (writer, _) = normalise("s", &old, &[]).expect("parses");
    bounded(move || {
        let existing = [Existing {
            version: 1,
            text: old,
            schema: writer,
        }];
        let started = Instant::now();
        let found = check_compatibility(level, &reader, &existing);
        (found, started.elapsed())
    })
}
