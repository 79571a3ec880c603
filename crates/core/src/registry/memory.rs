//! Schema storage in memory.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{CompatibilityLevel, RegistryError, SchemaStore, SubjectVersion};

#[derive(Debug, Default)]
struct State {
    schemas: Vec<String>,
    subjects: BTreeMap<String, Vec<u32>>,
    global: Option<CompatibilityLevel>,
    levels: BTreeMap<String, CompatibilityLevel>,
}

#[derive(Debug, Default)]
pub struct InMemorySchemaStore {
    state: Mutex<State>,
}

impl InMemorySchemaStore {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn versions_of(state: &State, subject: &str) -> Vec<SubjectVersion> {
    state
        .subjects
        .get(subject)
        .map(|ids| {
            ids.iter()
                .enumerate()
                .map(|(i, id)| SubjectVersion {
                    subject: subject.to_owned(),
                    version: i as u32 + 1,
                    id: *id,
                    schema: state.schemas[*id as usize - 1].clone(),
                })
                .collect()
        })
        .unwrap_or_default()
}

#[async_trait]
impl SchemaStore for InMemorySchemaStore {
    async fn add_version(
        &self,
        subject: &str,
        schema: &str,
    ) -> Result<SubjectVersion, RegistryError> {
        let mut state = self.state();
        let id = match state.schemas.iter().position(|s| s == schema) {
            Some(i) => i as u32 + 1,
            None => {
                state.schemas.push(schema.to_owned());
                state.schemas.len() as u32
            }
        };
        let ids = state.subjects.entry(subject.to_owned()).or_default();
        if !ids.contains(&id) {
            ids.push(id);
        }
        let version = versions_of(&state, subject)
            .into_iter()
            .find(|v| v.id == id)
            .expect("just added");
        Ok(version)
    }

    async fn schema_by_id(&self, id: u32) -> Result<Option<String>, RegistryError> {
        Ok(id
            .checked_sub(1)
            .and_then(|i| self.state().schemas.get(i as usize).cloned()))
    }

    async fn subjects(&self) -> Result<Vec<String>, RegistryError> {
        Ok(self.state().subjects.keys().cloned().collect())
    }

    async fn versions(&self, subject: &str) -> Result<Vec<SubjectVersion>, RegistryError> {
        Ok(versions_of(&self.state(), subject))
    }

    async fn config(
        &self,
        subject: Option<&str>,
    ) -> Result<Option<CompatibilityLevel>, RegistryError> {
        let state = self.state();
        Ok(match subject {
            Some(s) => state.levels.get(s).copied(),
            None => state.global,
        })
    }

    async fn set_config(
        &self,
        subject: Option<&str>,
        level: CompatibilityLevel,
    ) -> Result<(), RegistryError> {
        let mut state = self.state();
        match subject {
            Some(s) => {
                state.levels.insert(s.to_owned(), level);
            }
            None => state.global = Some(level),
        }
        Ok(())
    }
}
