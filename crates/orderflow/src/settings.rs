//! What the commands share, in groups that each command flattens only as it needs
//! them: `migrate` takes the data dir and the store, `consumers` the data dir and the
//! bus, `run` and `serve` all of them ([`Settings`]). Every setting can also come from
//! an `ORDERFLOW_*` variable. Which adapter a URL names is decided here too
//! ([`StoreKind`], [`BusKind`]); opening it is the wiring's business.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::bail;
use clap::Args;
use orderflow_services::http::Limits;

/// Where the embedded files live.
#[derive(Debug, Clone, Args)]
pub struct DataDir {
    /// Where the embedded databases (event store, bus, read models, payment ledger) and
    /// the mail folder live, unless `--store`, `--bus` or `--smtp` put them elsewhere.
    #[arg(
        id = "data_dir",
        long = "data-dir",
        value_name = "DIR",
        env = "ORDERFLOW_DATA_DIR",
        default_value = "orderflow-data"
    )]
    pub path: PathBuf,
}

/// The event store, which also holds the schema registry and, on PostgreSQL, the read
/// models.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Event store")]
pub struct StoreArgs {
    /// Event store URL: `sqlite://PATH` (default: `<data-dir>/events.db`) or
    /// `postgres://USER@HOST:PORT/DB`.
    #[arg(long = "store", env = "ORDERFLOW_STORE_URL")]
    pub store_url: Option<String>,
    /// How long to wait for a PostgreSQL connection, in milliseconds.
    #[arg(
        long,
        env = "ORDERFLOW_DB_ACQUIRE_TIMEOUT_MS",
        default_value_t = 10_000
    )]
    pub db_acquire_timeout_ms: u64,
}

/// Which event store a URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreKind {
    Sqlite(PathBuf),
    Postgres(String),
}

impl StoreArgs {
    /// The event store `--store` names (default: SQLite in the data dir), with a clear
    /// error for schemes this build does not have.
    pub fn kind(&self, data_dir: &Path) -> anyhow::Result<StoreKind> {
        let Some(url) = &self.store_url else {
            return Ok(StoreKind::Sqlite(data_dir.join("events.db")));
        };
        match url.split_once("://") {
            Some(("sqlite", path)) if !path.is_empty() => {
                Ok(StoreKind::Sqlite(PathBuf::from(path)))
            }
            Some(("postgres" | "postgresql", _)) => Ok(StoreKind::Postgres(url.clone())),
            _ => bail!("store URL {url:?} is not supported: use sqlite://PATH or postgres://…"),
        }
    }
}

/// The event bus: the embedded log or Kafka.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Event bus")]
pub struct BusArgs {
    /// Event bus URL: `sqlite://PATH` for the embedded log (default: `<data-dir>/bus.db`)
    /// or `kafka://HOST:PORT[,HOST:PORT...]`.
    #[arg(long = "bus", env = "ORDERFLOW_BUS_URL")]
    pub bus_url: Option<String>,
    #[command(flatten)]
    pub kafka: KafkaArgs,
}

/// Which event bus a URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusKind {
    Sqlite(PathBuf),
    Kafka(String),
}

impl BusArgs {
    /// The event bus `--bus` names (default: the embedded log in the data dir).
    pub fn kind(&self, data_dir: &Path) -> anyhow::Result<BusKind> {
        Ok(self
            .named()?
            .unwrap_or_else(|| BusKind::Sqlite(data_dir.join("bus.db"))))
    }

    /// The event bus `--bus` names, if it names one.
    pub fn named(&self) -> anyhow::Result<Option<BusKind>> {
        let Some(url) = &self.bus_url else {
            return Ok(None);
        };
        Ok(Some(match url.split_once("://") {
            Some(("sqlite", path)) if !path.is_empty() => BusKind::Sqlite(PathBuf::from(path)),
            Some(("kafka", _)) => BusKind::Kafka(url.clone()),
            _ => bail!("bus URL {url:?} is not supported: use sqlite://PATH or kafka://HOST:PORT"),
        }))
    }
}

