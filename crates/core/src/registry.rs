//! The schema registry: subjects, versions, global schema ids and compatibility rules,
//! with the semantics of Confluent's Schema Registry. The codec needs only the small
//! [`SchemaRegistry`] port; [`Registry`] implements it over any [`SchemaStore`] and
//! enforces the subject's compatibility level on every new version.

use std::fmt;
use std::sync::Arc;

use apache_avro::Schema;
use async_trait::async_trait;

mod compat;
mod memory;

pub use compat::{CompatibilityLevel, check_compatibility};
pub use memory::InMemorySchemaStore;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("subject {0} not found")]
    SubjectNotFound(String),
    #[error("version {version} of subject {subject} not found")]
    VersionNotFound { subject: String, version: String },
    #[error("schema {0} not found")]
    SchemaNotFound(u32),
    #[error("schema not found under subject {0}")]
    SchemaNotRegistered(String),
    #[error("schema for subject {subject} is incompatible under {level}: {}", messages.join("; "))]
    Incompatible {
        subject: String,
        level: CompatibilityLevel,
        messages: Vec<String>,
    },
    #[error("invalid schema for subject {subject}: {reason}")]
    InvalidSchema { subject: String, reason: String },
    #[error("invalid version {0}: use a positive number or \"latest\"")]
    InvalidVersion(String),
    #[error("invalid compatibility level {0}")]
    InvalidCompatibilityLevel(String),
    #[error("the schema registry is unavailable: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl RegistryError {
    /// The Confluent error code of this error.
    pub fn error_code(&self) -> u32 {
        match self {
            RegistryError::SubjectNotFound(_) => 40401,
            RegistryError::VersionNotFound { .. } => 40402,
            RegistryError::SchemaNotFound(_) | RegistryError::SchemaNotRegistered(_) => 40403,
            RegistryError::Incompatible { .. } => 409,
            RegistryError::InvalidSchema { .. } => 42201,
            RegistryError::InvalidVersion(_) => 42202,
            RegistryError::InvalidCompatibilityLevel(_) => 42203,
            RegistryError::Unavailable(_) => 50001,
        }
    }
}

/// What the codec needs of a registry.
#[async_trait]
pub trait SchemaRegistry: Send + Sync + fmt::Debug {
    /// Registers `schema` (Avro JSON) under `subject` and returns its global id; the same
    /// schema registered again gets the same id. A schema that breaks the subject's
    /// compatibility level is refused.
    async fn register(&self, subject: &str, schema: &str) -> Result<u32, RegistryError>;

    /// The schema with this id.
    async fn schema(&self, id: u32) -> Result<String, RegistryError>;
}

/// One version of a subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectVersion {
    pub subject: String,
    pub version: u32,
    pub id: u32,
    pub schema: String,
}

/// Storage of a registry (the adapters' port).
#[async_trait]
pub trait SchemaStore: Send + Sync + fmt::Debug {
    /// Adds `schema` (normalised) as the next version of `subject`, giving it a new global
    /// id unless the same schema has one already. Returns the subject's version.
    async fn add_version(
        &self,
        subject: &str,
        schema: &str,
    ) -> Result<SubjectVersion, RegistryError>;
    async fn schema_by_id(&self, id: u32) -> Result<Option<String>, RegistryError>;
    async fn subjects(&self) -> Result<Vec<String>, RegistryError>;
    /// The subject's versions, oldest first (empty if the subject does not exist).
    async fn versions(&self, subject: &str) -> Result<Vec<SubjectVersion>, RegistryError>;
    /// The compatibility level of a subject, or the global one for `None`, if set.
    async fn config(
        &self,
        subject: Option<&str>,
    ) -> Result<Option<CompatibilityLevel>, RegistryError>;
    async fn set_config(
        &self,
        subject: Option<&str>,
        level: CompatibilityLevel,
    ) -> Result<(), RegistryError>;
}

/// Which version of a subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionRef {
    Latest,
    Number(u32),
}

impl std::str::FromStr for VersionRef {
    type Err = RegistryError;

    fn from_str(s: &str) -> Result<Self, RegistryError> {
        match s {
            "latest" | "-1" => Ok(VersionRef::Latest),
            n => match n.parse::<u32>() {
                Ok(v) if v > 0 => Ok(VersionRef::Number(v)),
                _ => Err(RegistryError::InvalidVersion(s.to_owned())),
            },
        }
    }
}

/// Parses a schema and returns it with its normal form: compact JSON with sorted keys,
/// defaults and docs kept. Schemas are compared and stored in this form.
pub fn normalise(subject: &str, schema: &str) -> Result<(Schema, String), RegistryError> {
    let invalid = |reason: String| RegistryError::InvalidSchema {
        subject: subject.to_owned(),
        reason,
    };
    let json: serde_json::Value =
        serde_json::from_str(schema).map_err(|e| invalid(e.to_string()))?;
    let parsed = Schema::parse(&json).map_err(|e| invalid(e.to_string()))?;
    Ok((parsed, json.to_string()))
}

/// The registry's rules over a store.
#[derive(Debug, Clone)]
pub struct Registry {
    store: Arc<dyn SchemaStore>,
}

