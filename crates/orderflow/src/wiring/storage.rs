//! Where events, checkpoints, schemas, read models and personal data's keys live: the
//! event store `--store` names decides, SQLite in the data dir by default (the keys in
//! `keys.db`, a file of their own) or PostgreSQL.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use orderflow_core::keys::KeyStore;
use orderflow_core::read_model::generations::ReadModelGenerations;
use orderflow_core::read_model::{AnalyticsStore, ReadModel};
use orderflow_core::registry::Registry;
use orderflow_core::store::{Checkpoints, EventStore, ImportEvents};
use orderflow_postgres::{PgGenerations, PgKeyStore, PgReadModel, PgSchemaStore};
use orderflow_sqlite::{
    SqliteEventStore, SqliteGenerations, SqliteKeyStore, SqliteReadModel, SqliteSchemaStore,
};

use super::postgres::{connect_postgres, pool_settings, require_migrated};
use crate::settings::{StoreArgs, StoreKind};

/// Brings the tables of the store `store` names up to date (`orderflow migrate`);
/// returns which store that was.
pub async fn migrate(data_dir: &Path, store: &StoreArgs) -> anyhow::Result<StoreKind> {
    let kind = store.kind(data_dir)?;
    match &kind {
        StoreKind::Postgres(url) => {
            let pool = pool_settings(1, store.db_acquire_timeout_ms);
            connect_postgres(url, &pool)
                .await
                .context("running the PostgreSQL migrations")?;
        }
        StoreKind::Sqlite(_) => {
            std::fs::create_dir_all(data_dir)?;
            open_storage(data_dir, store, 1).await?;
        }
    }
    Ok(kind)
}

/// Where events, checkpoints, schemas and read models live: the event store decides.
pub(super) struct Storage {
    pub store: Arc<dyn EventStore>,
    pub checkpoints: Arc<dyn Checkpoints>,
    pub schemas: Registry,
    pub read_model: Arc<dyn ReadModel>,
    pub analytics: Arc<dyn AnalyticsStore>,
    pub generations: Arc<dyn ReadModelGenerations>,
    pub keys: Arc<dyn KeyStore>,
}

/// The key store of the data dir's SQLite deployment.
fn sqlite_keys(dir: &Path) -> anyhow::Result<Arc<dyn KeyStore>> {
    let path = dir.join(KEYS_FILE);
    Ok(Arc::new(SqliteKeyStore::open(&path).with_context(
        || format!("opening the key store {}", path.display()),
    )?))
}

/// The key store's file in the data dir, beside (never inside) the event store.
pub const KEYS_FILE: &str = "keys.db";

/// The key store of a deployment, for a command that shows personal data (an order's
/// replay): `None` where the data dir has none, so that personal data stays
/// sealed rather than a key store being made empty.
pub async fn open_keys_for_reading(
    data_dir: &Path,
    store: &StoreArgs,
) -> anyhow::Result<Option<Arc<dyn KeyStore>>> {
    match store.kind(data_dir)? {
        StoreKind::Sqlite(_) if !data_dir.join(KEYS_FILE).exists() => return Ok(None),
        StoreKind::Sqlite(_) => {}
        StoreKind::Postgres(url) => {
            let pool = pool_settings(1, store.db_acquire_timeout_ms);
            require_migrated(&url, &pool).await?;
        }
    }
    open_keys_for_writing(data_dir, store).await.map(Some)
}

/// The key store of the deployment `--store` names, made if it has none yet, for a
/// command that seals personal data (`events import --seal`).
pub async fn open_keys_for_writing(
    data_dir: &Path,
    store: &StoreArgs,
) -> anyhow::Result<Arc<dyn KeyStore>> {
    match store.kind(data_dir)? {
        StoreKind::Sqlite(_) => sqlite_keys(data_dir),
        StoreKind::Postgres(url) => {
            let pool = pool_settings(1, store.db_acquire_timeout_ms);
            let store = connect_postgres(&url, &pool).await?;
            Ok(Arc::new(PgKeyStore::new(store.pool().clone())))
        }
    }
}