/// How a `kafka://` bus connects and the shape of the topics it provisions.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Event bus")]
pub struct KafkaArgs {
    /// A file of librdkafka properties (`key=value` lines, as Kafka's client
    /// `.properties` files) for a `kafka://` bus. `ORDERFLOW_KAFKA_<PROPERTY>` variables
    /// set properties too (`ORDERFLOW_KAFKA_SECURITY_PROTOCOL=SASL_SSL`), over the file.
    #[arg(long = "kafka-properties", env = "ORDERFLOW_BUS_PROPERTIES")]
    pub kafka_properties: Option<PathBuf>,
    /// Partitions of each topic provisioned on Kafka.
    #[arg(long, env = "ORDERFLOW_TOPIC_PARTITIONS", default_value_t = 12)]
    pub topic_partitions: u32,
    /// Replication factor of each topic provisioned on Kafka.
    #[arg(long, env = "ORDERFLOW_TOPIC_REPLICATION_FACTOR", default_value_t = 3)]
    pub topic_replication_factor: u32,
    /// How long the bus keeps records (Kafka's `retention.ms`), in hours.
    #[arg(long, env = "ORDERFLOW_TOPIC_RETENTION_HOURS", default_value_t = 168)]
    pub topic_retention_hours: u64,
    /// The same in milliseconds, over `--topic-retention-hours`: for trying out what a
    /// short retention does (a consumer group started afterwards gets the deleted
    /// records' events from the event store).
    #[arg(long, env = "ORDERFLOW_TOPIC_RETENTION_MS", value_parser = clap::value_parser!(u64).range(1..))]
    pub topic_retention_ms: Option<u64>,
    /// Put before every topic and group name on Kafka, so that deployments can share a
    /// cluster.
    #[arg(long, env = "ORDERFLOW_TOPIC_PREFIX", default_value = "")]
    pub topic_prefix: String,
}

impl KafkaArgs {
    /// How long the bus keeps records.
    pub fn retention(&self) -> Duration {
        match self.topic_retention_ms {
            Some(ms) => Duration::from_millis(ms),
            None => Duration::from_secs(self.topic_retention_hours * 3600),
        }
    }
}

/// An external schema registry in place of the embedded one.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Schema registry")]
pub struct RegistryArgs {
    /// Use this Confluent-compatible schema registry instead of the embedded one.
    #[arg(long = "schema-registry", env = "ORDERFLOW_SCHEMA_REGISTRY_URL")]
    pub schema_registry_url: Option<String>,
    /// A bearer token sent to the `--schema-registry` (an orderflow's embedded registry
    /// with tokens needs an operator one). Prefer the variable: arguments show in `ps`.
    #[arg(
        long = "schema-registry-token",
        env = "ORDERFLOW_SCHEMA_REGISTRY_TOKEN",
        hide_env_values = true
    )]
    pub schema_registry_token: Option<String>,
}

/// The HTTP API: where it listens, who may call it, and what it accepts.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "HTTP API")]
pub struct ApiArgs {
    /// The HTTP API's address (port 0 picks a free one); a process that does not run
    /// the API serves `GET /health` and `GET /metrics` there.
    #[arg(
        long = "http",
        env = "ORDERFLOW_HTTP_ADDR",
        default_value = "127.0.0.1:8080"
    )]
    pub http_addr: SocketAddr,
    /// A file of API tokens, one `ROLE TOKEN` per line (roles: shop, operator, admin;
    /// `#` starts a comment). `ORDERFLOW_TOKENS=ROLE:TOKEN,ROLE:TOKEN` adds more. With
    /// any token, every route but `GET /health` needs one; without, the API serves on
    /// loopback only.
    #[arg(long = "tokens", env = "ORDERFLOW_TOKENS_FILE")]
    pub tokens_file: Option<PathBuf>,
    /// Serve the API without tokens on an address other than loopback: anyone who
    /// reaches the port may then do anything.
    #[arg(long, env = "ORDERFLOW_ALLOW_UNAUTHENTICATED")]
    pub allow_unauthenticated: bool,
    /// The largest request body the API reads, in bytes (`413` past it).
    #[arg(
        long,
        env = "ORDERFLOW_MAX_BODY_BYTES",
        default_value_t = Limits::DEFAULT.max_body_bytes
    )]
    pub max_body_bytes: usize,
    /// The most lines (`items`) one order may have (`422` past it).
    #[arg(
        long,
        env = "ORDERFLOW_MAX_ORDER_LINES",
        default_value_t = Limits::DEFAULT.max_order_lines
    )]
    pub max_order_lines: usize,
    /// The longest customer id or SKU the API accepts, in characters (at most 64, the
    /// domain's own bound).
    #[arg(
        long,
        env = "ORDERFLOW_MAX_ID_LENGTH",
        default_value_t = Limits::DEFAULT.max_id_length
    )]
    pub max_id_length: usize,
    /// The longest shipping address the API accepts, in characters.
    #[arg(
        long,
        env = "ORDERFLOW_MAX_ADDRESS_LENGTH",
        default_value_t = Limits::DEFAULT.max_address_length
    )]
    pub max_address_length: usize,
}

