//! What can go wrong in the registry, with the error code Confluent's registry gives for
//! each, so clients that switch on codes behave the same against orderflow.

use super::CompatibilityLevel;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("Subject '{0}' not found.")]
    SubjectNotFound(String),
    #[error("Version {version} not found.")]
    VersionNotFound { subject: String, version: String },
    #[error("Schema {0} not found")]
    SchemaNotFound(u32),
    #[error("Schema not found")]
    SchemaNotRegistered(String),
    #[error("Subject '{0}' was soft deleted.Set permanent=true to delete permanently")]
    SubjectSoftDeleted(String),
    #[error("Subject '{0}' was not deleted first before being permanently deleted")]
    SubjectNotSoftDeleted(String),
    #[error(
        "Subject '{subject}' Version {version} was soft deleted.Set permanent=true to delete permanently"
    )]
    VersionSoftDeleted { subject: String, version: u32 },
    #[error(
        "Subject '{subject}' Version {version} was not deleted first before being permanently deleted"
    )]
    VersionNotSoftDeleted { subject: String, version: u32 },
    #[error(
        "Schema being registered is incompatible with an earlier schema for subject \"{subject}\", details: [{}]",
        messages.join(", ")
    )]
    Incompatible {
        subject: String,
        level: CompatibilityLevel,
        messages: Vec<String>,
    },
    #[error("Invalid schema for subject {subject}: {reason}")]
    InvalidSchema { subject: String, reason: String },
    #[error(
        "The specified version '{0}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\""
    )]
    InvalidVersion(String),
    #[error(
        "Invalid compatibility level {0}. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive"
    )]
    InvalidCompatibilityLevel(String),
    #[error("The specified subject '{0}' is not a valid.")]
    InvalidSubject(String),
    /// A permanent delete that would leave stored events unreadable.
    #[error(
        "Schema {id} cannot be deleted permanently: {events} event(s) in the event store were written with it and could no longer be read"
    )]
    SchemaInUse { id: u32, events: u64 },
    #[error(
        "One or more references exist to the schema {{subject={subject},version={version}}}: {referrers}"
    )]
    ReferenceExists {
        subject: String,
        version: u32,
        referrers: String,
    },
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
            RegistryError::SubjectSoftDeleted(_) => 40404,
            RegistryError::SubjectNotSoftDeleted(_) => 40405,
            RegistryError::VersionSoftDeleted { .. } => 40406,
            RegistryError::VersionNotSoftDeleted { .. } => 40407,
            RegistryError::Incompatible { .. } => 40901,
            RegistryError::InvalidSchema { .. } => 42201,
            RegistryError::InvalidVersion(_) => 42202,
            RegistryError::InvalidCompatibilityLevel(_) => 42203,
            RegistryError::SchemaInUse { .. } => 42205,
            RegistryError::ReferenceExists { .. } => 42206,
            RegistryError::InvalidSubject(_) => 42208,
            RegistryError::Unavailable(_) => 50001,
        }
    }

    /// The HTTP status Confluent answers with this error.
    pub fn http_status(&self) -> u16 {
        match self.error_code() {
            c @ 40000..=59999 => (c / 100) as u16,
            _ => 500,
        }
    }

    /// Worth retrying: the storage behind the registry failed.
    pub fn is_transient(&self) -> bool {
        matches!(self, RegistryError::Unavailable(_))
    }

    pub(crate) fn invalid(subject: &str, reason: impl ToString) -> Self {
        RegistryError::InvalidSchema {
            subject: subject.to_owned(),
            reason: reason.to_string(),
        }
    }
}
