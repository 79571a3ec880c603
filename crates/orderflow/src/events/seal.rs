//! `events import --seal`: personal data that an event recorded in the clear (a shipping
//! address written before `OrderCreated` v3 sealed it) is sealed under its customer's
//! key on the way in, and the event is written again with the current schema, so that
//! forgetting the customer erases it too. Every other event goes in as recorded.

use std::sync::Arc;

use anyhow::Context;
use orderflow_core::codec::EventCodec;
use orderflow_core::keys::KeyStore;
use orderflow_core::registry::Registry;
use orderflow_core::store::StoredEvent;
use orderflow_domain::Personal;

/// Seals what imported events hold in the clear.
pub struct Sealer {
    codec: EventCodec,
}

impl Sealer {
    /// Over the target's registry, in which this build's schemas are registered (the
    /// current one is what a sealed event is written with), and its key store.
    pub async fn new(registry: Registry, keys: Arc<dyn KeyStore>) -> anyhow::Result<Self> {
        let codec = EventCodec::new(Arc::new(registry))
            .await
            .context("registering this build's schemas to seal with")?
            .with_keys(keys);
        Ok(Self { codec })
    }

    /// Seals the event's personal data recorded in the clear, if it has any; returns
    /// whether it did. Its identity, place and times stay as recorded.
    pub async fn seal(&self, event: &mut StoredEvent) -> anyhow::Result<bool> {
        let what = || format!("event {} at position {}", event.event_id, event.position);
        let decoded = self
            .codec
            .decode_sealed(event.schema_id, &event.payload)
            .await
            .with_context(what)?;
        let in_the_clear = decoded
            .personal()
            .iter()
            .any(|p| matches!(p, Personal::Clear { .. }));
        if !in_the_clear {
            return Ok(false);
        }
        let encoded = self
            .codec
            .encode_sealed(&decoded)
            .await
            .with_context(what)?;
        event.schema_id = encoded.schema_id;
        event.payload = encoded.payload;
        Ok(true)
    }
}
