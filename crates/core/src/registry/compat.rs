//! Compatibility levels and the check behind them, in Confluent's terms.

use std::fmt;
use std::str::FromStr;

use apache_avro::Schema;
use apache_avro::schema_compatibility::SchemaCompatibility;

use super::RegistryError;

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

/// Why `candidate` may not join `existing` (version, schema) under `level`; empty when it
/// may. Non-transitive levels look at the latest version only, unless `all_given` says
/// the caller already chose the versions to check against.
pub fn check_compatibility(
    level: CompatibilityLevel,
    candidate: &Schema,
    existing: &[(u32, Schema)],
    all_given: bool,
) -> Vec<String> {
    let against: &[(u32, Schema)] = if level.transitive() || all_given {
        existing
    } else {
        existing.last().map_or(&[], std::slice::from_ref)
    };
    let mut messages = Vec::new();
    for (version, old) in against {
        if level.backward()
            && let Err(e) = SchemaCompatibility::can_read(old, candidate)
        {
            messages.push(format!(
                "{level}: the new schema cannot read data written with version {version}: {e}"
            ));
        }
        if level.forward()
            && let Err(e) = SchemaCompatibility::can_read(candidate, old)
        {
            messages.push(format!(
                "{level}: version {version} cannot read data written with the new schema: {e}"
            ));
        }
    }
    messages
}
