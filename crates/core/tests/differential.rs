//! Differential test of the registry's Avro compatibility checker against the reference,
//! Avro Java 1.12.2's `SchemaCompatibility.checkReaderWriterCompatibility` (the oracle
//! in `tools/avro-oracle`, built with Maven on first use): thousands of generated
//! reader/writer pairs must get the same verdict and the same incompatibilities (type,
//! location, message, in order). Disagreements found are kept as regression cases in
//! `tests/compat/differential_regressions.json`, checked without Java.

#[path = "support/avro_java.rs"]
mod avro_java;
#[path = "differential/generate.rs"]
mod generate;
#[path = "differential/json.rs"]
mod json;
#[path = "differential/mutate.rs"]
mod mutate;
#[path = "differential/oracle.rs"]
mod oracle;
#[path = "differential/schema.rs"]
mod schema;

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::Instant;

use apache_avro::Schema;
use serde_json::{Value, json};

use avro_java::{Case, Cases, Found, incompatibilities};

type Res<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Fixed, so that every run checks the same pairs; `ORDERFLOW_DIFFERENTIAL_SEED` and
/// `ORDERFLOW_DIFFERENTIAL_PAIRS` override them to hunt further.
const SEED: u64 = 0x0a7d_f10e_2026;
const PAIRS: usize = 4000;

fn setting(name: &str, default: u64) -> Res<u64> {
    std::env::var(name).map_or(Ok(default), |v| Ok(v.parse()?))
}

/// The checker's answer, or its panic message.
fn ours(reader: &Schema, writer: &Schema) -> Result<Vec<Found>, String> {
    catch_unwind(AssertUnwindSafe(|| incompatibilities(reader, writer))).map_err(|panic| {
        let text = panic.downcast_ref::<String>().cloned();
        let text = text.or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()));
        format!("panicked: {}", text.unwrap_or_default())
    })
}

fn parse(schema: &Value) -> Result<Schema, String> {
    Schema::parse_str(&schema.to_string()).map_err(|e| e.to_string())
}

/// A Parsing Canonical Form as JSON, as the specification and Avro Java write it:
/// apache-avro's keeps a decimal's precision and scale, and writes `{"type":"long"}` for
/// a logical type's base.
fn canonical(form: &str) -> Value {
    const KEPT: [&str; 7] = [
        "name", "type", "fields", "symbols", "items", "values", "size",
    ];
    fn unwrap(value: Value) -> Value {
        match value {
            Value::Object(mut o) => {
                o.retain(|k, _| KEPT.contains(&k.as_str()));
                if o.len() == 1 && o.get("type").is_some_and(Value::is_string) {
                    return o["type"].clone();
                }
                Value::Object(o.into_iter().map(|(k, v)| (k, unwrap(v))).collect())
            }
            Value::Array(a) => Value::Array(a.into_iter().map(unwrap).collect()),
            other => other,
        }
    }
    unwrap(serde_json::from_str(form).unwrap_or(Value::Null))
}

fn out_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(name)
}

#[derive(Debug, Default)]
struct Tally {
    compatible: usize,
    incompatible: usize,
    both_reject: Vec<Value>,
    /// Pairs one parser accepts and the other rejects, or that they read otherwise, by
    /// cause.
    parser_differences: BTreeMap<String, Vec<Value>>,
    /// Pairs whose check throws in Java (a reader field matching two writer fields).
    check_errors: Vec<Value>,
    disagreements: Vec<Case>,
    /// How often Avro Java reported each incompatibility type.
    kinds: BTreeMap<String, usize>,
}

impl Tally {
    fn record(&mut self, pair: &Value, java: &Value) {
        let rust = parse(&pair["reader"]).and_then(|r| Ok((r, parse(&pair["writer"])?)));
        match (java.get("error").and_then(Value::as_str), &rust) {
            (Some(_), Err(_)) => self.both_reject.push(pair.clone()),
            (Some(java_error), Ok(_)) => {
                self.parser_difference("only Avro Java rejects", java_error, pair)
            }
            (None, Err(rust_error)) => {
                self.parser_difference("only apache-avro rejects", rust_error, pair)
            }
            (None, Ok((reader, writer))) => {
                let forms = [
                    canonical(&reader.canonical_form()),
                    canonical(&writer.canonical_form()),
                ];
                let java_forms = [&java["readerCanonical"], &java["writerCanonical"]];
                let java_forms = java_forms.map(|f| canonical(f.as_str().unwrap_or_default()));
                if forms != java_forms {
                    let (java, ours) = (json!(java_forms), json!(forms));
                    let error =
                        format!("Parsing Canonical Forms differ: Java {java}, apache-avro {ours}");
                    return self.parser_difference("both accept, but read otherwise", &error, pair);
                }
                let ours = ours(reader, writer);
                if let Some(error) = java.get("checkError") {
                    let ours = ours.map_or_else(|e| json!(e), |found| json!(found));
                    self.check_errors
                        .push(json!({"pair": pair, "java": error, "ours": ours}));
                    return;
                }
                let compatible = java["compatible"].as_bool().unwrap_or(false);
                let expected: Vec<Found> =
                    serde_json::from_value(java["incompatibilities"].clone()).unwrap_or_default();
                if compatible {
                    self.compatible += 1
                } else {
                    self.incompatible += 1
                }
                for found in &expected {
                    *self.kinds.entry(found.kind.clone()).or_default() += 1;
                }
                if ours.as_ref() != Ok(&expected) || compatible != expected.is_empty() {
                    let name = format!("generated pair {}", self.disagreements.len() + 1);
                    self.disagreements.push(Case {
                        name,
                        reader: pair["reader"].clone(),
                        writer: pair["writer"].clone(),
                        compatible,
                        incompatibilities: expected,
                        ours: Some(ours.map_or_else(|e| json!(e), |found| json!(found))),
                    });
                }
            }
        }
    }

