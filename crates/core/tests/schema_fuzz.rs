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
//! number of cases, no failure persistence (inputs found are kept below as named
//! regression tests).

use std::sync::mpsc;
use std::time::Duration;

use orderflow_core::registry::{Against, CompatibilityLevel, Registry, RegistryError, normalise};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use serde_json::{Map, Value, json};

const SEED: u64 = 0x0DE2_F10E_2026;
const CASES: u32 = 1_000;
/// The bound on one parse or check: a stand-in for "never runs without end".
const STALL: Duration = Duration::from_secs(5);
/// A tokio worker's stack.
const STACK: usize = 2 * 1024 * 1024;

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(SEED),
        max_shrink_iters: 1_000,
        ..Config::default()
    })
}

/// Runs `f` on a thread with a worker's stack; its answer, or why there is none.
fn bounded<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
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

/// Registers `first`, then checks `second` against it and registers it, at `level`,
/// as the registry's REST API does.
fn register_both(level: CompatibilityLevel, first: String, second: String) -> Result<(), String> {
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

// ---- Generators ----------------------------------------------------------------------

const NAMES: &[&str] = &["A", "B", "C", "n.A", "n.B", "m.C", "Rec"];

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(NAMES).prop_map(str::to_owned),
        1 => prop::sample::select(vec![
            "", "1a", "a-b", "a..b", ".a", "a.", "int", "null", "record", "é", "a b", "_",
            "string", "B.C.D", "n.int",
        ])
        .prop_map(str::to_owned),
        1 => "[A-Za-z_][A-Za-z0-9_]{0,8}(\\.[A-Za-z_][A-Za-z0-9_]{0,5}){0,2}",
        1 => any::<String>().prop_map(|s| s.chars().take(12).collect()),
    ]
}

fn primitive() -> impl Strategy<Value = Value> {
    prop::sample::select(vec![
        "null", "boolean", "int", "long", "float", "double", "bytes", "string",
    ])
    .prop_map(|p| json!(p))
}

/// Any JSON value, for defaults and odd attributes.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        prop::sample::select(vec!["", "a", "A", "B", "\u{0}", "\u{ff}", "é"])
            .prop_map(|s| json!(s)),
        name().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((field_name(), inner), 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec!["a", "b", "c", "x"]).prop_map(str::to_owned),
        1 => name(),
    ]
}

fn logical() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0i64..40, -2i64..40, any::<bool>()).prop_map(|(p, s, fixed)| if fixed {
            json!({"type": "fixed", "name": "D", "size": (p / 2).max(0), "logicalType": "decimal", "precision": p, "scale": s})
        } else {
            json!({"type": "bytes", "logicalType": "decimal", "precision": p, "scale": s})
        }),
        prop::sample::select(vec![
            json!({"type": "int", "logicalType": "date"}),
            json!({"type": "long", "logicalType": "timestamp-millis"}),
            json!({"type": "string", "logicalType": "uuid"}),
            json!({"type": "fixed", "name": "U", "size": 16, "logicalType": "uuid"}),
            json!({"type": "fixed", "name": "Dur", "size": 12, "logicalType": "duration"}),
            json!({"type": "bytes", "logicalType": "big-decimal"}),
            json!({"type": "int", "logicalType": "nonsense"}),
            json!({"type": "string", "logicalType": 1}),
        ]),
    ]
}

