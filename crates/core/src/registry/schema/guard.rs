//! A guard in front of apache-avro's parser: every field default is taken out of the
//! JSON before apache-avro parses it and put back on the parsed schema afterwards, so the
//! parser never judges or resolves one.
//!
//! apache-avro 0.22 judges a default by its own rules, which are not Avro Java's (it
//! refuses a string default for a `fixed`, or a union default that does not fit the
//! first branch, and accepts `[1]` for `bytes`): [`super::defaults`] judges them as Avro
//! Java does instead. And it resolves a default against the field's type, filling the
//! fields an object default leaves out with their own defaults; when a default leads back
//! to itself (a record `B` with a field of type `[map, B]` and default `{}`, used as the
//! default of a field of type `B`), that never ends: the parser overflows the stack,
//! which aborts the whole process, so one registration would take orderflow down.

use std::collections::HashMap;

use apache_avro::Schema;
use serde_json::{Map, Value};

/// Defaults taken out, by (record full name, field name).
pub type Detached = HashMap<(String, String), Value>;

fn full_name(name: &str, namespace: Option<&str>) -> String {
    match namespace {
        Some(ns) if !name.contains('.') && !ns.is_empty() => format!("{ns}.{name}"),
        _ => name.to_owned(),
    }
}

/// The full name of a named type, and the namespace of what it contains.
fn naming(o: &Map<String, Value>, outer: Option<&str>) -> Option<(String, Option<String>)> {
    let name = o.get("name").and_then(Value::as_str)?;
    let ns = o.get("namespace").and_then(Value::as_str).or(outer);
    let full = full_name(name, ns);
    let inner = full.rsplit_once('.').map(|(ns, _)| ns.to_owned());
    Some((full, inner))
}

/// Takes the field defaults out of `schema`, returning them.
pub fn detach(schema: &mut Value) -> Detached {
    let mut detached = Detached::new();
    take(schema, None, &mut detached);
    detached
}

fn is_record(o: &Map<String, Value>) -> bool {
    matches!(
        o.get("type").and_then(Value::as_str),
        Some("record" | "error")
    )
}

fn take(schema: &mut Value, namespace: Option<&str>, out: &mut Detached) {
    match schema {
        Value::Array(branches) => {
            for b in branches {
                take(b, namespace, out);
            }
        }
        Value::Object(o) => {
            let named = naming(o, namespace);
            let record = named
                .as_ref()
                .filter(|_| is_record(o))
                .map(|(f, _)| f.clone());
            let inner = named.map_or(namespace.map(str::to_owned), |(_, inner)| inner);
            let inner = inner.as_deref();
            for key in ["type", "items", "values"] {
                if let Some(t) = o.get_mut(key) {
                    take(t, inner, out);
                }
            }
            let fields = o.get_mut("fields").and_then(Value::as_array_mut);
            for f in fields.into_iter().flatten() {
                let Some(field) = f.as_object_mut() else {
                    continue;
                };
                if let Some(t) = field.get_mut("type") {
                    take(t, inner, out);
                }
                let name = field.get("name").and_then(Value::as_str).map(str::to_owned);
                if let (Some(record), Some(name)) = (&record, name)
                    && let Some(default) = field.remove("default")
                {
                    out.insert((record.clone(), name), default);
                }
            }
        }
        _ => {}
    }
}

/// Puts the detached defaults back on the parsed schema.
pub fn reattach(schema: &mut Schema, detached: &Detached) {
    if detached.is_empty() {
        return;
    }
    match schema {
        Schema::Record(r) => {
            let record = r.name.fullname(None);
            for field in &mut r.fields {
                if let Some(default) = detached.get(&(record.clone(), field.name.clone())) {
                    field.default = Some(default.clone());
                }
                reattach(&mut field.schema, detached);
            }
        }
        Schema::Array(a) => reattach(&mut a.items, detached),
        Schema::Map(m) => reattach(&mut m.types, detached),
        Schema::Union(u) => {
            let mut variants = u.variants().to_vec();
            for v in &mut variants {
                reattach(v, detached);
            }
            if let Ok(rebuilt) = apache_avro::schema::UnionSchema::new(variants) {
                *u = rebuilt;
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    const ENDLESS: &str = r#"{"type":"record","name":"A","fields":[
        {"name":"b","type":{"type":"record","name":"B","fields":[
            {"name":"c","type":[{"type":"map","values":"int"},"B"],"default":{}}]}},
        {"name":"d","type":"B","default":{}}]}"#;

    #[test]
    fn every_field_default_is_detached_and_reattached() {
        let mut json: Value = serde_json::from_str(ENDLESS).unwrap();
        let detached = detach(&mut json);
        let keys: HashSet<_> = detached.keys().cloned().collect();
        let expected: HashSet<_> = [("B", "c"), ("A", "d")]
            .map(|(r, f)| (r.to_owned(), f.to_owned()))
            .into();
        assert_eq!(keys, expected);
        let mut schema = Schema::parse(&json).unwrap();
        reattach(&mut schema, &detached);
        let Schema::Record(a) = &schema else {
            panic!("a record")
        };
        assert_eq!(a.fields[1].default, Some(serde_json::json!({})));
    }

    #[test]
    fn defaults_are_found_under_their_records_full_name() {
        let mut json: Value = serde_json::from_str(
            r#"{"type":"record","name":"A","namespace":"x","fields":[
                {"name":"m","type":{"type":"map","values":"int"},"default":{"a":1}},
                {"name":"r","type":{"type":"record","name":"R","namespace":"","fields":[
                    {"name":"i","type":"int","default":1}]}},
                {"name":"n","type":["null","A"],"default":null}]}"#,
        )
        .unwrap();
        let detached = detach(&mut json);
        let mut keys: Vec<_> = detached.into_keys().collect();
        keys.sort();
        let expected =
            [("R", "i"), ("x.A", "m"), ("x.A", "n")].map(|(r, f)| (r.to_owned(), f.to_owned()));
        assert_eq!(keys, expected);
    }
}
