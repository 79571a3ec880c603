//! A guard in front of apache-avro's parser. apache-avro 0.22 checks a field's default by
//! resolving it against the field's type, trying the union branches that might match,
//! and fills the fields an object default leaves out with their own defaults. When a
//! default leads back to itself (a record `B` with a field of type `[map, B]` and
//! default `{}`, used as the default of a field of type `B`), that never ends: the
//! parser overflows the stack, which aborts the whole process, so one registration
//! would take orderflow down. Avro Java accepts such schemas.
//!
//! Only object and array defaults of fields whose type can hold a record can start
//! such a walk. Those are taken out of the JSON before apache-avro parses it and put
//! back on the parsed schema afterwards: the parser never resolves them, and the
//! schema is otherwise exactly what it would have been.

use std::collections::{HashMap, HashSet};

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

fn is_record(o: &Map<String, Value>) -> bool {
    matches!(
        o.get("type").and_then(Value::as_str),
        Some("record" | "error")
    )
}

/// The full names of the record types defined anywhere in `schema`.
fn records(schema: &Value, namespace: Option<&str>, found: &mut HashSet<String>) {
    match schema {
        Value::Array(branches) => branches.iter().for_each(|b| records(b, namespace, found)),
        Value::Object(o) => {
            let named = naming(o, namespace);
            if let (Some((full, _)), true) = (&named, is_record(o)) {
                found.insert(full.clone());
            }
            let inner = named.map_or(namespace.map(str::to_owned), |(_, inner)| inner);
            for key in ["type", "items", "values"] {
                if let Some(t) = o.get(key) {
                    records(t, inner.as_deref(), found);
                }
            }
            for f in o
                .get("fields")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(t) = f.get("type") {
                    records(t, inner.as_deref(), found);
                }
            }
        }
        _ => {}
    }
}

/// Whether a value of type `ty` can hold a record.
fn holds_record(ty: &Value, namespace: Option<&str>, records: &HashSet<String>) -> bool {
    match ty {
        Value::String(name) => {
            records.contains(&full_name(name, namespace)) || records.contains(name.as_str())
        }
        Value::Array(branches) => branches.iter().any(|b| holds_record(b, namespace, records)),
        Value::Object(o) if is_record(o) => true,
        Value::Object(o) => match o.get("type") {
            Some(Value::String(t)) if t == "array" => o
                .get("items")
                .is_some_and(|i| holds_record(i, namespace, records)),
            Some(Value::String(t)) if t == "map" => o
                .get("values")
                .is_some_and(|v| holds_record(v, namespace, records)),
            Some(Value::String(t)) if t == "enum" || t == "fixed" => false,
            Some(t) => holds_record(t, namespace, records),
            None => false,
        },
        _ => false,
    }
}

/// Takes the risky defaults out of `schema`, returning them.
pub fn detach(schema: &mut Value, refs: &[Value]) -> Detached {
    let mut known = HashSet::new();
    for r in refs {
        records(r, None, &mut known);
    }
    records(schema, None, &mut known);
    let mut detached = Detached::new();
    take(schema, None, &known, &mut detached);
    detached
}

fn take(schema: &mut Value, namespace: Option<&str>, known: &HashSet<String>, out: &mut Detached) {
    match schema {
        Value::Array(branches) => {
            for b in branches {
                take(b, namespace, known, out);
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
                    take(t, inner, known, out);
                }
            }
            let fields = o.get_mut("fields").and_then(Value::as_array_mut);
            for f in fields.into_iter().flatten() {
                let Some(field) = f.as_object_mut() else {
                    continue;
                };
                if let Some(t) = field.get_mut("type") {
                    take(t, inner, known, out);
                }
                let risky = matches!(
                    field.get("default"),
                    Some(Value::Object(_) | Value::Array(_))
                ) && field
                    .get("type")
                    .is_some_and(|t| holds_record(t, inner, known));
                let name = field.get("name").and_then(Value::as_str).map(str::to_owned);
                if let (true, Some(record), Some(name)) = (risky, &record, name)
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
    use super::*;

    const ENDLESS: &str = r#"{"type":"record","name":"A","fields":[
        {"name":"b","type":{"type":"record","name":"B","fields":[
            {"name":"c","type":[{"type":"map","values":"int"},"B"],"default":{}}]}},
        {"name":"d","type":"B","default":{}}]}"#;

    #[test]
    fn object_defaults_of_fields_that_hold_records_are_detached_and_reattached() {
        let mut json: Value = serde_json::from_str(ENDLESS).unwrap();
        let detached = detach(&mut json, &[]);
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
    fn other_defaults_stay_for_the_parser_to_check() {
        let mut json: Value = serde_json::from_str(
            r#"{"type":"record","name":"A","fields":[
                {"name":"m","type":{"type":"map","values":"int"},"default":{"a":1}},
                {"name":"n","type":["null","A"],"default":null},
                {"name":"i","type":"int","default":1}]}"#,
        )
        .unwrap();
        let before = json.clone();
        assert!(detach(&mut json, &[]).is_empty());
        assert_eq!(json, before);
    }
}
