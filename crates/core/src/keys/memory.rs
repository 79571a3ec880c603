//! A key store in memory, for tests and tools: its keys die with the process.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{DataKey, Forgotten, KeyError, KeyLookup, KeyStore, SubjectKey};

/// One key of a subject: none once destroyed, and when it was.
type Slot = (Option<DataKey>, Option<DateTime<Utc>>);

#[derive(Debug, Default)]
pub struct InMemoryKeyStore {
    /// By subject: every key it had, by number.
    subjects: Mutex<HashMap<String, Vec<Slot>>>,
}

#[async_trait]
impl KeyStore for InMemoryKeyStore {
    async fn key_for_writing(&self, subject: &str) -> Result<SubjectKey, KeyError> {
        let mut subjects = self.subjects.lock().unwrap_or_else(|e| e.into_inner());
        let keys = subjects.entry(subject.to_owned()).or_default();
        if let Some((Some(key), _)) = keys.last() {
            return Ok(SubjectKey {
                generation: keys.len() as u32,
                key: key.clone(),
            });
        }
        let key = DataKey::generate();
        keys.push((Some(key.clone()), None));
        Ok(SubjectKey {
            generation: keys.len() as u32,
            key,
        })
    }

    async fn key(&self, subject: &str, generation: u32) -> Result<KeyLookup, KeyError> {
        let subjects = self.subjects.lock().unwrap_or_else(|e| e.into_inner());
        let slot = generation
            .checked_sub(1)
            .and_then(|i| subjects.get(subject)?.get(i as usize));
        Ok(match slot {
            None => KeyLookup::Unknown,
            Some((Some(key), _)) => KeyLookup::Live(key.clone()),
            Some((None, at)) => KeyLookup::Destroyed {
                forgotten_at: at.unwrap_or_default(),
            },
        })
    }

    async fn forget(&self, subject: &str, at: DateTime<Utc>) -> Result<Forgotten, KeyError> {
        let mut subjects = self.subjects.lock().unwrap_or_else(|e| e.into_inner());
        let mut destroyed = 0;
        for (key, forgotten_at) in subjects.entry(subject.to_owned()).or_default() {
            if key.take().is_some() {
                *forgotten_at = Some(at);
                destroyed += 1;
            }
        }
        Ok(Forgotten { destroyed, at })
    }

    async fn live_subjects(&self) -> Result<u64, KeyError> {
        let subjects = self.subjects.lock().unwrap_or_else(|e| e.into_inner());
        Ok(subjects
            .values()
            .filter(|keys| keys.iter().any(|(key, _)| key.is_some()))
            .count() as u64)
    }
}

#[cfg(test)]
mod tests {
    crate::key_store_contract!(async { (super::InMemoryKeyStore::default(), ()) });
}