/// A JSON value shaped like an Avro schema (often a valid one).
fn schema() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        4 => primitive(),
        2 => name().prop_map(Value::String),
        1 => logical(),
        1 => (name(), prop::collection::vec("[A-Z][A-Z0-9_]{0,3}", 0..4), proptest::option::of(any_json()))
            .prop_map(|(n, symbols, default)| {
                let mut o = json!({"type": "enum", "name": n, "symbols": symbols});
                if let Some(d) = default { o["default"] = d; }
                o
            }),
        1 => (name(), -2i64..40).prop_map(|(n, size)| json!({"type": "fixed", "name": n, "size": size})),
        1 => any_json(),
    ];
    leaf.prop_recursive(5, 48, 5, |inner| {
        let field = (
            field_name(),
            inner.clone(),
            proptest::option::weighted(0.4, any_json()),
            proptest::option::weighted(0.05, prop::sample::select(vec!["ascending", "descending", "ignore", "x"])),
            proptest::option::weighted(0.05, prop::collection::vec(field_name(), 0..3)),
        )
            .prop_map(|(n, t, default, order, aliases)| {
                let mut f = Map::new();
                f.insert("name".into(), json!(n));
                f.insert("type".into(), t);
                if let Some(d) = default { f.insert("default".into(), d); }
                if let Some(o) = order { f.insert("order".into(), json!(o)); }
                if let Some(a) = aliases { f.insert("aliases".into(), json!(a)); }
                Value::Object(f)
            });
        prop_oneof![
            4 => (name(), proptest::option::weighted(0.3, name()), prop::collection::vec(field, 0..4), any::<bool>())
                .prop_map(|(n, ns, fields, error)| {
                    let mut o = json!({"type": if error { "error" } else { "record" }, "name": n, "fields": fields});
                    if let Some(ns) = ns { o["namespace"] = json!(ns); }
                    o
                }),
            2 => prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            1 => inner.clone().prop_map(|i| json!({"type": "array", "items": i})),
            1 => (inner.clone(), proptest::option::weighted(0.3, any_json())).prop_map(|(v, d)| {
                let mut o = json!({"type": "map", "values": v});
                if let Some(d) = d { o["default"] = d; }
                o
            }),
            1 => inner.prop_map(|t| json!({"type": t})),
        ]
    })
}

/// A schema, sometimes wrapped so that a record refers to itself (`A` with fields of
/// type `A`, `[null, A]`, `{array of A}`, with defaults).
fn self_referring() -> impl Strategy<Value = Value> {
    (schema(), any_json(), any_json(), 0usize..4).prop_map(|(inner, d1, d2, how)| {
        let recur = match how {
            0 => json!("A"),
            1 => json!(["null", "A"]),
            2 => json!({"type": "array", "items": "A"}),
            _ => json!([{"type": "map", "values": "A"}, "A"]),
        };
        json!({"type": "record", "name": "A", "fields": [
            {"name": "a", "type": recur, "default": d1},
            {"name": "b", "type": inner, "default": d2},
        ]})
    })
}

// ---- Properties ----------------------------------------------------------------------

