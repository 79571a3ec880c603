//! [`Registry`]: Confluent's rules over a [`SchemaStore`] — what may be registered, what
//! a compatibility check compares, what may be deleted.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use super::{
    CompatibilityLevel, Existing, NewSchema, RegistryError, Resolved, SchemaReference,
    SchemaRegistry, SchemaStore, StoredSchema, SubjectVersion, VersionRef, check_compatibility,
    fingerprint, normalise, valid_subject,
};

/// Which stored events use a schema: asked before a schema is deleted for good.
#[async_trait]
pub trait SchemaUsage: Send + Sync + fmt::Debug {
    /// How many stored events were written with schema `id`.
    async fn events_with_schema(&self, id: u32) -> Result<u64, RegistryError>;
}

/// The registry's rules over a store.
#[derive(Debug, Clone)]
pub struct Registry {
    store: Arc<dyn SchemaStore>,
    usage: Option<Arc<dyn SchemaUsage>>,
}

/// What a compatibility check compares a schema with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Against {
    /// The subject's live versions, as its level says (the latest, or all of them).
    Level,
    /// One version (none when the subject is empty and this is `latest`).
    Version(VersionRef),
}

impl Registry {
    pub fn new(store: impl SchemaStore + 'static) -> Self {
        Self::shared(Arc::new(store))
    }

    /// A registry over a store that is shared with others.
    pub fn shared(store: Arc<dyn SchemaStore>) -> Self {
        Self { store, usage: None }
    }

    /// Refuse to delete for good a schema that stored events were written with.
    pub fn with_usage(mut self, usage: Arc<dyn SchemaUsage>) -> Self {
        self.usage = Some(usage);
        self
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
        if let Some(subject) = subject {
            valid_subject(subject)?;
        }
        self.store.set_config(subject, level).await
    }

    pub async fn subjects(&self, include_deleted: bool) -> Result<Vec<String>, RegistryError> {
        self.store.subjects(include_deleted).await
    }

    /// The subject's versions (live ones, unless `include_deleted`); a subject without
    /// any is not found.
    pub async fn versions(
        &self,
        subject: &str,
        include_deleted: bool,
    ) -> Result<Vec<SubjectVersion>, RegistryError> {
        let versions: Vec<_> = self
            .store
            .versions(subject)
            .await?
            .into_iter()
            .filter(|v| include_deleted || !v.deleted)
            .collect();
        if versions.is_empty() {
            return Err(RegistryError::SubjectNotFound(subject.to_owned()));
        }
        Ok(versions)
    }

    pub async fn version(
        &self,
        subject: &str,
        which: VersionRef,
        include_deleted: bool,
    ) -> Result<SubjectVersion, RegistryError> {
        let versions = self.versions(subject, include_deleted).await?;
        let found = match which {
            VersionRef::Latest => versions.last().cloned(),
            VersionRef::Number(n) => versions.into_iter().find(|v| v.version == n),
        };
        found.ok_or_else(|| RegistryError::VersionNotFound {
            subject: subject.to_owned(),
            version: which.to_string(),
        })
    }

    pub async fn schema_by_id(&self, id: u32) -> Result<StoredSchema, RegistryError> {
        self.store
            .schema_by_id(id)
            .await?
            .ok_or(RegistryError::SchemaNotFound(id))
    }

    /// The subject-versions that have schema `id`.
    pub async fn versions_of_id(
        &self,
        id: u32,
        include_deleted: bool,
    ) -> Result<Vec<SubjectVersion>, RegistryError> {
        self.schema_by_id(id).await?;
        let mut versions = self.store.versions_with_id(id).await?;
        versions.retain(|v| include_deleted || !v.deleted);
        Ok(versions)
    }

    /// The version under which this schema (with these references) is registered.
    pub async fn lookup(
        &self,
        subject: &str,
        schema: &str,
        references: &[SchemaReference],
        include_deleted: bool,
    ) -> Result<SubjectVersion, RegistryError> {
        let (_, text) = self.parse(subject, schema, references).await?;
        let wanted = fingerprint(&text, references);
        self.versions(subject, include_deleted)
            .await?
            .into_iter()
            .rev()
            .find(|v| fingerprint(&v.schema, &v.references) == wanted)
            .ok_or_else(|| RegistryError::SchemaNotRegistered(subject.to_owned()))
    }