/// The simulated payment provider the payment service charges.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Payment provider (simulated)")]
pub struct PaymentArgs {
    /// The simulated payment provider declines orders above this total.
    #[arg(
        long,
        env = "ORDERFLOW_PAYMENT_DECLINE_ABOVE",
        default_value_t = 10000.0
    )]
    pub payment_decline_above: f64,
    /// Latency the simulated payment provider adds to every call, in milliseconds.
    #[arg(long, env = "ORDERFLOW_PAYMENT_LATENCY_MS", default_value_t = 0)]
    pub payment_latency_ms: u64,
    /// Share of simulated payment calls that fail as an outage (0.0–1.0); they are retried.
    #[arg(long, env = "ORDERFLOW_PAYMENT_FAILURE_RATE", default_value_t = 0.0)]
    pub payment_failure_rate: f64,
}

/// How the notification service sends mail.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Mail")]
pub struct MailArgs {
    /// Send email over SMTP (`smtp://host[:port]`) instead of writing `.eml` files to
    /// `<data-dir>/mail`.
    #[arg(long = "smtp", env = "ORDERFLOW_SMTP_URL")]
    pub smtp_url: Option<String>,
}

/// Everything the services of `run` and `serve` use.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    #[command(flatten)]
    pub data_dir: DataDir,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Largest number of connections to PostgreSQL (with a `postgres://` store).
    #[arg(
        long,
        env = "ORDERFLOW_DB_MAX_CONNECTIONS",
        default_value_t = 16,
        help_heading = "Event store"
    )]
    pub db_max_connections: u32,
    #[command(flatten)]
    pub bus: BusArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub payment: PaymentArgs,
    #[command(flatten)]
    pub mail: MailArgs,
    /// How long, in seconds, a consumer keeps retrying a record whose handling fails for
    /// a reason that may pass (provider, mail server or store down) before it sets the
    /// record aside on the topic's dead-letter queue and goes on.
    #[arg(
        long,
        env = "ORDERFLOW_GIVE_UP_AFTER_SECONDS",
        default_value_t = 3600,
        help_heading = "Process"
    )]
    pub give_up_after_seconds: u64,
    /// Faults to inject into this process's services, from a JSON file read again
    /// whenever it changes: for `orderflow bench --compare sync` (see `faults.rs`).
    #[arg(long, env = "ORDERFLOW_FAULTS", hide = true)]
    pub faults: Option<std::path::PathBuf>,
    /// How long, in seconds, services may take to finish what is in flight once asked
    /// to stop (SIGTERM, Ctrl-C) before they are abandoned; keep it below the
    /// orchestrator's own (Kubernetes: 30 s).
    #[arg(
        long,
        env = "ORDERFLOW_SHUTDOWN_GRACE_SECONDS",
        default_value_t = 10,
        help_heading = "Process"
    )]
    pub shutdown_grace_seconds: u64,
    /// Start even though the event store is missing or empty while the bus and read
    /// models hold data made from a store that is gone: delete them and make them again
    /// from this store (what they held is lost).
    #[arg(long, env = "ORDERFLOW_DISCARD_DERIVED_DATA", help_heading = "Process")]
    pub discard_derived_data: bool,
    /// Once every service has started, write this file (atomically): a JSON object
    /// with the process id and the base URL of its `--http` address (the API, or
    /// `/health` and `/metrics` alone), e.g.
    /// `{"pid":4242,"http":"http://127.0.0.1:8080"}`. It is removed when the process
    /// stops. For supervisors and scripts that start orderflow with `--http
    /// 127.0.0.1:0` and need to know where it listens.
    #[arg(long, env = "ORDERFLOW_READY_FILE", help_heading = "Process")]
    pub ready_file: Option<PathBuf>,
}

impl Settings {
    /// The data dir's path.
    pub fn dir(&self) -> &Path {
        &self.data_dir.path
    }

    /// The event store these settings name.
    pub fn store_kind(&self) -> anyhow::Result<StoreKind> {
        self.store.kind(self.dir())
    }

    /// The event bus these settings name.
    pub fn bus_kind(&self) -> anyhow::Result<BusKind> {
        self.bus.kind(self.dir())
    }
}
