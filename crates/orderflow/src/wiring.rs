//! The only place that names concrete adapters: URL schemes pick them.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use orderflow_core::EventCodec;
use orderflow_core::bus::{EventBus, StartFrom};
use orderflow_core::mail::Mailer;
use orderflow_core::read_model::{AnalyticsStore, ReadModel};
use orderflow_core::registry::{Registry, SchemaRegistry};
use orderflow_core::store::{Checkpoints, EventStore};
use orderflow_domain::Money;
use orderflow_outbound::{FileMailer, HttpSchemaRegistry, SmtpMailer};
use orderflow_postgres::{PgEventStore, PgReadModel, PgSchemaStore, PoolSettings};
use orderflow_services::consumer::{self, Handler};
use orderflow_services::context::Recorder;
use orderflow_services::handlers::{
    analytics::AnalyticsService, inventory::InventoryService, notification::NotificationService,
    order_process::OrderProcess, payment::PaymentService, shipping::ShippingService,
};
use orderflow_services::http::{self, AppState};
use orderflow_services::{projections, relay};
use orderflow_sqlite::{
    SimulatedProvider, SimulatedSettings, SqliteBus, SqliteEventStore, SqliteReadModel,
    SqliteSchemaStore,
};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::service::Service;
use crate::settings::{
    ApiArgs, BusArgs, BusKind, KafkaArgs, MailArgs, PaymentArgs, Settings, StoreArgs, StoreKind,
};

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
    /// One per process, so that every service in it shares the orders read last.
    recorder: Recorder,
}

/// How `/health` names the storage when it is damaged: the files on the embedded
/// defaults; on PostgreSQL, the database (its URL may carry a password).
fn locations(settings: &Settings) -> anyhow::Result<http::Locations> {
    Ok(match settings.store_kind()? {
        StoreKind::Sqlite(path) => http::Locations {
            event_store: path.display().to_string(),
            read_models: settings.dir().join("read.db").display().to_string(),
        },
        StoreKind::Postgres(_) => http::Locations::default(),
    })
}

/// The Kafka client settings: the URL, the properties file, `ORDERFLOW_KAFKA_*`
/// variables, and the topic shape.
#[cfg(feature = "kafka")]
pub fn kafka_config(
    settings: &KafkaArgs,
    url: &str,
) -> anyhow::Result<orderflow_kafka::KafkaConfig> {
    let mut config = orderflow_kafka::KafkaConfig::from_url(url)?;
    if let Some(path) = &settings.kafka_properties {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the Kafka properties file {}", path.display()))?;
        config = config
            .with_properties_file(&text)
            .with_context(|| format!("in {}", path.display()))?;
    }
    config = config.with_env(std::env::vars());
    config.topics = orderflow_kafka::TopicSettings {
        partitions: settings.topic_partitions,
        replication_factor: settings.topic_replication_factor,
        retention: Duration::from_secs(settings.topic_retention_hours * 3600),
        prefix: settings.topic_prefix.clone(),
    };
    Ok(config)
}

/// Opens the event bus `--bus` names. On Kafka, topics are provisioned and checked;
/// a cluster that cannot be reached yet is not fatal (the relay and the consumers retry
/// until it is back), a topic of the wrong shape is.
pub async fn open_bus(data_dir: &Path, bus: &BusArgs) -> anyhow::Result<Arc<dyn EventBus>> {
    match bus.kind(data_dir)? {
        BusKind::Sqlite(path) => Ok(Arc::new(
            SqliteBus::open(&path).context("opening the event bus")?,
        )),
        #[cfg(feature = "kafka")]
        BusKind::Kafka(url) => {
            use orderflow_core::bus::BusError;
            use orderflow_kafka::KafkaBus;
            let config = kafka_config(&bus.kafka, &url)?;
            match KafkaBus::connect(config.clone()).await {
                Ok(bus) => Ok(Arc::new(bus)),
                Err(e @ BusError::Unavailable(_)) => {
                    tracing::warn!(error = %e, "Kafka is unreachable; topics not checked, retrying as we go");
                    Ok(Arc::new(KafkaBus::without_provisioning(config)?))
                }
                Err(e) => Err(e).context("provisioning the Kafka topics"),
            }
        }
        #[cfg(not(feature = "kafka"))]
        BusKind::Kafka(url) => bail!(
            "bus URL {url:?}: Kafka support is not compiled into this build of orderflow \
             (build with `--features kafka`)"
        ),
    }
}

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
struct Storage {
    store: Arc<dyn EventStore>,
    checkpoints: Arc<dyn Checkpoints>,
    schemas: Registry,
    read_model: Arc<dyn ReadModel>,
    analytics: Arc<dyn AnalyticsStore>,
}

