//! The compatibility cases of Apache Avro's and Confluent's own test suites
//! (`crates/core/tests/compat/`, see its README), each run through the REST API at
//! BACKWARD, FORWARD, FULL and their transitive forms: the earlier versions registered,
//! then the new schema checked (verbose) and registered under the level. Every expected
//! verdict is Avro Java's, recorded into the data by `tools/avro-oracle` (never the
//! registry's own checker's).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::support::*;

mod transitive;

/// The levels every case runs at.
const LEVELS: [&str; 6] = [
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
];

/// Avro Java's verdict at each of [`LEVELS`], as recorded in the data.
type Verdicts = BTreeMap<String, bool>;

/// What the API said of `new` after `previous` under `level`.
struct Outcome {
    compatible: bool,
    /// The verbose check's messages.
    messages: Vec<String>,
    /// The registration's answer.
    registered: Answer,
}

async fn run(level: &str, previous: &[Value], new: &Value) -> Res<Outcome> {
    let app = RegistryApp::new();
    app.set_level("s", "NONE").await?;
    for (i, schema) in previous.iter().enumerate() {
        let answer = app.register("s", schema).await?;
        assert_eq!(answer.status, 200, "version {}: {:?}", i + 1, answer.body);
    }
    app.set_level("s", level).await?;
    let body = json!({ "schema": new.to_string() });
    let check = app
        .post("/compatibility/subjects/s/versions?verbose=true", body)
        .await?;
    assert_eq!(check.status, 200, "{:?}", check.body);
    let compatible = check.body["is_compatible"] == json!(true);
    let messages = serde_json::from_value(check.body["messages"].clone())?;
    let registered = app.register("s", new).await?;
    let same_as_before = previous.contains(new);
    if !same_as_before {
        assert_eq!(
            registered.status == 200,
            compatible,
            "the check and the registration disagree: {:?}",
            registered.body
        );
    }
    Ok(Outcome {
        compatible,
        messages,
        registered,
    })
}

/// Runs `new` after `previous` at every level; what differs from `expected`, named.
async fn run_at_every_level(
    name: &str,
    previous: &[Value],
    new: &Value,
    expected: &Verdicts,
) -> Res<Vec<String>> {
    let mut wrong = Vec::new();
    for level in LEVELS {
        let expected = *expected
            .get(level)
            .ok_or_else(|| format!("{name}: no Avro Java verdict for {level}"))?;
        let outcome = run(level, previous, new).await?;
        if outcome.compatible != expected {
            wrong.push(format!(
                "{name} under {level}: Avro Java says {expected}, the API {:?}",
                outcome.messages
            ));
        }
    }
    Ok(wrong)
}

#[derive(Debug, Deserialize)]
struct AvroCases {
    cases: Vec<AvroCase>,
}

#[derive(Debug, Deserialize)]
struct AvroCase {
    name: String,
    reader: Value,
    writer: Value,
    compatible: bool,
    /// Avro Java's verdict with the roles swapped.
    writer_reads_reader: bool,
    incompatibilities: Vec<AvroIncompatibility>,
}

#[derive(Debug, Deserialize)]
struct AvroIncompatibility {
    #[serde(rename = "type")]
    kind: String,
    location: String,
}

/// The verdicts, at every level, of registering `new` after `old`, from Avro Java's
/// verdicts on the pair: whether `new` reads `old`'s data and whether `old` reads `new`'s.
fn levels_of(new_reads_old: bool, old_reads_new: bool) -> Verdicts {
    let full = new_reads_old && old_reads_new;
    LEVELS
        .iter()
        .map(|level| {
            let verdict = match level.trim_end_matches("_TRANSITIVE") {
                "BACKWARD" => new_reads_old,
                "FORWARD" => old_reads_new,
                _ => full,
            };
            ((*level).to_owned(), verdict)
        })
        .collect()
}