pub(super) async fn open_storage(
    dir: &Path,
    settings: &StoreArgs,
    max_connections: u32,
) -> anyhow::Result<Storage> {
    Ok(match settings.kind(dir)? {
        StoreKind::Sqlite(path) => {
            super::keys::check_sqlite(&path, &dir.join(KEYS_FILE))?;
            let (store, schemas) = open_sqlite(&path)?;
            let read_path = dir.join("read.db");
            let read_model =
                Arc::new(SqliteReadModel::open(&read_path).context("opening the read models")?);
            Storage {
                generations: Arc::new(SqliteGenerations::new(
                    read_model.as_ref().clone(),
                    &read_path,
                )),
                store: store.clone(),
                checkpoints: store,
                // Refuses to delete for good a schema that stored events use.
                schemas: Registry::new(schemas.clone()).with_usage(Arc::new(schemas)),
                read_model: read_model.clone(),
                analytics: read_model,
                keys: sqlite_keys(dir)?,
            }
        }
        StoreKind::Postgres(url) => {
            let pool = pool_settings(max_connections, settings.db_acquire_timeout_ms);
            let store = connect_postgres(&url, &pool).await?;
            super::keys::check_postgres(store.pool()).await?;
            let read_model = Arc::new(PgReadModel::new(store.pool().clone()));
            Storage {
                generations: Arc::new(PgGenerations::new(store.pool().clone())),
                schemas: {
                    let schemas = PgSchemaStore::new(store.pool().clone());
                    Registry::new(schemas.clone()).with_usage(Arc::new(schemas))
                },
                keys: Arc::new(PgKeyStore::new(store.pool().clone())),
                store: store.clone(),
                checkpoints: store,
                read_model: read_model.clone(),
                analytics: read_model,
            }
        }
    })
}

/// The SQLite event store at `path` and the schema registry's storage in the same file.
fn open_sqlite(path: &Path) -> anyhow::Result<(Arc<SqliteEventStore>, SqliteSchemaStore)> {
    let store = Arc::new(SqliteEventStore::open(path).context("opening the event store")?);
    let schemas = SqliteSchemaStore::open(path).context("opening the schema registry")?;
    Ok((store, schemas))
}

/// The event store and the schema registry `--store` names (default: SQLite in the data
/// dir), for a command that only reads them, such as `orderflow schema check`. Unlike the
/// services it creates and upgrades nothing: a store that does not exist is an error, and
/// a PostgreSQL database must already have every migration of this build (see
/// `orderflow migrate`).
pub async fn open_for_reading(
    data_dir: &Path,
    store: &StoreArgs,
) -> anyhow::Result<(Arc<dyn EventStore>, Registry)> {
    match store.kind(data_dir)? {
        StoreKind::Sqlite(path) => {
            if !path.exists() {
                bail!(
                    "no event store at {}: point --data-dir or --store at one",
                    path.display()
                );
            }
            let (store, schemas) = open_sqlite(&path)?;
            Ok((store, Registry::new(schemas)))
        }
        StoreKind::Postgres(url) => {
            // One read at a time.
            let pool = pool_settings(1, store.db_acquire_timeout_ms);
            require_migrated(&url, &pool).await?;
            let store = connect_postgres(&url, &pool).await?;
            let schemas = PgSchemaStore::new(store.pool().clone());
            Ok((store, Registry::new(schemas)))
        }
    }
}

/// An event store to import into, and its schema registry.
pub struct ImportTarget {
    pub store: Arc<dyn EventStore>,
    pub import: Arc<dyn ImportEvents>,
    pub registry: Registry,
}

/// The event store `--store` names (default: SQLite in the data dir, created if need
/// be; PostgreSQL migrated), for `orderflow events import`.
pub async fn open_for_import(data_dir: &Path, store: &StoreArgs) -> anyhow::Result<ImportTarget> {
    Ok(match store.kind(data_dir)? {
        StoreKind::Sqlite(path) => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let (store, schemas) = open_sqlite(&path)?;
            ImportTarget {
                store: store.clone(),
                import: store,
                registry: Registry::new(schemas.clone()).with_usage(Arc::new(schemas)),
            }
        }
        StoreKind::Postgres(url) => {
            let pool = pool_settings(1, store.db_acquire_timeout_ms);
            let store = connect_postgres(&url, &pool).await?;
            let schemas = PgSchemaStore::new(store.pool().clone());
            ImportTarget {
                store: store.clone(),
                import: store,
                registry: Registry::new(schemas.clone()).with_usage(Arc::new(schemas)),
            }
        }
    })
}

/// What `orderflow projections rebuild` works on: the event store to read, its schema
/// registry, and the read models' generations.
pub struct RebuildTarget {
    pub store: Arc<dyn EventStore>,
    pub registry: Registry,
    pub generations: Arc<dyn ReadModelGenerations>,
}

/// The event store `--store` names, which must exist, and the read models beside it
/// (created when missing: a rebuild then makes them for the first time).
pub async fn open_for_rebuild(data_dir: &Path, store: &StoreArgs) -> anyhow::Result<RebuildTarget> {
    if let StoreKind::Sqlite(path) = store.kind(data_dir)?
        && !path.exists()
    {
        bail!(
            "no event store at {}: point --data-dir or --store at one",
            path.display()
        );
    }
    let storage = open_storage(data_dir, store, 2).await?;
    Ok(RebuildTarget {
        store: storage.store,
        registry: storage.schemas,
        generations: storage.generations,
    })
}
