//! The schema registry: subjects, versions, global schema ids, references, soft and
//! permanent deletes and compatibility rules, with the semantics of Confluent's Schema
//! Registry. The codec needs only the small [`SchemaRegistry`] port; [`Registry`]
//! implements it over any [`SchemaStore`] and enforces the rules.
//!
//! # Layout
//!
//! - `error.rs`: [`RegistryError`], with Confluent's error code for each variant.
//! - `schema.rs`: parsing a schema as registered, its fingerprint, subject names;
//!   `schema/guard.rs` keeps field defaults from apache-avro's parser, `schema/defaults.rs`
//!   judges them by Avro Java's rules.
//! - `rules.rs`: [`Registry`], the rules over a store.
//! - `compat.rs`: compatibility levels, and Confluent's messages about them.
//! - `compat/reader_writer.rs`: Avro Java's reader/writer check; `reader_writer/named.rs`
//!   resolves named types, `reader_writer/shape.rs` is a schema as the check sees it.
//! - `memory.rs`: a store in memory, for tests and tools.

use std::fmt;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

mod compat;
mod error;
mod memory;
mod rules;
mod schema;

pub use compat::{
    CompatibilityLevel, Existing, Incompatibility, IncompatibilityKind, Resolved,
    check_compatibility, reader_writer_incompatibilities, reader_writer_incompatibilities_with,
};
pub use error::RegistryError;
pub use memory::InMemorySchemaStore;
pub use rules::{Against, Registry, SchemaUsage};
pub use schema::{fingerprint, normalise, valid_subject};

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

/// A schema's use of a named type registered under another subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaReference {
    /// The full name of the type, as the schema uses it.
    pub name: String,
    pub subject: String,
    pub version: u32,
}

/// A schema as stored under its global id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSchema {
    pub id: u32,
    /// As registered (compact JSON, keys in the order the client sent them).
    pub schema: String,
    pub references: Vec<SchemaReference>,
}

/// One version of a subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectVersion {
    pub subject: String,
    pub version: u32,
    pub id: u32,
    pub schema: String,
    pub references: Vec<SchemaReference>,
    /// Soft-deleted: kept for reads that ask for deleted versions, checked against by
    /// nothing.
    pub deleted: bool,
}

/// A schema to store.
#[derive(Debug, Clone, Copy)]
pub struct NewSchema<'a> {
    /// What makes two schemas the same schema: [`fingerprint`].
    pub fingerprint: &'a str,
    pub schema: &'a str,
    pub references: &'a [SchemaReference],
}

/// Storage of a registry (the adapters' port). It keeps what it is given; the rules
/// (what may be added or deleted) are the [`Registry`]'s.
#[async_trait]
pub trait SchemaStore: Send + Sync + fmt::Debug {
    /// Adds the schema as the next version of `subject` (one above its highest,
    /// soft-deleted ones included), under the global id of the schema with the same
    /// fingerprint, or a new one. When a live version of the subject already has that
    /// id, returns it and adds nothing.
    async fn add_version(
        &self,
        subject: &str,
        schema: NewSchema<'_>,
    ) -> Result<SubjectVersion, RegistryError>;
    async fn schema_by_id(&self, id: u32) -> Result<Option<StoredSchema>, RegistryError>;
    /// Subjects with at least one version (a live one, unless `include_deleted`).
    async fn subjects(&self, include_deleted: bool) -> Result<Vec<String>, RegistryError>;
    /// The subject's versions, oldest first, soft-deleted ones included (empty if the
    /// subject does not exist).
    async fn versions(&self, subject: &str) -> Result<Vec<SubjectVersion>, RegistryError>;
    /// Every version, of any subject, that has this id.
    async fn versions_with_id(&self, id: u32) -> Result<Vec<SubjectVersion>, RegistryError>;
    /// Marks a version deleted, or with `permanent` removes it (and its schema, when no
    /// version has that id any more; ids are never reused).
    async fn delete_version(
        &self,
        subject: &str,
        version: u32,
        permanent: bool,
    ) -> Result<(), RegistryError>;
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
            n => match n.parse::<i32>() {
                Ok(v) if v > 0 => Ok(VersionRef::Number(v as u32)),
                _ => Err(RegistryError::InvalidVersion(s.to_owned())),
            },
        }
    }
}

impl fmt::Display for VersionRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VersionRef::Latest => f.write_str("latest"),
            VersionRef::Number(n) => write!(f, "{n}"),
        }
    }
}

/// A registry in memory with the full rules, for tests and tools.
pub type InMemoryRegistry = Registry;

#[cfg(test)]
mod tests;
