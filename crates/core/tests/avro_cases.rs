//! The reader/writer cases of Apache Avro's own test suite (`compat/avro_java.json`,
//! see `compat/README.md`): the checker must give exactly what Avro Java gives — the
//! verdict and every incompatibility's kind, location and message, in order.

#[path = "support/avro_java.rs"]
mod avro_java;

use apache_avro::Schema;
use orderflow_core::registry::normalise;

use avro_java::{Cases, incompatibilities};

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[test]
fn the_checker_agrees_with_avro_java_on_every_case_of_its_suite() -> TestResult {
    let cases: Cases = serde_json::from_str(include_str!("compat/avro_java.json"))?;
    let mut wrong = Vec::new();
    for case in &cases.cases {
        let reader = Schema::parse(&case.reader)?;
        let writer = Schema::parse(&case.writer)?;
        let found = incompatibilities(&reader, &writer);
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
