//! A guard in front of apache-avro's decoder. apache-avro decodes and resolves a value by
//! recursing once per level of its writer's schema (record, array, map, union), with
//! large frames: in a debug build a writer schema of 40 records nested in one another
//! overflowed a 2 MiB stack (a tokio worker's), and a stack overflow aborts the whole
//! process. Nesting is not bounded by the schema's text either: a record defined in one
//! field can be the type of the next (`R1 { x: R0 }`, `R2 { x: R1 }`, …), so a schema
//! of a few hundred KB nests thousands of levels, and a record that contains itself
//! (`L { next: [null, L] }`) nests as deep as its data goes. Anyone who can register a
//! schema (under any subject, with a record named as an event) could then stop a
//! consumer with a record of a few bytes — and stop it again at every restart.
//!
//! Orderflow's events nest three levels; the codec decodes no record whose writer's
//! schema nests more than [`MAX_DEPTH`] levels or contains itself: such a record is
//! malformed (a dead letter) before apache-avro sees it.

use std::collections::HashMap;

use apache_avro::Schema;

/// The deepest writer's schema the codec decodes: records, arrays, maps and unions on
/// the way from the top record down to a value, the top record included.
pub const MAX_DEPTH: usize = 16;

/// Why `schema` may not be decoded, if it may not.
pub fn check(schema: &Schema) -> Result<(), String> {
    Walk::default().height(schema, 1).map(|_| ())
}

/// The heights of the named types seen (`None` while one is being walked).
#[derive(Default)]
struct Walk {
    heights: HashMap<String, Option<usize>>,
}

impl Walk {
    /// The levels of complex types in `schema` and below it, `schema` being at `level`.
    fn height(&mut self, schema: &Schema, level: usize) -> Result<usize, String> {
        let complex = matches!(
            schema,
            Schema::Record(_) | Schema::Array(_) | Schema::Map(_) | Schema::Union(_)
        );
        if complex && level > MAX_DEPTH {
            return Err(too_deep());
        }
        let height = match schema {
            Schema::Ref { name } => {
                let name = name.fullname(None);
                match self.heights.get(&name) {
                    Some(Some(h)) => *h,
                    Some(None) => {
                        return Err(format!("the writer's schema: {name} contains itself"));
                    }
                    None => {
                        return Err(format!(
                            "the writer's schema refers to {name}, which it does not define"
                        ));
                    }
                }
            }
            Schema::Record(r) => {
                let name = r.name.fullname(None);
                self.heights.insert(name.clone(), None);
                let mut below = 0;
                for field in &r.fields {
                    below = below.max(self.height(&field.schema, level + 1)?);
                }
                self.heights.insert(name, Some(below + 1));
                below + 1
            }
            Schema::Array(a) => 1 + self.height(&a.items, level + 1)?,
            Schema::Map(m) => 1 + self.height(&m.types, level + 1)?,
            Schema::Union(u) => {
                let mut below = 0;
                for variant in u.variants() {
                    below = below.max(self.height(variant, level + 1)?);
                }
                1 + below
            }
            Schema::Enum(e) => self.leaf(&e.name),
            Schema::Fixed(f) | Schema::Duration(f) => self.leaf(&f.name),
            Schema::Decimal(d) => match &d.inner {
                apache_avro::schema::InnerDecimalSchema::Fixed(f) => self.leaf(&f.name),
                _ => 0,
            },
            Schema::Uuid(apache_avro::schema::UuidSchema::Fixed(f)) => self.leaf(&f.name),
            _ => 0,
        };
        // A named type met again deep down keeps the height it had where it was defined.
        if level - 1 + height > MAX_DEPTH {
            return Err(too_deep());
        }
        Ok(height)
    }

    fn leaf(&mut self, name: &apache_avro::schema::Name) -> usize {
        self.heights.insert(name.fullname(None), Some(0));
        0
    }
}

fn too_deep() -> String {
    format!(
        "the writer's schema nests more than {MAX_DEPTH} levels, which this codec does not decode"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Schema {
        Schema::parse_str(text).expect("a schema")
    }

    #[test]
    fn the_events_schemas_pass() {
        for (name, text) in crate::codec::SCHEMA_FILES {
            assert_eq!(check(&parse(text)), Ok(()), "{name}");
        }
    }

    #[test]
    fn a_record_that_contains_itself_is_refused() {
        let list =
            parse(r#"{"type":"record","name":"L","fields":[{"name":"next","type":["null","L"]}]}"#);
        assert!(check(&list).unwrap_err().contains("L contains itself"));
    }

    #[test]
    fn nesting_is_counted_through_references() {
        let chain = |n: usize| {
            let mut fields = vec![
                r#"{"name":"f0","type":{"type":"record","name":"R0","fields":[{"name":"x","type":"int"}]}}"#
                    .to_owned(),
            ];
            for i in 1..n {
                fields.push(format!(
                    r#"{{"name":"f{i}","type":{{"type":"record","name":"R{i}","fields":[{{"name":"x","type":"R{}"}}]}}}}"#,
                    i - 1
                ));
            }
            parse(&format!(
                r#"{{"type":"record","name":"Top","fields":[{}]}}"#,
                fields.join(",")
            ))
        };
        // Top, then R(n-1) … R0: n + 1 levels.
        assert_eq!(check(&chain(MAX_DEPTH - 1)), Ok(()));
        assert!(
            check(&chain(MAX_DEPTH))
                .unwrap_err()
                .contains("nests more than")
        );
        assert!(check(&chain(5_000)).is_err());
    }
}
