//! Differential test of the registry against the reference, Avro Java 1.12.2's
//! `Schema.Parser` and `SchemaCompatibility.checkReaderWriterCompatibility` (the oracle in
//! `tools/avro-oracle`, built with Maven on first use): thousands of generated
//! reader/writer pairs, each schema parsed as a registration is (`normalise`), must be
//! refused by both, or read alike and given the same verdict and the same
//! incompatibilities (type, location, message, in order). Every pair counts; each
//! disagreement fails the test and is kept as a regression case in
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

use orderflow_core::registry::{Resolved, normalise};
use serde_json::{Value, json};

use avro_java::{Case, Cases, Found, found};

type Res<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Fixed, so that every run checks the same pairs; `ORDERFLOW_DIFFERENTIAL_SEED` and
/// `ORDERFLOW_DIFFERENTIAL_PAIRS` override them to hunt further.
const SEED: u64 = 0x0a7d_f10e_2026;
const PAIRS: usize = 4000;

fn setting(name: &str, default: u64) -> Res<u64> {
    std::env::var(name).map_or(Ok(default), |v| Ok(v.parse()?))
}

/// What panicked, as text.
fn panic_text(panic: Box<dyn std::any::Any + Send>) -> String {
    let text = panic.downcast_ref::<String>().cloned();
    let text = text.or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()));
    format!("panicked: {}", text.unwrap_or_default())
}

/// The checker's answer, or its panic message.
fn ours(reader: &Resolved, writer: &Resolved) -> Result<Vec<Found>, String> {
    catch_unwind(AssertUnwindSafe(|| found(reader.can_read(writer)))).map_err(panic_text)
}

/// A schema as the registry parses a registration (`normalise`, the path the REST API
/// takes, with its guard in front of apache-avro), or why the registry refuses it.
fn parse(schema: &Value) -> Result<Resolved, String> {
    let text = schema.to_string();
    catch_unwind(AssertUnwindSafe(|| normalise("differential", &text, &[])))
        .map_err(panic_text)?
        .map(|(resolved, _)| resolved)
        .map_err(|e| e.to_string())
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
    /// Pairs that Avro Java and the registry both refuse to parse.
    both_refuse: usize,
    /// Pairs whose check throws in Java, which Confluent's registry takes as
    /// incompatible (`AvroSchema.isBackwardCompatible` catches it), as the checker must.
    check_errors: usize,
    /// Every pair on which the registry and Avro Java differ, in the format of
    /// `compat/differential_regressions.json`, with `ours` and `why`.
    disagreements: Vec<Case>,
    /// How often Avro Java reported each incompatibility type.
    kinds: BTreeMap<String, usize>,
}

