//! Compatibility levels and the check behind them, in Confluent's terms: which
//! versions a new schema is checked against, in which direction, and the messages
//! Confluent's registry gives (`{errorType:'…', description:'…', additionalInfo:'…'}`,
//! then `{oldSchemaVersion: n}`, `{oldSchema: '…'}` and the level), so tools that parse
//! them work. The reader/writer rules themselves are in [`reader_writer`].

use std::fmt;
use std::str::FromStr;

use apache_avro::Schema;

use super::RegistryError;

mod reader_writer;

pub use reader_writer::{
    Incompatibility, IncompatibilityKind, reader_writer_incompatibilities,
    reader_writer_incompatibilities_with,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CompatibilityLevel {
    /// The new schema reads data written with the latest version.
    Backward,
    /// … with every version: what a consumer replaying history from the start needs.
    #[default]
    BackwardTransitive,
    /// The latest version reads data written with the new schema.
    Forward,
    ForwardTransitive,
    Full,
    FullTransitive,
    None,
}

impl CompatibilityLevel {
    pub const ALL: [CompatibilityLevel; 7] = [
        CompatibilityLevel::Backward,
        CompatibilityLevel::BackwardTransitive,
        CompatibilityLevel::Forward,
        CompatibilityLevel::ForwardTransitive,
        CompatibilityLevel::Full,
        CompatibilityLevel::FullTransitive,
        CompatibilityLevel::None,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CompatibilityLevel::Backward => "BACKWARD",
            CompatibilityLevel::BackwardTransitive => "BACKWARD_TRANSITIVE",
            CompatibilityLevel::Forward => "FORWARD",
            CompatibilityLevel::ForwardTransitive => "FORWARD_TRANSITIVE",
            CompatibilityLevel::Full => "FULL",
            CompatibilityLevel::FullTransitive => "FULL_TRANSITIVE",
            CompatibilityLevel::None => "NONE",
        }
    }

    fn backward(self) -> bool {
        matches!(
            self,
            Self::Backward | Self::BackwardTransitive | Self::Full | Self::FullTransitive
        )
    }

    fn forward(self) -> bool {
        matches!(
            self,
            Self::Forward | Self::ForwardTransitive | Self::Full | Self::FullTransitive
        )
    }

    fn transitive(self) -> bool {
        matches!(
            self,
            Self::BackwardTransitive | Self::ForwardTransitive | Self::FullTransitive
        )
    }
}

impl fmt::Display for CompatibilityLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CompatibilityLevel {
    type Err = RegistryError;

    fn from_str(s: &str) -> Result<Self, RegistryError> {
        Self::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| RegistryError::InvalidCompatibilityLevel(s.to_owned()))
    }
}

/// A schema with the named types it may use from other schemas (its references).
#[derive(Debug, Clone)]
pub struct Resolved {
    pub schema: Schema,
    pub refs: Vec<Schema>,
}

impl Resolved {
    /// Why `self` cannot read what `writer` wrote.
    pub fn can_read(&self, writer: &Resolved) -> Vec<Incompatibility> {
        reader_writer_incompatibilities_with(&self.schema, &self.refs, &writer.schema, &writer.refs)
    }
}

/// A registered version, as the check needs it.
#[derive(Debug, Clone)]
pub struct Existing {
    pub version: u32,
    /// As it is returned to clients (quoted in messages).
    pub text: String,
    pub schema: Resolved,
}

/// Why `candidate` may not join `existing` (oldest first) under `level`, in Confluent's
/// words; empty when it may. Non-transitive levels look at the latest version only;
/// transitive ones go from the newest to the oldest and stop at the first that fails.
pub fn check_compatibility(
    level: CompatibilityLevel,
    candidate: &Resolved,
    existing: &[Existing],
) -> Vec<String> {
    if level == CompatibilityLevel::None {
        return Vec::new();
    }
    let against: Vec<&Existing> = if level.transitive() {
        existing.iter().rev().collect()
    } else {
        existing.last().into_iter().collect()
    };
    let mut messages = Vec::new();
    for old in against {
        if level.forward() {
            let found = old.schema.can_read(candidate);
            // FULL reports the forward half without the old schema, as Confluent does.
            messages.extend(describe(&found, Side::Old, old, !level.backward()));
        }
        if level.backward() {
            let found = candidate.can_read(&old.schema);
            messages.extend(describe(&found, Side::New, old, true));
        }
        if !messages.is_empty() {
            break;
        }
    }
    if !messages.is_empty() {
        messages.push(format!(
            "{{validateFields: 'false', compatibility: '{level}'}}"
        ));
    }
    messages
}

/// Which schema reads.
#[derive(Debug, Clone, Copy)]
enum Side {
    New,
    Old,
}

/// Confluent's `Difference` text for each incompatibility, then the old version and
/// schema.
fn describe(
    found: &[Incompatibility],
    reader: Side,
    old: &Existing,
    with_old: bool,
) -> Vec<String> {
    if found.is_empty() {
        return Vec::new();
    }
    let (r, w) = match reader {
        Side::New => ("new", "old"),
        Side::Old => ("old", "new"),
    };
    let mut out: Vec<String> = found
        .iter()
        .map(|i| {
            let path = &i.location;
            let info = &i.message;
            let description = match i.kind {
                IncompatibilityKind::FixedSizeMismatch => format!(
                    "The size of FIXED type field at path '{path}' in the {r} schema does not match with the {w} schema"
                ),
                IncompatibilityKind::TypeMismatch => format!(
                    "The type (path '{path}') of a field in the {r} schema does not match with the {w} schema"
                ),
                IncompatibilityKind::NameMismatch => {
                    format!("The name of the schema has changed (path '{path}')")
                }
                IncompatibilityKind::MissingEnumSymbols => format!(
                    "The {r} schema is missing enum symbols '{info}' at path '{path}' in the {w} schema"
                ),
                IncompatibilityKind::MissingUnionBranch => format!(
                    "The {r} schema is missing a type inside a union field at path '{path}' in the {w} schema"
                ),
                IncompatibilityKind::ReaderFieldMissingDefaultValue => format!(
                    "The field '{info}' at path '{path}' in the {r} schema has no default value and is missing in the {w} schema"
                ),
            };
            format!(
                "{{errorType:'{}', description:'{description}', additionalInfo:'{info}'}}",
                i.kind
            )
        })
        .collect();
    if with_old {
        out.push(format!("{{oldSchemaVersion: {}}}", old.version));
        out.push(format!("{{oldSchema: '{}'}}", old.text));
    }
    out
}