impl Registry {
    pub fn new(store: impl SchemaStore + 'static) -> Self {
        Self::shared(Arc::new(store))
    }

    /// A registry over a store that is shared with others.
    pub fn shared(store: Arc<dyn SchemaStore>) -> Self {
        Self { store }
    }

    /// The level in force for a subject: its own, else the global one, else
    /// `BACKWARD_TRANSITIVE` (a new consumer may read history from the beginning).
    pub async fn level(&self, subject: &str) -> Result<CompatibilityLevel, RegistryError> {
        Ok(match self.store.config(Some(subject)).await? {
            Some(level) => level,
            None => self.global_level().await?,
        })
    }

    pub async fn global_level(&self) -> Result<CompatibilityLevel, RegistryError> {
        Ok(self.store.config(None).await?.unwrap_or_default())
    }

    pub async fn subject_level(
        &self,
        subject: &str,
    ) -> Result<Option<CompatibilityLevel>, RegistryError> {
        self.store.config(Some(subject)).await
    }

    pub async fn set_level(
        &self,
        subject: Option<&str>,
        level: CompatibilityLevel,
    ) -> Result<(), RegistryError> {
        self.store.set_config(subject, level).await
    }

    pub async fn subjects(&self) -> Result<Vec<String>, RegistryError> {
        self.store.subjects().await
    }

    /// The subject's versions; an unknown subject is an error.
    pub async fn versions(&self, subject: &str) -> Result<Vec<SubjectVersion>, RegistryError> {
        let versions = self.store.versions(subject).await?;
        if versions.is_empty() {
            return Err(RegistryError::SubjectNotFound(subject.to_owned()));
        }
        Ok(versions)
    }

    pub async fn version(
        &self,
        subject: &str,
        which: VersionRef,
    ) -> Result<SubjectVersion, RegistryError> {
        let versions = self.versions(subject).await?;
        let found = match which {
            VersionRef::Latest => versions.last().cloned(),
            VersionRef::Number(n) => versions.into_iter().find(|v| v.version == n),
        };
        found.ok_or_else(|| RegistryError::VersionNotFound {
            subject: subject.to_owned(),
            version: match which {
                VersionRef::Latest => "latest".to_owned(),
                VersionRef::Number(n) => n.to_string(),
            },
        })
    }

    /// The version under which this exact schema is registered.
    pub async fn lookup(
        &self,
        subject: &str,
        schema: &str,
    ) -> Result<SubjectVersion, RegistryError> {
        let (_, normal) = normalise(subject, schema)?;
        self.versions(subject)
            .await?
            .into_iter()
            .find(|v| v.schema == normal)
            .ok_or_else(|| RegistryError::SchemaNotRegistered(subject.to_owned()))
    }

    /// Why `schema` may not follow the subject's versions (empty: it may). `against`
    /// limits the check to one version, as the compatibility endpoint does.
    pub async fn incompatibilities(
        &self,
        subject: &str,
        schema: &str,
        against: Option<VersionRef>,
    ) -> Result<Vec<String>, RegistryError> {
        let (candidate, _) = normalise(subject, schema)?;
        let level = self.level(subject).await?;
        let mut existing = self.store.versions(subject).await?;
        if let Some(which) = against {
            existing = vec![self.version(subject, which).await?];
        }
        let parsed = existing
            .iter()
            .map(|v| {
                Schema::parse_str(&v.schema)
                    .map(|s| (v.version, s))
                    .map_err(|e| RegistryError::Unavailable(Box::new(e)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(check_compatibility(
            level,
            &candidate,
            &parsed,
            against.is_some(),
        ))
    }

    /// Registers a new version if the schema is new to the subject and compatible.
    pub async fn register_version(
        &self,
        subject: &str,
        schema: &str,
    ) -> Result<SubjectVersion, RegistryError> {
        let (_, normal) = normalise(subject, schema)?;
        let existing = self.store.versions(subject).await?;
        if let Some(v) = existing.iter().find(|v| v.schema == normal) {
            return Ok(v.clone());
        }
        let messages = self.incompatibilities(subject, schema, None).await?;
        if !messages.is_empty() {
            return Err(RegistryError::Incompatible {
                subject: subject.to_owned(),
                level: self.level(subject).await?,
                messages,
            });
        }
        self.store.add_version(subject, &normal).await
    }
}

#[async_trait]
impl SchemaRegistry for Registry {
    async fn register(&self, subject: &str, schema: &str) -> Result<u32, RegistryError> {
        Ok(self.register_version(subject, schema).await?.id)
    }

    async fn schema(&self, id: u32) -> Result<String, RegistryError> {
        self.store
            .schema_by_id(id)
            .await?
            .ok_or(RegistryError::SchemaNotFound(id))
    }
}

/// A registry in memory with the full rules, for tests and tools.
pub type InMemoryRegistry = Registry;

impl Default for Registry {
    /// A registry in memory.
    fn default() -> Self {
        Registry::new(InMemorySchemaStore::default())
    }
}

#[cfg(test)]
mod tests;