impl Tally {
    fn record(&mut self, pair: &Value, java: &Value) {
        let parsed = parse(&pair["reader"]).and_then(|r| Ok((r, parse(&pair["writer"])?)));
        let (reader, writer) = match (java.get("error").and_then(Value::as_str), parsed) {
            (Some(_), Err(_)) => return self.both_refuse += 1,
            (Some(java_error), Ok(_)) => {
                let why = format!("only Avro Java refuses to parse it: {java_error}");
                return self.disagree(pair, java, why, Value::Null);
            }
            (None, Err(ours)) => {
                let why = format!("only the registry refuses to parse it: {ours}");
                return self.disagree(pair, java, why, Value::Null);
            }
            (None, Ok(parsed)) => parsed,
        };
        let forms = [
            canonical(&reader.schema.canonical_form()),
            canonical(&writer.schema.canonical_form()),
        ];
        let java_forms = [&java["readerCanonical"], &java["writerCanonical"]];
        let java_forms = java_forms.map(|f| canonical(f.as_str().unwrap_or_default()));
        if forms != java_forms {
            let why = "the parsers read it otherwise (Parsing Canonical Forms differ)";
            return self.disagree(pair, java, why.into(), json!(forms));
        }
        let found = ours(&reader, &writer);
        let answer = found.as_ref().map_or_else(|e| json!(e), |f| json!(f));
        if let Some(error) = java.get("checkError") {
            if !found.as_ref().is_ok_and(|f| !f.is_empty()) {
                let why =
                    format!("Avro Java's check throws ({error}), the checker finds it compatible");
                return self.disagree(pair, java, why, answer);
            }
            return self.check_errors += 1;
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
        if found.as_ref() != Ok(&expected) || compatible != expected.is_empty() {
            let why = "the checker's answer differs from Avro Java's";
            self.disagree(pair, java, why.into(), answer);
        }
    }

    fn disagree(&mut self, pair: &Value, java: &Value, why: String, ours: Value) {
        let incompatibilities =
            serde_json::from_value(java["incompatibilities"].clone()).unwrap_or_default();
        self.disagreements.push(Case {
            name: format!("generated pair {}", self.disagreements.len() + 1),
            reader: pair["reader"].clone(),
            writer: pair["writer"].clone(),
            compatible: java["compatible"].as_bool().unwrap_or(false),
            incompatibilities,
            parse_error: java.get("error").and_then(Value::as_str).map(str::to_owned),
            check_error: java
                .get("checkError")
                .and_then(Value::as_str)
                .map(str::to_owned),
            ours: Some(json!({"why": why, "answer": ours})),
        });
    }

    fn report(&self, pairs: usize, seconds: f64) -> Res {
        println!(
            "{pairs} generated pairs in {seconds:.1} s: {} compatible and {} incompatible as \
             Avro Java says, {} refused by both parsers, {} throw in Java's check (and are \
             incompatible for the checker); {} disagreements",
            self.compatible,
            self.incompatible,
            self.both_refuse,
            self.check_errors,
            self.disagreements.len(),
        );
        println!(
            "incompatibilities Avro Java reported, by type: {:?}",
            self.kinds
        );
        let file = out_file("differential_disagreements.json");
        let cases = Cases {
            cases: self.disagreements.clone(),
        };
        std::fs::write(&file, serde_json::to_string_pretty(&cases)?)?;
        let mut why: BTreeMap<String, usize> = BTreeMap::new();
        for case in &self.disagreements {
            let text = case.ours.as_ref().and_then(|o| o["why"].as_str());
            let text: String = text.unwrap_or_default().chars().take(90).collect();
            *why.entry(text).or_default() += 1;
        }
        for (text, n) in &why {
            println!("{n}× {text}");
        }
        for case in self.disagreements.iter().take(5) {
            println!("DISAGREEMENT {}", serde_json::to_string_pretty(case)?);
        }
        let counted = self.compatible + self.incompatible + self.both_refuse + self.check_errors;
        if counted + self.disagreements.len() != pairs {
            return Err(format!("{counted} of {pairs} pairs were judged").into());
        }
        if !self.disagreements.is_empty() {
            return Err(format!(
                "on {} of {pairs} pairs the registry disagrees with Avro Java; all of them are \
                 in {} (in the format of tests/compat/differential_regressions.json)",
                self.disagreements.len(),
                file.display()
            )
            .into());
        }
        let compared = self.compatible + self.incompatible;
        if self.compatible < compared / 5 || self.incompatible < compared / 5 {
            return Err("the generator no longer makes enough pairs of both outcomes".into());
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
        if let Some(error) = &case.parse_error {
            if let (Ok(_), Ok(_)) = (parse(&case.reader), parse(&case.writer)) {
                failures.push(format!(
                    "{}: Avro Java refuses it ({error}), the registry parses it",
                    case.name
                ));
            }
            continue;
        }
        let (reader, writer) = match (parse(&case.reader), parse(&case.writer)) {
            (Ok(reader), Ok(writer)) => (reader, writer),
            (Err(e), _) | (_, Err(e)) => {
                failures.push(format!(
                    "{}: Avro Java parses it, the registry refuses: {e}",
                    case.name
                ));
                continue;
            }
        };
        let found = ours(&reader, &writer);
        let agrees = match &case.check_error {
            Some(_) => found.as_ref().is_ok_and(|f| !f.is_empty()),
            None => {
                found.as_ref() == Ok(&case.incompatibilities)
                    && case.compatible == case.incompatibilities.is_empty()
            }
        };
        if !agrees {
            failures.push(format!(
                "{}: Avro Java says {}{}, the checker says {:?}",
                case.name,
                json!(case.incompatibilities),
                case.check_error.as_deref().unwrap_or_default(),
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
