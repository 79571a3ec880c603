//! Field defaults judged by Avro Java's rules (`Schema.isValidDefault` in 1.12), not
//! apache-avro's: the guard takes every field default out before apache-avro parses a
//! schema, and they are checked here on the parsed schema, so that the registry accepts
//! and refuses the defaults Avro Java (and so Confluent's registry) does.
//!
//! Avro Java checks a default's JSON kind only: a string for `string`, `bytes`, `enum`
//! and `fixed` (whatever its length or symbol), an integer in range for `int` and
//! `long`, any number for `float` and `double`, and for a union any branch. A string
//! default of a `float` or `double` field is read as a number, or refused.

use std::collections::HashMap;

use apache_avro::Schema;
use apache_avro::schema::{InnerDecimalSchema, UuidSchema};
use serde_json::Value;

/// How deep a default's check may go through record defaults: a record whose field
/// defaults lead back to itself would never end (Avro Java overflows its stack).
const MAX_DEPTH: usize = 64;

/// Named types by full name.
type Names<'a> = HashMap<String, &'a Schema>;

/// Reads the string defaults of `float` and `double` fields as numbers, as Avro Java
/// does, and checks every field default of `schema`; the refs are the named types it
/// may use.
pub fn check(schema: &mut Schema, refs: &mut [Schema]) -> Result<(), String> {
    numbers(schema)?;
    for r in refs.iter_mut() {
        numbers(r)?;
    }
    let refs = &*refs;
    let mut names = Names::new();
    for r in refs {
        collect(r, &mut names);
    }
    collect(schema, &mut names);
    for r in refs {
        fields(r, &names, &mut Vec::new())?;
    }
    fields(schema, &names, &mut Vec::new())
}

/// Checks the defaults of the fields of every record in `schema`, inside the records
/// `open` (the enclosing ones, whose definitions are not complete yet).
fn fields(schema: &Schema, names: &Names<'_>, open: &mut Vec<String>) -> Result<(), String> {
    match schema {
        Schema::Record(record) => {
            open.push(record.name.fullname(None));
            for field in &record.fields {
                fields(&field.schema, names, open)?;
            }
            for field in &record.fields {
                let Some(default) = &field.default else {
                    continue;
                };
                let context = Check { names, open };
                match context.valid(&field.schema, default, 0) {
                    Ok(true) => {}
                    Ok(false) => {
                        return Err(format!(
                            "Invalid default for field {}: {default} not a {}",
                            field.name,
                            serde_json::to_string(&field.schema).unwrap_or_default()
                        ));
                    }
                    Err(Open(name)) => {
                        return Err(format!(
                            "the default of field {} needs the fields of {name}, which encloses it \
                             (Avro Java: Schema fields not set yet)",
                            field.name
                        ));
                    }
                }
            }
            open.pop();
        }
        Schema::Array(a) => fields(&a.items, names, open)?,
        Schema::Map(m) => fields(&m.types, names, open)?,
        Schema::Union(u) => {
            for v in u.variants() {
                fields(v, names, open)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn collect<'a>(schema: &'a Schema, names: &mut Names<'a>) {
    match schema {
        Schema::Record(r) => {
            names.insert(r.name.fullname(None), schema);
            for f in &r.fields {
                collect(&f.schema, names);
            }
        }
        Schema::Enum(e) => {
            names.insert(e.name.fullname(None), schema);
        }
        Schema::Fixed(f) | Schema::Duration(f) => {
            names.insert(f.name.fullname(None), schema);
        }
        Schema::Decimal(d) => {
            if let InnerDecimalSchema::Fixed(f) = &d.inner {
                names.insert(f.name.fullname(None), schema);
            }
        }
        Schema::Uuid(UuidSchema::Fixed(f)) => {
            names.insert(f.name.fullname(None), schema);
        }
        Schema::Array(a) => collect(&a.items, names),
        Schema::Map(m) => collect(&m.types, names),
        Schema::Union(u) => u.variants().iter().for_each(|v| collect(v, names)),
        _ => {}
    }
}

/// Avro Java's `Field` constructor reads a string default of a `float` or `double` field
/// with `Double.parseDouble`.
fn numbers(schema: &mut Schema) -> Result<(), String> {
    match schema {
        Schema::Record(r) => {
            for f in &mut r.fields {
                if let (Schema::Float | Schema::Double, Some(Value::String(text))) =
                    (&f.schema, &f.default)
                {
                    let number = java_double(text)
                        .ok_or_else(|| format!("Invalid default for field {}: {text:?}", f.name))?;
                    f.default = Some(
                        serde_json::Number::from_f64(number)
                            .map_or(Value::String(text.clone()), Value::Number),
                    );
                }
                numbers(&mut f.schema)?;
            }
        }
        Schema::Array(a) => numbers(&mut a.items)?,
        Schema::Map(m) => numbers(&mut m.types)?,
        Schema::Union(u) => {
            let mut variants = u.variants().to_vec();
            for v in &mut variants {
                numbers(v)?;
            }
            if let Ok(rebuilt) = apache_avro::schema::UnionSchema::new(variants) {
                *u = rebuilt;
            }
        }
        _ => {}
    }
    Ok(())
}

/// What `Double.parseDouble` reads: a decimal number with an optional exponent and
/// type suffix, `NaN` or `Infinity`, with surrounding spaces.
fn java_double(text: &str) -> Option<f64> {
    let t = text.trim();
    let unsigned = t.trim_start_matches(['+', '-']);
    match unsigned {
        "NaN" => return Some(f64::NAN),
        "Infinity" => {
            return Some(if t.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            });
        }
        _ => {}
    }
    let t = t.trim_end_matches(['f', 'F', 'd', 'D']);
    let plain = t
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | '.' | 'e' | 'E'));
    if plain { t.parse().ok() } else { None }
}

