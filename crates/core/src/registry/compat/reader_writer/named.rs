//! The named types a schema can refer to: its own and those of the schemas it
//! references (a registry's references), by full name.

use std::collections::HashMap;

use apache_avro::Schema;
use apache_avro::schema::{InnerDecimalSchema, Name, UuidSchema};

/// The named types a schema can refer to, by full name.
pub(super) struct Named<'a>(HashMap<String, &'a Schema>);

impl<'a> Named<'a> {
    pub(super) fn of(root: &'a Schema, refs: &'a [Schema]) -> Self {
        let mut named = Named(HashMap::new());
        for schema in refs.iter().chain(std::iter::once(root)) {
            named.collect(schema);
        }
        named
    }

    fn collect(&mut self, schema: &'a Schema) {
        let mut define = |name: &Name| {
            self.0.entry(name.fullname(None)).or_insert(schema);
        };
        match schema {
            Schema::Record(r) => {
                define(&r.name);
                for field in &r.fields {
                    self.collect(&field.schema);
                }
            }
            Schema::Enum(e) => define(&e.name),
            Schema::Fixed(f) | Schema::Duration(f) => define(&f.name),
            Schema::Decimal(d) => {
                if let InnerDecimalSchema::Fixed(f) = &d.inner {
                    define(&f.name);
                }
            }
            Schema::Uuid(UuidSchema::Fixed(f)) => define(&f.name),
            Schema::Array(a) => self.collect(&a.items),
            Schema::Map(m) => self.collect(&m.types),
            Schema::Union(u) => {
                for variant in u.variants() {
                    self.collect(variant);
                }
            }
            _ => {}
        }
    }

    /// A reference resolved to its definition; anything else as it is.
    pub(super) fn resolve(&self, schema: &'a Schema) -> &'a Schema {
        match schema {
            Schema::Ref { name } => self.0.get(&name.fullname(None)).copied().unwrap_or(schema),
            other => other,
        }
    }
}
