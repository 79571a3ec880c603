//! Personal data through the codec: sealed under its subjects' keys before it is
//! encoded, opened (or read as erased) when it is decoded, by a codec with the key store.

use std::sync::Arc;

use orderflow_domain::{Event, Personal};

use super::{CodecError, Encoded, EventCodec};
use crate::keys::KeyStore;
use crate::keys::seal;

impl EventCodec {
    /// With the key store of personal data's keys.
    pub fn with_keys(mut self, keys: Arc<dyn KeyStore>) -> Self {
        self.keys = Some(keys);
        self
    }

    /// Seals the event's personal data in the clear under its subjects' keys, as it must
    /// be before it is encoded.
    pub async fn seal(&self, event: &mut Event) -> Result<(), CodecError> {
        let event_type = event.event_type().name();
        for value in event.personal_mut() {
            if let Personal::Clear { subject, text } = value {
                let keys = self
                    .keys
                    .as_deref()
                    .ok_or(CodecError::NoKeyStore { event_type })?;
                *value = Personal::Sealed(seal::seal_text(keys, subject.as_str(), text).await?);
            }
        }
        Ok(())
    }

    /// Encodes the event with its personal data sealed first (the event itself is left
    /// as it was).
    pub async fn encode_sealed(&self, event: &Event) -> Result<Encoded, CodecError> {
        if event.personal().is_empty() {
            return self.encode(event);
        }
        let mut sealed = event.clone();
        self.seal(&mut sealed).await?;
        self.encode(&sealed)
    }

    /// Opens the event's sealed personal data, if this codec has the keys.
    pub(super) async fn open_personal(&self, event: &mut Event) -> Result<(), CodecError> {
        let Some(keys) = self.keys.as_deref() else {
            return Ok(());
        };
        for value in event.personal_mut() {
            if matches!(value, Personal::Sealed(_)) {
                let sealed = std::mem::replace(value, Personal::Erased);
                *value = seal::open_personal(keys, sealed).await?;
            }
        }
        Ok(())
    }
}