async fn open_storage(
    dir: &Path,
    settings: &StoreArgs,
    max_connections: u32,
) -> anyhow::Result<Storage> {
    Ok(match settings.kind(dir)? {
        StoreKind::Sqlite(path) => {
            let (store, schemas) = open_sqlite(&path)?;
            let read_model = Arc::new(
                SqliteReadModel::open(&dir.join("read.db")).context("opening the read models")?,
            );
            Storage {
                store: store.clone(),
                checkpoints: store,
                // Refuses to delete for good a schema that stored events use.
                schemas: Registry::new(schemas.clone()).with_usage(Arc::new(schemas)),
                read_model: read_model.clone(),
                analytics: read_model,
            }
        }
        StoreKind::Postgres(url) => {
            let pool = pool_settings(max_connections, settings.db_acquire_timeout_ms);
            let store = connect_postgres(&url, &pool).await?;
            let read_model = Arc::new(PgReadModel::new(store.pool().clone()));
            Storage {
                schemas: {
                    let schemas = PgSchemaStore::new(store.pool().clone());
                    Registry::new(schemas.clone()).with_usage(Arc::new(schemas))
                },
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

fn pool_settings(max_connections: u32, acquire_timeout_ms: u64) -> PoolSettings {
    PoolSettings {
        max_connections,
        acquire_timeout: Duration::from_millis(acquire_timeout_ms),
        schema: None,
    }
}

/// Where a PostgreSQL URL points, without its password, for messages.
pub fn postgres_place(url: &str) -> String {
    match url.parse::<PgConnectOptions>() {
        Ok(o) => format!(
            "{}:{}/{}",
            o.get_host(),
            o.get_port(),
            o.get_database().unwrap_or_default()
        ),
        Err(_) => "the --store URL".to_owned(),
    }
}

/// Connects to the PostgreSQL event store at `url`, which runs the migrations it lacks.
async fn connect_postgres(url: &str, pool: &PoolSettings) -> anyhow::Result<Arc<PgEventStore>> {
    Ok(Arc::new(
        PgEventStore::connect(url, pool).await.with_context(|| {
            format!(
                "connecting to the PostgreSQL event store at {}",
                postgres_place(url)
            )
        })?,
    ))
}

/// The PostgreSQL migrations of this build, the ones `PgEventStore::connect` runs.
static PG_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../postgres/migrations");

/// Fails, saying why, unless the database at `url` already has every migration of this
/// build: then connecting the event store (which runs the missing ones) changes nothing.
async fn require_migrated(url: &str, pool: &PoolSettings) -> anyhow::Result<()> {
    let place = postgres_place(url);
    let options = url
        .parse::<PgConnectOptions>()
        .context("reading the PostgreSQL URL")?;
    let db = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(pool.acquire_timeout)
        .connect_with(options)
        .await
        .map_err(|e| match e {
            sqlx::Error::PoolTimedOut => anyhow::anyhow!(
                "no PostgreSQL server answered at {place} within {} ms (--db-acquire-timeout-ms)",
                pool.acquire_timeout.as_millis()
            ),
            e => anyhow::Error::new(e).context(format!("cannot connect to PostgreSQL at {place}")),
        })?;
    let applied: Vec<i64> = async {
        let table: Option<String> =
            sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations')::text")
                .fetch_one(&db)
                .await?;
        match table {
            None => Ok(Vec::new()),
            Some(_) => {
                sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                    .fetch_all(&db)
                    .await
            }
        }
    }
    .await
    .with_context(|| format!("reading the migrations applied to {place}"))?;
    db.close().await;
    if applied.is_empty() {
        bail!(
            "no orderflow event store in the database {place} (it has none of orderflow's \
             tables): point --store at one"
        );
    }
    let missing: Vec<String> = PG_MIGRATIONS
        .iter()
        .filter(|m| m.migration_type.is_up_migration() && !applied.contains(&m.version))
        .map(|m| format!("{} {}", m.version, m.description))
        .collect();
    if !missing.is_empty() {
        bail!(
            "the database {place} lacks migrations of this build of orderflow ({}); this \
             command only reads and does not change it: run `orderflow migrate --store …` \
             first",
            missing.join(", ")
        );
    }
    Ok(())
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
                .context("registering the event schemas")?,
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
        })
    }

    /// The event store with its codec, shared by every service of this process: an
    /// order one service read is then read again by any of them only from where that
    /// read ended.
    pub fn recorder(&self) -> Recorder {
        self.recorder.clone()
    }
}

fn mailer(data_dir: &Path, settings: &MailArgs) -> anyhow::Result<Arc<dyn Mailer>> {
    Ok(match &settings.smtp_url {
        Some(url) => Arc::new(SmtpMailer::from_url(url)?),
        None => Arc::new(FileMailer::new(data_dir.join("mail"))?),
    })
}

fn payment_provider(data_dir: &Path, settings: &PaymentArgs) -> anyhow::Result<SimulatedProvider> {
    let decline_above = Money::from_major(settings.payment_decline_above).context(
        "--payment-decline-above must be a non-negative amount with at most two decimals",
    )?;
    if !(0.0..=1.0).contains(&settings.payment_failure_rate) {
        bail!("--payment-failure-rate must be between 0.0 and 1.0");
    }
    Ok(SimulatedProvider::open(
        &data_dir.join("payment-ledger.db"),
        SimulatedSettings {
            decline_above,
            latency: Duration::from_millis(settings.payment_latency_ms),
            failure_rate: settings.payment_failure_rate,
        },
    )?)
}

/// The API's request limits from the settings, refused with the setting's name when one
/// lets nothing through.
fn limits(settings: &ApiArgs) -> anyhow::Result<http::Limits> {
    let limits = http::Limits {
        max_body_bytes: settings.max_body_bytes,
        max_order_lines: settings.max_order_lines,
        max_id_length: settings.max_id_length,
        max_address_length: settings.max_address_length,
    };
    limits.validate().map_err(anyhow::Error::msg)?;
    Ok(limits)
}

/// The variable that lists API tokens as `ROLE:TOKEN,ROLE:TOKEN`, next to `--tokens`.
pub const TOKENS_VAR: &str = "ORDERFLOW_TOKENS";

/// Who may call the API: the tokens of `--tokens` and `ORDERFLOW_TOKENS`. Without any,
/// the API is open and is served on a loopback address only: any other `--http` is
/// refused, unless `--allow-unauthenticated` says so.
pub fn api_access(settings: &ApiArgs) -> anyhow::Result<http::Access> {
    let mut tokens = http::Tokens::new();
    if let Some(path) = &settings.tokens_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the tokens file {}", path.display()))?;
        tokens
            .add_file(&text)
            .map_err(|e| anyhow::anyhow!("in the tokens file {}: {e}", path.display()))?;
        if tokens.is_empty() {
            bail!(
                "the tokens file {} has no token: write one `ROLE TOKEN` per line",
                path.display()
            );
        }
    }
    if let Some(list) = std::env::var_os(TOKENS_VAR) {
        let list = list
            .into_string()
            .map_err(|_| anyhow::anyhow!("{TOKENS_VAR} is not UTF-8"))?;
        tokens
            .add_list(&list)
            .map_err(|e| anyhow::anyhow!("in {TOKENS_VAR}: {e}"))?;
    }
    let access = http::Access::with(tokens);
    let addr = settings.http_addr;
    if access.is_open() && addr.ip().is_loopback() {
        return Ok(http::Access::Loopback);
    }
    if access.is_open() && !settings.allow_unauthenticated {
        bail!(
            "refusing to serve the API without tokens on {addr}, which is not a loopback \
             address: anyone who reaches it could set stock, cancel orders and register \
             schemas. Configure tokens (--tokens FILE or {TOKENS_VAR}), listen on \
             127.0.0.1, or pass --allow-unauthenticated to run unauthenticated anyway"
        );
    }
    Ok(access)
}

/// Says at start how the API is protected.
fn announce_access(access: &http::Access, addr: std::net::SocketAddr) {
    match access {
        http::Access::Tokens(tokens) => announce!(
            "orderflow: the API needs a bearer token on every route but GET /health \
             ({} configured)",
            tokens.len()
        ),
        http::Access::Loopback => announce!(
            "orderflow: the API is unauthenticated and listens on loopback only; configure \
             --tokens or {TOKENS_VAR} to serve other hosts"
        ),
        http::Access::Open => announce!(
            "orderflow: WARNING: the API is unauthenticated on {addr} \
             (--allow-unauthenticated): anyone who reaches it may do anything"
        ),
    }
}

/// The services a process started.
pub struct Started {
    /// One task per service; each ends when its service stops.
    pub tasks: JoinSet<anyhow::Result<()>>,
    /// Where the API listens, if it is one of them.
    pub http: Option<std::net::SocketAddr>,
}

/// Starts the chosen services; each stops when `shutdown` is cancelled. `access` guards
/// the API (see [`api_access`]).
pub async fn spawn(
    services: &[Service],
    settings: &Settings,
    adapters: &Adapters,
    access: http::Access,
    shutdown: &CancellationToken,
) -> anyhow::Result<Started> {
    let mut tasks = JoinSet::new();
    let a = adapters.clone();
    let retry = consumer::Retry {
        give_up_after: Duration::from_secs(settings.give_up_after_seconds),
    };
    let mut consumer = |handler: Arc<dyn Handler>| {
        let (bus, codec, token) = (a.bus.clone(), a.codec.clone(), shutdown.clone());
        tasks.spawn(async move {
            consumer::run_with(bus, codec, handler, StartFrom::Earliest, retry, token)
                .await
                .map_err(Into::into)
        });
    };
    for service in services {
        match service {
            Service::Api | Service::Projections | Service::Relay => {}
            Service::Orders => consumer(Arc::new(OrderProcess {
                recorder: a.recorder(),
            })),
            Service::Payment => consumer(Arc::new(PaymentService {
                recorder: a.recorder(),
                provider: Arc::new(payment_provider(settings.dir(), &settings.payment)?),
            })),
            Service::Inventory => consumer(Arc::new(InventoryService::new(a.recorder()))),
            Service::Shipping => consumer(Arc::new(ShippingService {
                recorder: a.recorder(),
            })),
            Service::Notification => consumer(Arc::new(NotificationService {
                recorder: a.recorder(),
                mailer: mailer(settings.dir(), &settings.mail)?,
            })),
            Service::Analytics => consumer(Arc::new(AnalyticsService {
                store: a.analytics.clone(),
            })),
        }
    }
    if services.contains(&Service::Relay) {
        let relay = relay::run(
            a.store.clone(),
            a.checkpoints.clone(),
            a.bus.clone(),
            shutdown.clone(),
        );
        tasks.spawn(async move { relay.await.map_err(Into::into) });
    }
    if services.contains(&Service::Projections) {
        let projections = projections::run(
            a.store.clone(),
            a.codec.clone(),
            a.read_model.clone(),
            shutdown.clone(),
        );
        tasks.spawn(async move { projections.await.map_err(Into::into) });
    }
    let mut http = None;
    if services.contains(&Service::Api) {
        let limits = limits(&settings.api)?;
        let listener = tokio::net::TcpListener::bind(settings.api.http_addr)
            .await
            .with_context(|| format!("cannot listen on {}", settings.api.http_addr))?;
        let addr = listener.local_addr()?;
        announce!("orderflow: HTTP API on http://{addr}");
        announce_access(&access, addr);
        let state = AppState {
            recorder: a.recorder(),
            registry: a.registry.clone(),
            read_model: a.read_model.clone(),
            analytics: a.analytics.clone(),
            bus: a.bus.clone(),
            checkpoints: a.checkpoints.clone(),
            limits,
            locations: locations(settings)?,
        };
        let api = http::serve(listener, state, access, shutdown.clone());
        tasks.spawn(async move { api.await.map_err(Into::into) });
        http = Some(addr);
    }
    Ok(Started { tasks, http })
}