fn check_parse(schema: &Value) -> Result<(), TestCaseError> {
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

fn run<S: Strategy>(cases: u32, strategy: S, check: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    if let Err(e) = runner(cases).run(&strategy, check) {
        panic!("{e}");
    }
}

#[test]
fn random_schemas_are_parsed_or_refused() {
    run(CASES, schema(), |s| check_parse(&s));
}

#[test]
fn records_that_refer_to_themselves_are_parsed_or_refused() {
    run(CASES / 2, self_referring(), |s| check_parse(&s));
}

#[test]
fn random_schemas_registered_after_one_another_are_registered_or_refused() {
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
    run(CASES / 2, pair, |(level, a, b)| {
        register_both(level, a.to_string(), b.to_string()).map_err(TestCaseError::fail)
    });
}

#[test]
fn nesting_as_deep_as_json_goes_is_parsed_or_refused() {
    // serde_json refuses past 128 levels; everything up to it must be answered.
    let shapes = (1usize..=130, 0usize..6);
    run(128, shapes, |(depth, shape)| {
        check_parse(&deep(depth, shape))
    });
}

#[test]
fn nesting_as_deep_as_json_goes_is_registered_and_checked_or_refused() {
    // The second version differs at the bottom (`int` to `long`), so the check walks
    // all the way down.
    let shapes = (1usize..=128, 0usize..6);
    run(60, shapes, |(depth, shape)| {
        let (old, new) = (deep_of(depth, shape, "int"), deep_of(depth, shape, "long"));
        register_both(CompatibilityLevel::Full, old.to_string(), new.to_string())
            .map_err(TestCaseError::fail)
    });
}

/// A schema nested `depth` JSON levels deep, in one of several shapes.
fn deep(depth: usize, shape: usize) -> Value {
    deep_of(depth, shape, "int")
}

fn deep_of(depth: usize, shape: usize, bottom: &str) -> Value {
    let mut v = json!(bottom);
    let mut level = 0;
    while level < depth {
        v = match shape {
            0 => json!({"type": "array", "items": v}),
            1 => json!({"type": "map", "values": v}),
            // A record per 3 JSON levels (object, fields array, field object).
            2 => {
                json!({"type": "record", "name": format!("R{level}"), "fields": [{"name": "f", "type": v}]})
            }
            // A default nested as deep as the type it is a default of.
            3 => {
                let mut d = json!(1);
                let mut t = json!(bottom);
                for _ in 0..depth / 2 {
                    t = json!({"type": "array", "items": t});
                    d = json!([d]);
                }
                level = depth;
                json!({"type": "record", "name": "R", "fields": [{"name": "f", "type": t, "default": d}]})
            }
            // A union in an array in a union...
            4 => json!(["null", {"type": "array", "items": v}]),
            // A type wrapped in `{"type": …}`.
            _ => json!({"type": v}),
        };
        level += match shape {
            2 => 3,
            4 => 2,
            _ => 1,
        };
    }
    v
}

// ---- Regressions: inputs found, kept by name ------------------------------------------

/// The reader/writer check looked each reader field up by scanning the writer's fields:
/// a record of 60,000 fields (1.8 MB, under the REST API's 2 MB body limit) took tens
/// of seconds per check on a request's worker. The writer's fields are now looked up
/// by name.
#[test]
fn a_record_of_sixty_thousand_fields_is_checked_in_linear_time() {
    use orderflow_core::registry::{Existing, check_compatibility};
    let fields: Vec<Value> = (0..60_000)
        .map(|i| json!({"name": format!("f{i}"), "type": "int"}))
        .collect();
    let old = json!({"type": "record", "name": "T", "fields": fields}).to_string();
    let mut more = fields;
    more.push(json!({"name": "extra", "type": "int", "default": 1}));
    let new = json!({"type": "record", "name": "T", "fields": more}).to_string();
    let (writer, _) = normalise("s", &old, &[]).expect("parses");
    let (reader, _) = normalise("s", &new, &[]).expect("parses");
    let checked = bounded(move || {
        let existing = [Existing {
            version: 1,
            text: old,
            schema: writer,
        }];
        let started = std::time::Instant::now();
        let found = check_compatibility(CompatibilityLevel::Full, &reader, &existing);
        (started.elapsed(), found)
    });
    let (took, found) = checked.expect("an answer");
    assert_eq!(found, Vec::<String>::new());
    assert!(took < Duration::from_secs(5), "{took:?}");
}

/// Two versions of a chain of `n` record types defined field after field (`R1 { x: R0 }`,
/// …), the second's field names matching the first's crosswise (`fi` against the type
/// of `f(n-2-i)`): every pair of types compared differs in name, level after level.
fn crosswise(n: usize) -> (String, String) {
    let m = n - 1;
    let def = |k: usize, name: String| {
        let x = if k == 0 {
            json!("int")
        } else {
            json!(format!("R{}", k - 1))
        };
        json!({"name": name, "type": {"type": "record", "name": format!("R{k}"),
            "fields": [{"name": "x", "type": x}]}})
    };
    let reader: Vec<Value> = (0..n).map(|k| def(k, format!("f{k}"))).collect();
    let writer: Vec<Value> = (0..n)
        .map(|k| {
            let name = if k == m { k } else { m - 1 - k };
            def(k, format!("f{name}"))
        })
        .collect();
    (
        json!({"type": "record", "name": "Top", "fields": reader}).to_string(),
        json!({"type": "record", "name": "Top", "fields": writer}).to_string(),
    )
}

/// The check made one incompatibility per level of every pair of types: n²/4 of them,
/// 10,101 in 1.4 s for 200 types, past 5 s for 2,000 and past memory for 20,000 (a
/// 2 MB registration could take the process down; debug build); and a chain nests as deep as it
/// has types, which no JSON limit bounds. The check now stops past a budget of work
/// and of nesting, and refuses.
#[test]
fn a_check_of_schemas_that_differ_crosswise_at_every_level_is_bounded() {
    use orderflow_core::registry::{Existing, check_compatibility};
    for n in [200, 2_000] {
        let (new, old) = crosswise(n);
        let (reader, _) = normalise("s", &new, &[]).expect("parses");
        let (writer, _) = normalise("s", &old, &[]).expect("parses");
        let found = bounded(move || {
            let existing = [Existing {
                version: 1,
                text: old,
                schema: writer,
            }];
            check_compatibility(CompatibilityLevel::Backward, &reader, &existing)
        })
        .unwrap_or_else(|why| panic!("{n}: {why}"));
        assert!(!found.is_empty(), "{n}: incompatible");
        if n > 200 {
            assert!(
                found[0].contains("too large or too deeply nested"),
                "{n}: {}",
                found[0]
            );
        }
    }
}
