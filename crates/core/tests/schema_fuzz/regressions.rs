//! Regressions: checks of large schemas that took tens of seconds, or past memory,
//! on a request's worker. Each is now answered at once.

use orderflow_core::registry::CompatibilityLevel;
use serde_json::{Value, json};

use crate::calls::check_against;
use crate::seeded::TestResult;

/// The reader/writer check looked each reader field up by scanning the writer's fields:
/// a record of 60,000 fields (1.8 MB, under the REST API's 2 MB body limit) took tens
/// of seconds per check on a request's worker. The writer's fields are now looked up
/// by name. At 200,000 fields a scan would make 2·10¹⁰ comparisons, minutes in a test
/// build, and miss the stall bound; a lookup by name answers in seconds.
#[test]
fn a_record_of_two_hundred_thousand_fields_is_checked_in_linear_time() -> TestResult {
    let fields: Vec<Value> = (0..200_000)
        .map(|i| json!({"name": format!("f{i}"), "type": "int"}))
        .collect();
    let old = json!({"type": "record", "name": "T", "fields": fields}).to_string();
    let mut more = fields;
    more.push(json!({"name": "extra", "type": "int", "default": 1}));
    let new = json!({"type": "record", "name": "T", "fields": more}).to_string();
    let (found, _) = check_against(CompatibilityLevel::Full, &new, old)?;
    assert_eq!(found, Vec::<String>::new());
    Ok(())
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
fn a_check_of_schemas_that_differ_crosswise_at_every_level_is_bounded() -> TestResult {
    for n in [200, 2_000] {
        let (new, old) = crosswise(n);
        let (found, _) = check_against(CompatibilityLevel::Backward, &new, old)
            .map_err(|why| format!("{n}: {why}"))?;
        assert!(!found.is_empty(), "{n}: incompatible");
        if n > 200 {
            assert!(
                found[0].contains("too large or too deeply nested"),
                "{n}: {}",
                found[0]
            );
        }
    }
    Ok(())
}
