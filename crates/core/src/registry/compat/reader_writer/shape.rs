//! A schema as Avro Java's checker sees it: its type, with logical types read as the
//! type they annotate, and the names and aliases of named types.

use std::fmt;

use apache_avro::Schema;
use apache_avro::schema::{InnerDecimalSchema, Name, RecordSchema, UuidSchema};

/// A schema as Avro Java's checker sees it: its type, with logical types read as the
/// type they annotate.
pub(super) enum Shape<'a> {
    Primitive(Type),
    Array(&'a Schema),
    Map(&'a Schema),
    Union(&'a [Schema]),
    Record(&'a RecordSchema),
    Enum {
        name: &'a Name,
        aliases: Vec<String>,
        symbols: &'a [String],
        default: Option<&'a str>,
    },
    Fixed {
        name: &'a Name,
        aliases: Vec<String>,
        size: usize,
    },
}

/// Avro's types, spelled as Java prints them in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Type {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Array,
    Map,
    Union,
    Record,
    Enum,
    Fixed,
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format!("{self:?}").to_uppercase())
    }
}

fn full_aliases(name: &Name, aliases: &apache_avro::schema::Aliases) -> Vec<String> {
    aliases
        .iter()
        .flatten()
        .map(|a| a.fully_qualified_name(name.namespace()).fullname(None))
        .collect()
}

fn fixed(f: &apache_avro::schema::FixedSchema) -> Shape<'_> {
    Shape::Fixed {
        name: &f.name,
        aliases: full_aliases(&f.name, &f.aliases),
        size: f.size,
    }
}

pub(super) fn shape(schema: &Schema) -> Shape<'_> {
    use Shape::Primitive as P;
    match schema {
        Schema::Null => P(Type::Null),
        Schema::Boolean => P(Type::Boolean),
        Schema::Int | Schema::Date | Schema::TimeMillis => P(Type::Int),
        Schema::Long
        | Schema::TimeMicros
        | Schema::TimestampMillis
        | Schema::TimestampMicros
        | Schema::TimestampNanos
        | Schema::LocalTimestampMillis
        | Schema::LocalTimestampMicros
        | Schema::LocalTimestampNanos => P(Type::Long),
        Schema::Float => P(Type::Float),
        Schema::Double => P(Type::Double),
        Schema::Bytes | Schema::BigDecimal | Schema::Uuid(UuidSchema::Bytes) => P(Type::Bytes),
        Schema::String | Schema::Uuid(UuidSchema::String) => P(Type::String),
        Schema::Decimal(d) => match &d.inner {
            InnerDecimalSchema::Bytes => P(Type::Bytes),
            InnerDecimalSchema::Fixed(f) => fixed(f),
        },
        Schema::Uuid(UuidSchema::Fixed(f)) | Schema::Fixed(f) | Schema::Duration(f) => fixed(f),
        Schema::Array(a) => Shape::Array(&a.items),
        Schema::Map(m) => Shape::Map(&m.types),
        Schema::Union(u) => Shape::Union(u.variants()),
        Schema::Record(r) => Shape::Record(r),
        Schema::Enum(e) => Shape::Enum {
            name: &e.name,
            aliases: full_aliases(&e.name, &e.aliases),
            symbols: &e.symbols,
            default: e.default.as_deref(),
        },
        // An unresolved reference: the parser refuses those, so this is not reached.
        Schema::Ref { .. } => P(Type::Null),
    }
}

impl Shape<'_> {
    pub(super) fn ty(&self) -> Type {
        match self {
            Shape::Primitive(t) => *t,
            Shape::Array(_) => Type::Array,
            Shape::Map(_) => Type::Map,
            Shape::Union(_) => Type::Union,
            Shape::Record(_) => Type::Record,
            Shape::Enum { .. } => Type::Enum,
            Shape::Fixed { .. } => Type::Fixed,
        }
    }

    /// Name and full aliases of a named type.
    pub(super) fn name(&self) -> Option<(&Name, Vec<String>)> {
        match self {
            Shape::Record(r) => Some((&r.name, full_aliases(&r.name, &r.aliases))),
            Shape::Enum { name, aliases, .. } | Shape::Fixed { name, aliases, .. } => {
                Some((name, aliases.clone()))
            }
            _ => None,
        }
    }
}