/// A default's check reached an object for a record whose definition encloses the
/// field: Avro Java resolves a recursive schema by copying each record's fields once
/// the records inside them are complete, checking each default again as it copies,
/// and throws ("Schema fields not set yet") on reaching a record still being copied.
struct Open(String);

struct Check<'a> {
    names: &'a Names<'a>,
    open: &'a [String],
}

impl Check<'_> {
    /// `Schema.isValidDefault`, where a union's branches are tried in order with
    /// `isValidValue` (any branch) and a record's missing fields take their own defaults.
    fn valid(&self, schema: &Schema, value: &Value, depth: usize) -> Result<bool, Open> {
        if depth > MAX_DEPTH {
            return Ok(false);
        }
        let depth = depth + 1;
        Ok(match schema {
            Schema::Null => value.is_null(),
            Schema::Boolean => value.is_boolean(),
            Schema::Int | Schema::Date | Schema::TimeMillis => {
                value.as_i64().is_some_and(|n| i32::try_from(n).is_ok())
            }
            Schema::Long
            | Schema::TimeMicros
            | Schema::TimestampMillis
            | Schema::TimestampMicros
            | Schema::TimestampNanos
            | Schema::LocalTimestampMillis
            | Schema::LocalTimestampMicros
            | Schema::LocalTimestampNanos => value.as_i64().is_some(),
            Schema::Float | Schema::Double => value.is_number(),
            Schema::Bytes
            | Schema::String
            | Schema::Enum(_)
            | Schema::Fixed(_)
            | Schema::Duration(_)
            | Schema::Decimal(_)
            | Schema::BigDecimal
            | Schema::Uuid(_) => value.is_string(),
            Schema::Array(a) => match value.as_array() {
                Some(items) => self.all(items.iter().map(|i| (&*a.items, i)), depth)?,
                None => false,
            },
            Schema::Map(m) => match value.as_object() {
                Some(o) => self.all(o.values().map(|v| (&*m.types, v)), depth)?,
                None => false,
            },
            Schema::Union(u) => {
                for branch in u.variants() {
                    if self.valid(branch, value, depth)? {
                        return Ok(true);
                    }
                }
                false
            }
            Schema::Record(r) => {
                let Some(o) = value.as_object() else {
                    return Ok(false);
                };
                let name = r.name.fullname(None);
                if self.open.contains(&name) {
                    return Err(Open(name));
                }
                for f in &r.fields {
                    match o.get(&f.name).or(f.default.as_ref()) {
                        Some(v) if self.valid(&f.schema, v, depth)? => {}
                        _ => return Ok(false),
                    }
                }
                true
            }
            Schema::Ref { name } => match self.names.get(&name.fullname(None)) {
                Some(named) => self.valid(named, value, depth)?,
                None => false,
            },
        })
    }

    fn all<'v>(
        &self,
        values: impl Iterator<Item = (&'v Schema, &'v Value)>,
        depth: usize,
    ) -> Result<bool, Open> {
        for (schema, value) in values {
            if !self.valid(schema, value, depth)? {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use crate::registry::normalise;

    fn record(field_type: &str, default: &str) -> String {
        format!(
            r#"{{"type":"record","name":"R","fields":[{{"name":"f","type":{field_type},"default":{default}}}]}}"#
        )
    }

    fn accepted(field_type: &str, default: &str) -> bool {
        normalise("s", &record(field_type, default), &[]).is_ok()
    }

    #[test]
    fn a_default_is_judged_by_its_json_kind_as_avro_java_does() {
        let fixed = r#"{"type":"fixed","name":"F","size":4}"#;
        let e = r#"{"type":"enum","name":"E","symbols":["A"]}"#;
        assert!(accepted(fixed, r#""any length""#), "a string for fixed");
        assert!(accepted(e, r#""not a symbol""#), "a string for enum");
        assert!(!accepted(r#""bytes""#, "[1]"), "an array is not bytes");
        assert!(
            accepted(r#"["null","string"]"#, r#""s""#),
            "a later union branch"
        );
        assert!(!accepted(r#""int""#, "2147483648"), "out of int's range");
        assert!(accepted(r#""long""#, "2147483648"));
        assert!(!accepted(r#""long""#, "1.0"), "not an integer");
    }

    #[test]
    fn a_string_default_of_a_float_field_is_read_as_a_number() {
        let (resolved, _) = normalise("s", &record(r#""double""#, r#""1.5""#), &[]).unwrap();
        let apache_avro::Schema::Record(r) = resolved.schema else {
            panic!("a record")
        };
        assert_eq!(r.fields[0].default, Some(serde_json::json!(1.5)));
        assert!(!accepted(r#""float""#, r#""one""#));
    }

    #[test]
    fn a_default_that_needs_an_enclosing_records_fields_is_refused() {
        let text = r#"{"type":"record","name":"R","fields":[
            {"name":"next","type":["null","R"],"default":null},
            {"name":"inner","type":{"type":"record","name":"S","fields":[
                {"name":"r","type":"R","default":{"next":null}}]}}]}"#;
        let refused = normalise("s", text, &[]).unwrap_err();
        assert!(refused.to_string().contains("encloses it"), "{refused}");
    }
}
