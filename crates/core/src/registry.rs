//! The schema registry port: subjects, versions and global schema ids.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("schema {0} not found")]
    SchemaNotFound(u32),
    #[error("invalid schema for subject {subject}: {reason}")]
    InvalidSchema { subject: String, reason: String },
    #[error("the schema registry is unavailable: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Holds every schema ever used to write an event, by id.
#[async_trait]
pub trait SchemaRegistry: Send + Sync + fmt::Debug {
    /// Registers `schema` (Avro JSON) under `subject` and returns its global id; the same
    /// schema registered again gets the same id.
    async fn register(&self, subject: &str, schema: &str) -> Result<u32, RegistryError>;

    /// The schema with this id.
    async fn schema(&self, id: u32) -> Result<String, RegistryError>;
}

/// A registry in memory, for tests and tools that need no persistence.
#[derive(Debug, Default)]
pub struct InMemoryRegistry {
    schemas: Mutex<Vec<(String, String)>>,
}

#[async_trait]
impl SchemaRegistry for InMemoryRegistry {
    async fn register(&self, subject: &str, schema: &str) -> Result<u32, RegistryError> {
        let mut schemas = self.schemas.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = schemas.iter().position(|(_, s)| s == schema) {
            return Ok(i as u32 + 1);
        }
        schemas.push((subject.to_owned(), schema.to_owned()));
        Ok(schemas.len() as u32)
    }

    async fn schema(&self, id: u32) -> Result<String, RegistryError> {
        let schemas = self.schemas.lock().unwrap_or_else(|e| e.into_inner());
        let by_id: HashMap<u32, &String> = schemas
            .iter()
            .enumerate()
            .map(|(i, (_, s))| (i as u32 + 1, s))
            .collect();
        by_id
            .get(&id)
            .map(|s| (*s).clone())
            .ok_or(RegistryError::SchemaNotFound(id))
    }
}