    /// Why `schema` may not join the subject (empty: it may), in Confluent's words.
    pub async fn incompatibilities(
        &self,
        subject: &str,
        schema: &str,
        references: &[SchemaReference],
        against: Against,
    ) -> Result<Vec<String>, RegistryError> {
        valid_subject(subject)?;
        let (candidate, _) = self.parse(subject, schema, references).await?;
        let level = self.level(subject).await?;
        let live: Vec<SubjectVersion> = self
            .store
            .versions(subject)
            .await?
            .into_iter()
            .filter(|v| !v.deleted)
            .collect();
        let chosen = match against {
            Against::Level => live,
            Against::Version(VersionRef::Latest) => live.into_iter().last().into_iter().collect(),
            Against::Version(which) => vec![self.version(subject, which, false).await?],
        };
        let mut existing = Vec::with_capacity(chosen.len());
        for v in chosen {
            let (schema, _) = self.parse(subject, &v.schema, &v.references).await?;
            existing.push(Existing {
                version: v.version,
                text: v.schema,
                schema,
            });
        }
        Ok(check_compatibility(level, &candidate, &existing))
    }

    /// Registers a new version if the schema is new to the subject and compatible.
    pub async fn register_version(
        &self,
        subject: &str,
        schema: &str,
        references: &[SchemaReference],
    ) -> Result<SubjectVersion, RegistryError> {
        valid_subject(subject)?;
        let (_, text) = self.parse(subject, schema, references).await?;
        let print = fingerprint(&text, references);
        let existing = self.store.versions(subject).await?;
        if let Some(v) = existing
            .iter()
            .rev()
            .find(|v| !v.deleted && fingerprint(&v.schema, &v.references) == print)
        {
            return Ok(v.clone());
        }
        let messages = self
            .incompatibilities(subject, schema, references, Against::Level)
            .await?;
        if !messages.is_empty() {
            return Err(RegistryError::Incompatible {
                subject: subject.to_owned(),
                level: self.level(subject).await?,
                messages,
            });
        }
        let new = NewSchema {
            fingerprint: &print,
            schema: &text,
            references,
        };
        self.store.add_version(subject, new).await
    }

    /// Deletes one version: softly, or for good (`permanent`, after a soft delete).
    /// Returns its number.
    pub async fn delete_version(
        &self,
        subject: &str,
        which: VersionRef,
        permanent: bool,
    ) -> Result<u32, RegistryError> {
        // `latest` is the latest live version, or for a permanent delete the latest
        // of all; a number may name a soft-deleted one.
        let include_deleted = permanent || which != VersionRef::Latest;
        let v = self.version(subject, which, include_deleted).await?;
        match (v.deleted, permanent) {
            (true, false) => {
                return Err(RegistryError::VersionSoftDeleted {
                    subject: subject.to_owned(),
                    version: v.version,
                });
            }
            (false, true) => {
                return Err(RegistryError::VersionNotSoftDeleted {
                    subject: subject.to_owned(),
                    version: v.version,
                });
            }
            _ => {}
        }
        self.refuse_if_referenced(&v, permanent).await?;
        if permanent {
            self.refuse_if_events_need(&v).await?;
        }
        self.store
            .delete_version(subject, v.version, permanent)
            .await?;
        Ok(v.version)
    }

    /// Deletes every version of a subject: softly, or for good (after a soft delete).
    /// Returns their numbers.
    pub async fn delete_subject(
        &self,
        subject: &str,
        permanent: bool,
    ) -> Result<Vec<u32>, RegistryError> {
        let all = self.versions(subject, true).await?;
        let live: Vec<&SubjectVersion> = all.iter().filter(|v| !v.deleted).collect();
        let doomed: Vec<&SubjectVersion> = match (permanent, live.is_empty()) {
            (false, true) => return Err(RegistryError::SubjectSoftDeleted(subject.to_owned())),
            (true, false) => {
                return Err(RegistryError::SubjectNotSoftDeleted(subject.to_owned()));
            }
            (false, false) => live,
            (true, true) => all.iter().collect(),
        };
        for v in &doomed {
            self.refuse_if_referenced(v, permanent).await?;
            if permanent {
                self.refuse_if_events_need(v).await?;
            }
        }
        for v in &doomed {
            self.store
                .delete_version(subject, v.version, permanent)
                .await?;
        }
        Ok(doomed.iter().map(|v| v.version).collect())
    }

