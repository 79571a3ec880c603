//! The reader/writer cases of Apache Avro's own test suite (`compat/avro_java.json`,
//! see `compat/README.md`): the checker must give exactly what Avro Java gives — the
//! verdict and every incompatibility's kind, location and message, in order.

use apache_avro::Schema;
use orderflow_core::registry::{normalise, reader_writer_incompatibilities};
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
struct Cases {
    cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
struct Case {
    name: String,
    reader: Value,
    writer: Value,
    compatible: bool,
    incompatibilities: Vec<Expected>,
}

#[derive(Debug, Deserialize, PartialEq)]
struct Expected {
    #[serde(rename = "type")]
    kind: String,
    location: String,
    message: String,
}

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[test]
fn the_checker_agrees_with_avro_java_on_every_case_of_its_suite() -> TestResult {
    let cases: Cases = serde_json::from_str(include_str!("compat/avro_java.json"))?;
    let mut wrong = Vec::new();
    for case in &cases.cases {
        let reader = Schema::parse(&case.reader)?;
        let writer = Schema::parse(&case.writer)?;
        let found: Vec<Expected> = reader_writer_incompatibilities(&reader, &writer)
            .into_iter()
            .map(|i| Expected {
                kind: i.kind.as_str().to_owned(),
                location: i.location,
                message: i.message,
            })
            .collect();
        if found.is_empty() != case.compatible || found != case.incompatibilities {
            wrong.push(format!(
                "{}\n  expected {:?}\n  found    {found:?}",
                case.name, case.incompatibilities
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} cases differ from Avro Java:\n{}",
        wrong.len(),
        cases.cases.len(),
        wrong.join("\n")
    );
    Ok(())
}

#[test]
fn the_registry_accepts_every_schema_of_avros_suite() -> TestResult {
    let cases: Cases = serde_json::from_str(include_str!("compat/avro_java.json"))?;
    for case in &cases.cases {
        for schema in [&case.reader, &case.writer] {
            normalise("s", &schema.to_string(), &[])?;
        }
    }
    Ok(())
}