#[tokio::test]
async fn avros_reader_writer_pairs_give_avros_verdict_at_every_level_in_both_directions()
-> TestResult {
    let cases: AvroCases =
        serde_json::from_str(include_str!("../../../../core/tests/compat/avro_java.json"))?;
    let mut wrong = Vec::new();
    for case in &cases.cases {
        let (r, w) = (&case.reader, &case.writer);
        let (r_reads_w, w_reads_r) = (case.compatible, case.writer_reads_reader);
        let writer_first = format!("{} (writer, then reader)", case.name);
        let expected = levels_of(r_reads_w, w_reads_r);
        wrong.extend(
            run_at_every_level(&writer_first, std::slice::from_ref(w), r, &expected).await?,
        );
        let reader_first = format!("{} (reader, then writer)", case.name);
        let expected = levels_of(w_reads_r, r_reads_w);
        wrong.extend(
            run_at_every_level(&reader_first, std::slice::from_ref(r), w, &expected).await?,
        );
        if !run("NONE", std::slice::from_ref(w), r).await?.compatible {
            wrong.push(format!("{}: refused under NONE", case.name));
        }
        // The reasons name Avro's rule and location, with the old version and the level.
        if !case.compatible {
            let outcome = run("BACKWARD", std::slice::from_ref(w), r).await?;
            let text = outcome.messages.join(" ");
            for i in &case.incompatibilities {
                let rule = format!("errorType:'{}'", i.kind);
                let path = format!("'{}'", i.location);
                if !text.contains(&rule) || !text.contains(&path) {
                    wrong.push(format!("{}: no {rule} at {path} in {text}", case.name));
                }
            }
            for part in ["{oldSchemaVersion: 1}", "compatibility: 'BACKWARD'"] {
                if !text.contains(part) {
                    wrong.push(format!("{}: no {part} in {text}", case.name));
                }
            }
            assert_eq!(outcome.registered.code(), (409, 40901));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    Ok(())
}

#[derive(Debug, Deserialize)]
struct LevelCases {
    cases: Vec<LevelCase>,
}

#[derive(Debug, Deserialize)]
struct LevelCase {
    name: String,
    level: String,
    previous: Vec<Value>,
    new: Value,
    compatible: bool,
    #[serde(default)]
    expect: Option<Expect>,
    avro_java: Verdicts,
}

#[derive(Debug, Deserialize)]
struct Expect {
    #[serde(default)]
    message_contains: Vec<String>,
}

#[tokio::test]
async fn confluents_compatibility_cases_give_avro_javas_verdict_at_every_level() -> TestResult {
    let cases: LevelCases =
        serde_json::from_str(include_str!("../../../../core/tests/compat/confluent.json"))?;
    let mut wrong = Vec::new();
    for case in &cases.cases {
        // Confluent's test and Avro Java agree at the level the test uses.
        let at_its_level = match case.level.as_str() {
            "NONE" => Some(&true),
            level => case.avro_java.get(level),
        };
        assert_eq!(at_its_level, Some(&case.compatible), "{}", case.name);
        wrong.extend(
            run_at_every_level(&case.name, &case.previous, &case.new, &case.avro_java).await?,
        );
        let outcome = run(&case.level, &case.previous, &case.new).await?;
        let needed = case.expect.iter().flat_map(|e| &e.message_contains);
        let message = outcome.registered.body["message"]
            .as_str()
            .unwrap_or_default();
        for part in needed {
            if !message.contains(part.as_str()) {
                wrong.push(format!("{}: no {part} in {message}", case.name));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    Ok(())
}

#[derive(Debug, Deserialize)]
struct ValidationCases {
    cases: Vec<ValidationCase>,
}

#[derive(Debug, Deserialize)]
struct ValidationCase {
    name: String,
    strategy: String,
    scope: String,
    existing: Vec<Value>,
    new: Value,
    valid: bool,
    schema_compatibility_agrees: bool,
    avro_java: Verdicts,
}

#[tokio::test]
async fn avros_schema_validation_cases_give_avro_javas_verdict_at_every_level() -> TestResult {
    let cases: ValidationCases = serde_json::from_str(include_str!(
        "../../../../core/tests/compat/avro_validation.json"
    ))?;
    let mut wrong = Vec::new();
    for case in &cases.cases {
        let level = match case.strategy.as_str() {
            "canRead" => "BACKWARD",
            "canBeRead" => "FORWARD",
            _ => "FULL",
        };
        let level = match case.scope.as_str() {
            "all" => format!("{level}_TRANSITIVE"),
            _ => level.to_owned(),
        };
        // Where Avro's validator (a decoding grammar) and its compatibility checker
        // disagree, a registry follows the checker, as Confluent's does.
        let checker = case.valid == case.schema_compatibility_agrees;
        assert_eq!(case.avro_java.get(&level), Some(&checker), "{}", case.name);
        wrong.extend(
            run_at_every_level(&case.name, &case.existing, &case.new, &case.avro_java).await?,
        );
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    Ok(())
}
