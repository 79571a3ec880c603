//! Schema storage in memory.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{
    CompatibilityLevel, NewSchema, RegistryError, SchemaStore, StoredSchema, SubjectVersion,
};

#[derive(Debug)]
struct Schema {
    fingerprint: String,
    stored: StoredSchema,
}

#[derive(Debug, Default)]
struct State {
    /// By id; `None` once deleted for good (ids are never reused).
    schemas: Vec<Option<Schema>>,
    /// (version, id, deleted) per subject.
    subjects: BTreeMap<String, Vec<(u32, u32, bool)>>,
    global: Option<CompatibilityLevel>,
    levels: BTreeMap<String, CompatibilityLevel>,
}

impl State {
    fn schema(&self, id: u32) -> Option<&StoredSchema> {
        let slot = self.schemas.get(id.checked_sub(1)? as usize)?;
        slot.as_ref().map(|s| &s.stored)
    }

    fn version(&self, subject: &str, (version, id, deleted): (u32, u32, bool)) -> SubjectVersion {
        let stored = self.schema(id).expect("a version's schema is kept");
        SubjectVersion {
            subject: subject.to_owned(),
            version,
            id,
            schema: stored.schema.clone(),
            references: stored.references.clone(),
            deleted,
        }
    }

    fn versions(&self, subject: &str) -> Vec<SubjectVersion> {
        self.subjects
            .get(subject)
            .into_iter()
            .flatten()
            .map(|v| self.version(subject, *v))
            .collect()
    }
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

#[async_trait]
impl SchemaStore for InMemorySchemaStore {
    async fn add_version(
        &self,
        subject: &str,
        new: NewSchema<'_>,
    ) -> Result<SubjectVersion, RegistryError> {
        let mut state = self.state();
        let known = state
            .schemas
            .iter()
            .flatten()
            .find(|s| s.fingerprint == new.fingerprint);
        let id = match known {
            Some(s) => s.stored.id,
            None => {
                let id = state.schemas.len() as u32 + 1;
                state.schemas.push(Some(Schema {
                    fingerprint: new.fingerprint.to_owned(),
                    stored: StoredSchema {
                        id,
                        schema: new.schema.to_owned(),
                        references: new.references.to_vec(),
                    },
                }));
                id
            }
        };
        let versions = state.subjects.entry(subject.to_owned()).or_default();
        let entry = match versions.iter().find(|(_, i, deleted)| *i == id && !deleted) {
            Some(live) => *live,
            None => {
                let next = versions.iter().map(|v| v.0).max().unwrap_or(0) + 1;
                versions.push((next, id, false));
                (next, id, false)
            }
        };
        Ok(state.version(subject, entry))
    }

    async fn schema_by_id(&self, id: u32) -> Result<Option<StoredSchema>, RegistryError> {
        Ok(self.state().schema(id).cloned())
    }

    async fn subjects(&self, include_deleted: bool) -> Result<Vec<String>, RegistryError> {
        Ok(self
            .state()
            .subjects
            .iter()
            .filter(|(_, versions)| versions.iter().any(|v| include_deleted || !v.2))
            .map(|(s, _)| s.clone())
            .collect())
    }

    async fn versions(&self, subject: &str) -> Result<Vec<SubjectVersion>, RegistryError> {
        Ok(self.state().versions(subject))
    }

    async fn versions_with_id(&self, id: u32) -> Result<Vec<SubjectVersion>, RegistryError> {
        let state = self.state();
        Ok(state
            .subjects
            .keys()
            .flat_map(|s| state.versions(s))
            .filter(|v| v.id == id)
            .collect())
    }

    async fn delete_version(
        &self,
        subject: &str,
        version: u32,
        permanent: bool,
    ) -> Result<(), RegistryError> {
        let mut state = self.state();
        let Some(versions) = state.subjects.get_mut(subject) else {
            return Ok(());
        };
        let mut gone = None;
        versions.retain_mut(|v| {
            if v.0 != version {
                return true;
            }
            v.2 = true;
            if permanent {
                gone = Some(v.1);
            }
            !permanent
        });
        if versions.is_empty() {
            state.subjects.remove(subject);
        }
        if let Some(id) = gone {
            let used = state.subjects.values().flatten().any(|v| v.1 == id);
            if !used && let Some(slot) = state.schemas.get_mut(id as usize - 1) {
                *slot = None;
            }
        }
        Ok(())
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

#[cfg(all(test, feature = "contract"))]
mod contract {
    crate::schema_store_contract!(async { (super::InMemorySchemaStore::default(), ()) });
}