    /// Parses a schema with the named types of its references.
    async fn parse(
        &self,
        subject: &str,
        schema: &str,
        references: &[SchemaReference],
    ) -> Result<(Resolved, String), RegistryError> {
        let mut texts = Vec::new();
        let mut seen = Vec::new();
        for r in references {
            self.collect_reference(subject, r, &mut texts, &mut seen)
                .await?;
        }
        normalise(subject, schema, &texts)
    }

    /// Adds the texts a reference needs, dependencies first.
    async fn collect_reference(
        &self,
        subject: &str,
        r: &SchemaReference,
        texts: &mut Vec<String>,
        seen: &mut Vec<(String, u32)>,
    ) -> Result<(), RegistryError> {
        let key = (r.subject.clone(), r.version);
        if seen.contains(&key) {
            return Ok(());
        }
        seen.push(key);
        let target = self
            .store
            .versions(&r.subject)
            .await?
            .into_iter()
            .find(|v| v.version == r.version)
            .ok_or_else(|| {
                RegistryError::invalid(
                    subject,
                    format!(
                        "the reference '{}' names version {} of subject '{}', which does not exist",
                        r.name, r.version, r.subject
                    ),
                )
            })?;
        for inner in &target.references {
            Box::pin(self.collect_reference(subject, inner, texts, seen)).await?;
        }
        texts.push(target.schema);
        Ok(())
    }

    /// A version that other versions reference may not go.
    async fn refuse_if_referenced(
        &self,
        v: &SubjectVersion,
        permanent: bool,
    ) -> Result<(), RegistryError> {
        let referrers: Vec<String> = self
            .referrers(&v.subject, v.version, permanent)
            .await?
            .iter()
            .map(|other| format!("{} version {}", other.subject, other.version))
            .collect();
        if referrers.is_empty() {
            return Ok(());
        }
        Err(RegistryError::ReferenceExists {
            subject: v.subject.clone(),
            version: v.version,
            referrers: referrers.join(", "),
        })
    }

    /// The versions, of any subject, whose references name this subject's version
    /// (soft-deleted ones too, with `include_deleted`).
    pub async fn referrers(
        &self,
        subject: &str,
        version: u32,
        include_deleted: bool,
    ) -> Result<Vec<SubjectVersion>, RegistryError> {
        let mut found = Vec::new();
        for other_subject in self.store.subjects(include_deleted).await? {
            for other in self.store.versions(&other_subject).await? {
                let refers = other
                    .references
                    .iter()
                    .any(|r| r.subject == subject && r.version == version);
                if refers && (include_deleted || !other.deleted) {
                    found.push(other);
                }
            }
        }
        Ok(found)
    }

    /// A schema that stored events were written with may not go for good while no other
    /// version keeps it.
    async fn refuse_if_events_need(&self, v: &SubjectVersion) -> Result<(), RegistryError> {
        let Some(usage) = &self.usage else {
            return Ok(());
        };
        let others = self
            .store
            .versions_with_id(v.id)
            .await?
            .into_iter()
            .filter(|o| (o.subject.as_str(), o.version) != (v.subject.as_str(), v.version))
            .count();
        if others > 0 {
            return Ok(());
        }
        match usage.events_with_schema(v.id).await? {
            0 => Ok(()),
            events => Err(RegistryError::SchemaInUse { id: v.id, events }),
        }
    }
}

#[async_trait]
impl SchemaRegistry for Registry {
    async fn register(&self, subject: &str, schema: &str) -> Result<u32, RegistryError> {
        Ok(self.register_version(subject, schema, &[]).await?.id)
    }

    async fn schema(&self, id: u32) -> Result<String, RegistryError> {
        Ok(self.schema_by_id(id).await?.schema)
    }
}

impl Default for Registry {
    /// A registry in memory.
    fn default() -> Self {
        Registry::new(super::InMemorySchemaStore::default())
    }
}
