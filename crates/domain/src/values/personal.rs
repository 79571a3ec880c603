//! Personal data: a value that belongs to a data subject (a customer) and must become
//! unreadable when the subject is forgotten. Events carry it sealed under the subject's
//! own key (crypto-shredding, `core::keys`); the domain only distinguishes the three
//! states it can be in, and never sees a key.

use std::fmt;

use super::CustomerId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Personal {
    /// Readable: as a client sent it, or opened with its subject's key.
    Clear { subject: CustomerId, text: String },
    /// As stored and sent: sealed under its subject's key, and not opened (a reader
    /// without the key store).
    Sealed(Vec<u8>),
    /// Its subject was forgotten: the key, and with it the value, is gone for good.
    Erased,
}

impl Personal {
    /// A value the subject gave, readable until it is sealed.
    pub fn clear(subject: &CustomerId, text: impl Into<String>) -> Self {
        Personal::Clear {
            subject: subject.clone(),
            text: text.into(),
        }
    }

    /// The value, if it can be read.
    pub fn text(&self) -> Option<&str> {
        match self {
            Personal::Clear { text, .. } => Some(text),
            Personal::Sealed(_) | Personal::Erased => None,
        }
    }

    pub fn is_erased(&self) -> bool {
        matches!(self, Personal::Erased)
    }
}

/// The text, or what stands in for it: `[encrypted]`, `[erased]`.
impl fmt::Display for Personal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Personal::Clear { text, .. } => f.write_str(text),
            Personal::Sealed(_) => f.write_str("[encrypted]"),
            Personal::Erased => f.write_str("[erased]"),
        }
    }
}
