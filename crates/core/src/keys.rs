//! The key-store port, for crypto-shredding: personal data is encrypted with a key of
//! its data subject's own (a customer's), and forgetting the subject destroys its keys,
//! which makes every copy of that data unreadable at once, wherever it went (the store,
//! the bus, exports, backups) without rewriting any of them.
//!
//! A subject's keys are numbered: forgetting destroys every key the subject had and
//! remembers that it was forgotten, and a subject heard of again (the same customer id,
//! a new order) gets a key of a new number, so that nothing written after the forgetting
//! can be read with, or mistaken for, what was destroyed.
//!
//! # Layout
//!
//! - `keys.rs`: the port, [`KeyStore`], and its values;
//! - `keys/seal.rs`: sealing a value under its subject's key (AES-256-GCM) and opening it;
//! - `keys/memory.rs`: a key store in memory, for tests and tools.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

mod memory;
pub mod seal;

pub use memory::InMemoryKeyStore;

/// A data key: 256 bits for AES-256-GCM. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct DataKey(pub [u8; 32]);

impl DataKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        DataKey(rand::random())
    }

    /// A key as a key store keeps it: 32 bytes, or the store is damaged.
    pub fn from_stored(bytes: Vec<u8>) -> Result<Self, KeyError> {
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| KeyError::Damaged(format!("a key of {} bytes", b.len())))?;
        Ok(DataKey(key))
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(…)")
    }
}

/// A subject's key, with its number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectKey {
    pub generation: u32,
    pub key: DataKey,
}

/// What the store knows of one key of a subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyLookup {
    /// The key exists.
    Live(DataKey),
    /// The subject was forgotten after this key was made: it is destroyed.
    Destroyed { forgotten_at: DateTime<Utc> },
    /// No such key was ever made here: the key store is not the one the data was
    /// written with (a lost or replaced key store, not a forgotten subject).
    Unknown,
}

/// What forgetting a subject did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forgotten {
    /// Keys destroyed now (0 if the subject had none left).
    pub destroyed: usize,
    pub at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key store cannot be reached: try again later.
    #[error("key store unavailable: {0}")]
    Unavailable(String),
    /// A stored key is not one (the wrong length): the key store is damaged.
    #[error("key store damaged: {0}")]
    Damaged(String),
}

impl KeyError {
    pub fn is_transient(&self) -> bool {
        matches!(self, KeyError::Unavailable(_))
    }
}

#[async_trait]
pub trait KeyStore: Send + Sync + std::fmt::Debug {
    /// The subject's current key, made now if it has none live: its first, or after it
    /// was forgotten, one of the next number. Concurrent callers get the same key.
    async fn key_for_writing(&self, subject: &str) -> Result<SubjectKey, KeyError>;

    /// The subject's key of this number.
    async fn key(&self, subject: &str, generation: u32) -> Result<KeyLookup, KeyError>;

    /// Destroys every key of the subject, and remembers when; idempotent.
    async fn forget(&self, subject: &str, at: DateTime<Utc>) -> Result<Forgotten, KeyError>;

    /// How many subjects have a live key (for health and figures).
    async fn live_subjects(&self) -> Result<u64, KeyError>;
}
