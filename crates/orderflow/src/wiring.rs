//! The only place that names concrete adapters: URL schemes pick them, and the chosen
//! services are started on them.

mod access;
mod bus;
mod keys;
mod postgres;
mod spawn;
mod storage;

use std::sync::Arc;

use anyhow::Context;
use orderflow_core::EventCodec;
use orderflow_core::bus::EventBus;
use orderflow_core::keys::KeyStore;
use orderflow_core::read_model::generations::ReadModelGenerations;
use orderflow_core::read_model::{AnalyticsStore, ReadModel};
use orderflow_core::registry::{Registry, SchemaRegistry};
use orderflow_core::store::{Checkpoints, EventStore};
use orderflow_outbound::HttpSchemaRegistry;
use orderflow_services::context::Recorder;

pub use access::api_access;
#[cfg(feature = "kafka")]
pub use bus::kafka_config;
pub use bus::open_bus;
pub use postgres::postgres_place;
pub use spawn::{handler, spawn};
pub use storage::{
    ImportTarget, migrate, open_for_import, open_for_reading, open_for_rebuild,
    open_keys_for_reading, open_keys_for_writing,
};

use crate::settings::Settings;
use storage::{Storage, open_storage};

/// The adapters a process uses.
#[derive(Debug, Clone)]
pub struct Adapters {
    pub store: Arc<dyn EventStore>,
    /// The embedded schema registry (served under `/schema-registry`), unless an
    /// external one is configured.
    pub registry: Option<Arc<Registry>>,
    pub checkpoints: Arc<dyn Checkpoints>,
    pub bus: Arc<dyn EventBus>,
    pub codec: Arc<EventCodec>,
    pub read_model: Arc<dyn ReadModel>,
    pub analytics: Arc<dyn AnalyticsStore>,
    /// The read models' generations, for rebuilding them beside the live ones.
    pub generations: Arc<dyn ReadModelGenerations>,
    /// The keys of personal data (the codec seals and opens with them too).
    pub keys: Arc<dyn KeyStore>,
    /// One per process, so that every service in it shares the orders read last.
    recorder: Recorder,
}

impl Adapters {
    pub async fn open(settings: &Settings) -> anyhow::Result<Self> {
        let dir = settings.dir();
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the data dir {}", dir.display()))?;
        crate::datadir::check(settings).await?;
        let Storage {
            store,
            checkpoints,
            schemas: schema_store,
            read_model,
            analytics,
            generations,
            keys,
        } = open_storage(dir, &settings.store, settings.db_max_connections).await?;
        let (registry, codec_registry): (Option<Arc<Registry>>, Arc<dyn SchemaRegistry>) =
            match &settings.registry.schema_registry_url {
                Some(url) => {
                    let mut client = HttpSchemaRegistry::new(url)?;
                    if let Some(token) = &settings.registry.schema_registry_token {
                        client = client.with_token(token);
                    }
                    (None, Arc::new(client))
                }
                None => {
                    let embedded = Arc::new(schema_store);
                    (Some(embedded.clone()), embedded)
                }
            };
        let codec = Arc::new(
            EventCodec::new(codec_registry)
                .await
                .context("registering the event schemas")?
                .with_keys(keys.clone()),
        );
        let bus = open_bus(dir, &settings.bus).await?;
        Ok(Self {
            registry,
            recorder: Recorder::new(store.clone(), codec.clone()),
            store,
            checkpoints,
            bus,
            codec,
            read_model,
            analytics,
            generations,
            keys,
        })
    }

    /// The event store with its codec, shared by every service of this process: an
    /// order one service read is then read again by any of them only from where that
    /// read ended.
    pub fn recorder(&self) -> Recorder {
        self.recorder.clone()
    }
}
