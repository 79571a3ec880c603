//! Regressions: writer schemas (registered by anyone: the registry is open) that nest
//! deeper than a worker's stack can decode, directly, through references or by
//! containing themselves. Each is a dead letter; what nests to the limit still decodes.

use orderflow_core::codec::MAX_DEPTH;
use orderflow_core::frame;

use crate::fixture::Fixture;
use crate::seeded::TestResult;

/// The subject the writer schemas here are registered under, apart from the events'.
const SUBJECT: &str = "elsewhere-OrderConfirmed";

/// `OrderConfirmed` with an extra field `deep` of type `nested` (what the reader skips).
fn confirmed_with(nested: &str) -> String {
    format!(
        r#"{{"type":"record","name":"OrderConfirmed","fields":[
            {{"name":"orderId","type":"string"}},{{"name":"deep","type":{nested}}}]}}"#
    )
}

/// A type `levels` complex types deep of one shape, ending in `int`, and a value of it
/// that goes all the way down, encoded.
fn nested(shape: usize, levels: usize) -> (String, Vec<u8>) {
    let (mut schema, mut body) = ("\"int\"".to_owned(), vec![0u8]);
    for level in 0..levels {
        match shape {
            0 => {
                schema = format!(
                    r#"{{"type":"record","name":"N{level}","fields":[{{"name":"x","type":{schema}}}]}}"#
                );
            }
            1 => {
                schema = format!(r#"{{"type":"array","items":{schema}}}"#);
                body = [vec![2], body, vec![0]].concat();
            }
            2 => {
                schema = format!(r#"{{"type":"map","values":{schema}}}"#);
                body = [vec![2, 2, b'k'], body, vec![0]].concat();
            }
            _ => {
                // A union may not hold a union: alternate with arrays.
                if level % 2 == 0 {
                    schema = format!(r#"["null",{schema}]"#);
                    body.insert(0, 2);
                } else {
                    schema = format!(r#"{{"type":"array","items":{schema}}}"#);
                    body = [vec![2], body, vec![0]].concat();
                }
            }
        }
    }
    (schema, body)
}

/// Writer schemas nested to the limit still decode on a worker's stack; one level more
/// is a dead letter. (Without the guard, 40 nested records overflowed the stack of a
/// debug build.)
#[test]
fn writer_schemas_nested_to_the_limit_decode_and_deeper_ones_are_refused() -> TestResult {
    let fixture = Fixture::new();
    for shape in 0..4 {
        // The top record is one level.
        for (levels, decodes) in [(MAX_DEPTH - 1, true), (MAX_DEPTH, false), (36, false)] {
            let (schema, deep) = nested(shape, levels);
            let (codec, id) = fixture.registered_elsewhere(SUBJECT, &confirmed_with(&schema));
            let body = [vec![2, b'o'], deep].concat();
            let case = format!("shape {shape}, {levels}");
            if decodes {
                let answer = fixture.decode_with(&codec, &frame(id, &body));
                assert!(matches!(answer, Ok(Ok(_))), "{case}: {answer:?}");
            } else {
                let reason = fixture.refused(&codec, id, &body, &case)?;
                assert!(reason.contains("nests more than"), "{reason}");
            }
        }
    }
    Ok(())
}

/// A record type defined in one field is the type of the next: 5,000 levels in 500 KB
/// of schema, and a body of 5,002 bytes that goes all the way down. apache-avro's
/// decoder overflowed the stack (from 40 levels on, debug build), which aborted the
/// process: a consumer would die on the record at every restart.
#[test]
fn a_writer_schema_nesting_thousands_of_levels_through_references_is_a_dead_letter() -> TestResult {
    let fixture = Fixture::new();
    let n = 5_000;
    let mut fields = vec![
        r#"{"name":"orderId","type":"string"}"#.to_owned(),
        r#"{"name":"f0","type":{"type":"record","name":"R0","fields":[{"name":"x","type":"int"}]}}"#.to_owned(),
    ];
    for i in 1..n {
        fields.push(format!(
            r#"{{"name":"f{i}","type":{{"type":"record","name":"R{i}","fields":[{{"name":"x","type":"R{}"}}]}}}}"#,
            i - 1
        ));
    }
    let schema = format!(
        r#"{{"type":"record","name":"OrderConfirmed","fields":[{}]}}"#,
        fields.join(",")
    );
    let (codec, id) = fixture.registered_elsewhere(SUBJECT, &schema);
    let body = [vec![2, b'o'], vec![0; n]].concat();
    let reason = fixture.refused(&codec, id, &body, "the record")?;
    assert!(reason.contains("nests more than"), "{reason}");
    Ok(())
}

/// A record that contains itself nests as deep as its data: a linked list of 100,000
/// cells is 100,000 bytes.
#[test]
fn a_writer_schema_that_contains_itself_is_a_dead_letter() -> TestResult {
    let fixture = Fixture::new();
    let schema = r#"{"type":"record","name":"OrderConfirmed","fields":[
        {"name":"orderId","type":"string"},
        {"name":"next","type":["null","OrderConfirmed"]}]}"#;
    let (codec, id) = fixture.registered_elsewhere(SUBJECT, schema);
    let cell = [2u8, b'o', 2];
    let body: Vec<u8> = cell
        .iter()
        .copied()
        .cycle()
        .take(300_000)
        .chain([2, b'o', 0])
        .collect();
    let reason = fixture.refused(&codec, id, &body, "the record")?;
    assert!(reason.contains("contains itself"), "{reason}");
    Ok(())
}
