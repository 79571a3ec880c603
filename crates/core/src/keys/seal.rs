//! Sealing a value under its subject's key, and opening it again.
//!
//! A sealed value is self-describing, so that any reader with the key store can open it
//! without knowing whose it is (all integers big-endian):
//!
//! | bytes | what |
//! |---|---|
//! | 4 | magic `\0PD1` |
//! | 2 | the subject's length, then the subject (UTF-8) |
//! | 4 | the key's number |
//! | 12 | the nonce (random) |
//! | rest | the AES-256-GCM ciphertext, its 16-byte tag last |
//!
//! The subject and the key's number are the cipher's associated data: a sealed value
//! moved to another subject, or altered anywhere, does not open.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use chrono::{DateTime, Utc};
use orderflow_domain::{CustomerId, Personal};

use super::{DataKey, KeyError, KeyLookup, KeyStore, SubjectKey};

/// The first bytes of every sealed value.
pub const MAGIC: [u8; 4] = *b"\0PD1";

const NONCE: usize = 12;
const TAG: usize = 16;

/// A sealed value, read apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope<'a> {
    pub subject: &'a str,
    pub generation: u32,
    nonce: [u8; NONCE],
    ciphertext: &'a [u8],
}

/// A sealed value, opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    Clear(String),
    /// Its subject was forgotten: the key is gone, and so is the value.
    Erased {
        forgotten_at: DateTime<Utc>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("not a sealed value")]
    NotSealed,
    #[error("a sealed value cut short or malformed: {0}")]
    Malformed(&'static str),
    #[error("the sealed value of {subject} does not open with its key: altered or damaged")]
    Tampered { subject: String },
    /// The key store has no record of the key: it is not the one the value was sealed
    /// with (lost, replaced or restored from before the key was made).
    #[error(
        "key {generation} of {subject} is not in the key store: it is not the key store \
         this data was written with (restore the key store from its backup)"
    )]
    MissingKey { subject: String, generation: u32 },
    #[error(transparent)]
    Keys(#[from] KeyError),
}

impl SealError {
    /// Only an unavailable key store may pass; everything else is the data's or the
    /// deployment's, and asking again never helps.
    pub fn is_transient(&self) -> bool {
        matches!(self, SealError::Keys(e) if e.is_transient())
    }
}

fn aad(subject: &str, generation: u32) -> Vec<u8> {
    let mut aad = Vec::with_capacity(subject.len() + 4);
    aad.extend_from_slice(subject.as_bytes());
    aad.extend_from_slice(&generation.to_be_bytes());
    aad
}

/// Seals `plaintext` under the subject's key.
pub fn seal(subject: &str, key: &SubjectKey, plaintext: &[u8]) -> Vec<u8> {
    let nonce: [u8; NONCE] = rand::random();
    let cipher = Aes256Gcm::new((&key.key.0).into());
    let ciphertext = cipher
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: plaintext,
                aad: &aad(subject, key.generation),
            },
        )
        .expect("AES-GCM encrypts any message under 64 GiB");
    let subject_len = u16::try_from(subject.len()).expect("subjects are short ids");
    let mut out = Vec::with_capacity(4 + 2 + subject.len() + 4 + NONCE + ciphertext.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&subject_len.to_be_bytes());
    out.extend_from_slice(subject.as_bytes());
    out.extend_from_slice(&key.generation.to_be_bytes());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    out
}

/// Reads a sealed value apart, without opening it.
pub fn parse(bytes: &[u8]) -> Result<Envelope<'_>, SealError> {
    let rest = bytes.strip_prefix(&MAGIC).ok_or(SealError::NotSealed)?;
    let (len, rest) = rest
        .split_first_chunk::<2>()
        .ok_or(SealError::Malformed("no subject length"))?;
    let len = u16::from_be_bytes(*len) as usize;
    if rest.len() < len {
        return Err(SealError::Malformed("subject cut short"));
    }
    let (subject, rest) = rest.split_at(len);
    let subject =
        std::str::from_utf8(subject).map_err(|_| SealError::Malformed("subject not UTF-8"))?;
    let (generation, rest) = rest
        .split_first_chunk::<4>()
        .ok_or(SealError::Malformed("no key number"))?;
    let (nonce, ciphertext) = rest
        .split_first_chunk::<NONCE>()
        .ok_or(SealError::Malformed("no nonce"))?;
    if ciphertext.len() < TAG {
        return Err(SealError::Malformed("ciphertext shorter than its tag"));
    }
    Ok(Envelope {
        subject,
        generation: u32::from_be_bytes(*generation),
        nonce: *nonce,
        ciphertext,
    })
}

/// Opens a sealed value with its key.
pub fn open_with(envelope: &Envelope<'_>, key: &DataKey) -> Result<Vec<u8>, SealError> {
    Aes256Gcm::new((&key.0).into())
        .decrypt(
            &Nonce::from(envelope.nonce),
            Payload {
                msg: envelope.ciphertext,
                aad: &aad(envelope.subject, envelope.generation),
            },
        )
        .map_err(|_| SealError::Tampered {
            subject: envelope.subject.to_owned(),
        })
}

/// Seals `text` under the subject's current key, made if it has none.
pub async fn seal_text(
    keys: &dyn KeyStore,
    subject: &str,
    text: &str,
) -> Result<Vec<u8>, SealError> {
    let key = keys.key_for_writing(subject).await?;
    Ok(seal(subject, &key, text.as_bytes()))
}

/// Opens a sealed text with the key store: the text, or erased if its subject was
/// forgotten.
pub async fn open_text(keys: &dyn KeyStore, sealed: &[u8]) -> Result<Opened, SealError> {
    let envelope = parse(sealed)?;
    match keys.key(envelope.subject, envelope.generation).await? {
        KeyLookup::Live(key) => {
            let clear = open_with(&envelope, &key)?;
            String::from_utf8(clear)
                .map(Opened::Clear)
                .map_err(|_| SealError::Malformed("the value is not UTF-8"))
        }
        KeyLookup::Destroyed { forgotten_at } => Ok(Opened::Erased { forgotten_at }),
        KeyLookup::Unknown => Err(SealError::MissingKey {
            subject: envelope.subject.to_owned(),
            generation: envelope.generation,
        }),
    }
}

/// Opens a sealed personal value with the key store: in the clear, or erased if its
/// subject was forgotten. A value that is not sealed is returned as it is.
pub async fn open_personal(keys: &dyn KeyStore, value: Personal) -> Result<Personal, SealError> {
    let Personal::Sealed(bytes) = value else {
        return Ok(value);
    };
    let subject = parse(&bytes)?.subject.to_owned();
    Ok(match open_text(keys, &bytes).await? {
        Opened::Clear(text) => Personal::Clear {
            subject: CustomerId::parse(subject)
                .map_err(|_| SealError::Malformed("the subject is not a customer id"))?,
            text,
        },
        Opened::Erased { .. } => Personal::Erased,
    })
}

#[cfg(test)]
mod tests;