    /// Keyed by the error's first words (before names and values), so that one cause
    /// is one entry.
    fn parser_difference(&mut self, what: &str, error: &str, pair: &Value) {
        let error = error
            .trim_start_matches("reader schema: ")
            .trim_start_matches("writer schema: ");
        let cause = error
            .split([':', '"', '\'', '`', '{', '('])
            .find(|c| !c.trim().is_empty());
        let cause: Vec<&str> = cause
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect();
        let key = format!("{what}: {}…", cause.join(" "));
        let example = json!({"error": error, "reader": pair["reader"], "writer": pair["writer"]});
        self.parser_differences
            .entry(key)
            .or_default()
            .push(example);
    }

    fn report(&self, pairs: usize, seconds: f64) -> Res {
        let compared = self.compatible + self.incompatible;
        println!(
            "{pairs} generated pairs in {seconds:.1} s: {compared} compared with Avro Java \
             ({} compatible, {} incompatible), {} disagreements; {} rejected by both parsers, \
             {} accepted by one parser only, {} throw in Java's check",
            self.compatible,
            self.incompatible,
            self.disagreements.len(),
            self.both_reject.len(),
            self.parser_differences
                .values()
                .map(Vec::len)
                .sum::<usize>(),
            self.check_errors.len(),
        );
        println!(
            "incompatibilities Avro Java reported, by type: {:?}",
            self.kinds
        );
        for (cause, examples) in &self.parser_differences {
            println!(
                "parser difference ({}×): {cause}\n  e.g. {}",
                examples.len(),
                examples[0]
            );
        }
        for example in self.both_reject.iter().take(3) {
            println!("both parsers reject: {example}");
        }
        for example in self.check_errors.iter().take(3) {
            println!("Java's check throws: {example}");
        }
        let differences: BTreeMap<&String, &Vec<Value>> = self.parser_differences.iter().collect();
        std::fs::write(
            out_file("differential_parser_differences.json"),
            serde_json::to_string_pretty(&differences)?,
        )?;
        let file = out_file("differential_disagreements.json");
        let cases = Cases {
            cases: self.disagreements.clone(),
        };
        std::fs::write(&file, serde_json::to_string_pretty(&cases)?)?;
        for case in self.disagreements.iter().take(5) {
            println!("DISAGREEMENT {}", serde_json::to_string_pretty(case)?);
        }
        if !self.disagreements.is_empty() {
            return Err(format!(
                "{} of {compared} pairs: the checker disagrees with Avro Java; all of them are in {} \
                 (in the format of tests/compat/differential_regressions.json)",
                self.disagreements.len(),
                file.display()
            )
            .into());
        }
        if compared < pairs * 4 / 5
            || self.compatible < compared / 5
            || self.incompatible < compared / 5
        {
            return Err("the generator no longer makes enough valid pairs of both outcomes".into());
        }
        Ok(())
    }
}

#[test]
fn the_checker_agrees_with_avro_java_on_thousands_of_generated_pairs() -> Res {
    let started = Instant::now();
    let (seed, count) = (
        setting("ORDERFLOW_DIFFERENTIAL_SEED", SEED)?,
        setting("ORDERFLOW_DIFFERENTIAL_PAIRS", PAIRS as u64)?,
    );
    let pairs: Vec<Value> = generate::pairs(seed, count as usize)
        .into_iter()
        .map(|p| json!({"reader": p.reader, "writer": p.writer}))
        .collect();
    let answers = oracle::ask(&pairs)?;
    let mut tally = Tally::default();
    for (pair, java) in pairs.iter().zip(&answers) {
        tally.record(pair, java);
    }
    tally.report(pairs.len(), started.elapsed().as_secs_f64())
}

#[test]
fn the_checker_still_agrees_with_avro_java_on_the_recorded_disagreements() -> Res {
    let file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compat/differential_regressions.json");
    let recorded: Cases = serde_json::from_str(&std::fs::read_to_string(file)?)?;
    let mut failures = Vec::new();
    for case in &recorded.cases {
        let found = ours(&parse(&case.reader)?, &parse(&case.writer)?);
        if found.as_ref() != Ok(&case.incompatibilities)
            || case.compatible != case.incompatibilities.is_empty()
        {
            failures.push(format!(
                "{}: Avro Java says {}, the checker says {:?}",
                case.name,
                json!(case.incompatibilities),
                found
            ));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n").into())
    }
}

#[test]
fn the_verdicts_recorded_in_the_ported_data_are_avro_javas() -> Res {
    oracle::check_recorded_verdicts(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compat"))
}
