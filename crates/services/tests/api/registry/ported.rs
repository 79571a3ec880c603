//! The compatibility cases of Apache Avro's and Confluent's own test suites
//! (`crates/core/tests/compat/`, see its README), each run through the REST API: the
//! earlier versions registered, then the new schema checked (verbose) and registered
//! under the level, with the outcome the suite expects.

use apache_avro::Schema;
use orderflow_core::registry::reader_writer_incompatibilities;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::support::*;

const BACKWARD: [&str; 2] = ["BACKWARD", "BACKWARD_TRANSITIVE"];
const FORWARD: [&str; 2] = ["FORWARD", "FORWARD_TRANSITIVE"];
const FULL: [&str; 2] = ["FULL", "FULL_TRANSITIVE"];

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
    incompatibilities: Vec<AvroIncompatibility>,
}

#[derive(Debug, Deserialize)]
struct AvroIncompatibility {
    #[serde(rename = "type")]
    kind: String,
    location: String,
}

fn reads(reader: &Value, writer: &Value) -> Res<bool> {
    let (reader, writer) = (Schema::parse(reader)?, Schema::parse(writer)?);
    Ok(reader_writer_incompatibilities(&reader, &writer).is_empty())
}

#[tokio::test]
async fn avros_reader_writer_pairs_give_avros_verdict_at_every_level_in_both_directions()
-> TestResult {
    let cases: AvroCases =
        serde_json::from_str(include_str!("../../../../core/tests/compat/avro_java.json"))?;
    let mut wrong = Vec::new();
    for case in &cases.cases {
        let (r, w) = (&case.reader, &case.writer);
        // FULL needs the other direction too, which the suite does not state for every
        // pair: the checker's answer, itself held to the suite in orderflow-core.
        let full = case.compatible && reads(w, r)?;
        let mut runs: Vec<(&str, &Value, &Value, bool)> = vec![("NONE", w, r, true)];
        runs.extend(BACKWARD.map(|l| (l, w, r, case.compatible)));
        runs.extend(FORWARD.map(|l| (l, r, w, case.compatible)));
        runs.extend(FULL.map(|l| (l, w, r, full)));
        runs.extend(FULL.map(|l| (l, r, w, full)));
        for (level, old, new, expected) in runs {
            let outcome = run(level, std::slice::from_ref(old), new).await?;
            if outcome.compatible != expected {
                wrong.push(format!(
                    "{} under {level}: {:?}",
                    case.name, outcome.messages
                ));
            }
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
}

#[derive(Debug, Deserialize)]
struct Expect {
    #[serde(default)]
    message_contains: Vec<String>,
}

#[tokio::test]
async fn confluents_compatibility_cases_give_confluents_answers() -> TestResult {
    let cases: LevelCases =
        serde_json::from_str(include_str!("../../../../core/tests/compat/confluent.json"))?;
    let mut wrong = Vec::new();
    for case in &cases.cases {
        let outcome = run(&case.level, &case.previous, &case.new).await?;
        if outcome.compatible != case.compatible {
            wrong.push(format!("{}: {:?}", case.name, outcome.messages));
        }
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
}

#[tokio::test]
async fn avros_schema_validation_cases_give_the_verdict_of_avros_compatibility_checker()
-> TestResult {
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
        let expected = case.valid == case.schema_compatibility_agrees;
        let outcome = run(&level, &case.existing, &case.new).await?;
        if outcome.compatible != expected {
            wrong.push(format!(
                "{} under {level}: {:?}",
                case.name, outcome.messages
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    Ok(())
}
