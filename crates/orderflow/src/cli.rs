//! Command-line interface. Every setting can also come from an `ORDERFLOW_*` variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use orderflow_services::http::Limits;

#[derive(Debug, Parser)]
#[command(
    name = "orderflow",
    version,
    about = "An event-driven, event-sourced order pipeline"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every service in one process on the embedded defaults.
    Run(Settings),
    /// Run the chosen services (comma-separated) as one process.
    Serve {
        #[arg(value_delimiter = ',', required = true)]
        services: Vec<Service>,
        #[command(flatten)]
        settings: Settings,
    },
    /// Measure appends and the whole pipeline, each next to a baseline.
    Bench(crate::bench::BenchArgs),
    /// Create or upgrade the event store's tables (PostgreSQL: run the versioned
    /// migrations; services also run them on start).
    Migrate(Settings),
    /// Schema tools.
    #[command(subcommand)]
    Schema(crate::schema::SchemaCommand),
    /// Kafka topic tools.
    #[command(subcommand)]
    Topics(crate::ops::TopicsCommand),
    /// Every consumer group's committed offsets, end offsets and lag per partition.
    Consumers(Settings),
    /// Move a stopped consumer group's offsets so that it replays history.
    Replay(crate::ops::ReplayArgs),
}

/// The services a process can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum)]
pub enum Service {
    /// The HTTP API.
    Api,
    /// The order process: confirms, cancels, marks shipped.
    Orders,
    Payment,
    Inventory,
    Shipping,
    Notification,
    /// The order and stock read models.
    Projections,
    Analytics,
    /// Publishes the event store to the bus.
    Relay,
}

impl Service {
    pub const ALL: [Service; 9] = [
        Service::Api,
        Service::Orders,
        Service::Payment,
        Service::Inventory,
        Service::Shipping,
        Service::Notification,
        Service::Projections,
        Service::Analytics,
        Service::Relay,
    ];
}

#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Where the embedded databases and the mail folder live.
    #[arg(long, env = "ORDERFLOW_DATA_DIR", default_value = "orderflow-data")]
    pub data_dir: PathBuf,
    /// The HTTP API's address (port 0 picks a free one).
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
    /// Event store URL: `sqlite://PATH` (default: `<data-dir>/events.db`) or
    /// `postgres://USER@HOST:PORT/DB`.
    #[arg(long = "store", env = "ORDERFLOW_STORE_URL")]
    pub store_url: Option<String>,
    /// Event bus URL: `sqlite://PATH` for the embedded log (default: `<data-dir>/bus.db`)
    /// or `kafka://HOST:PORT[,HOST:PORT...]`.
    #[arg(long = "bus", env = "ORDERFLOW_BUS_URL")]
    pub bus_url: Option<String>,
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
    /// How long Kafka keeps records (`retention.ms`), in hours.
    #[arg(long, env = "ORDERFLOW_TOPIC_RETENTION_HOURS", default_value_t = 168)]
    pub topic_retention_hours: u64,
    /// Put before every topic and group name on Kafka, so that deployments can share a
    /// cluster.
    #[arg(long, env = "ORDERFLOW_TOPIC_PREFIX", default_value = "")]
    pub topic_prefix: String,
    /// Largest number of connections to PostgreSQL (with a `postgres://` store).
    #[arg(long, env = "ORDERFLOW_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,
    /// How long to wait for a PostgreSQL connection, in milliseconds.
    #[arg(
        long,
        env = "ORDERFLOW_DB_ACQUIRE_TIMEOUT_MS",
        default_value_t = 10_000
    )]
    pub db_acquire_timeout_ms: u64,
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
    /// Send email over SMTP (`smtp://host[:port]`) instead of writing `.eml` files.
    #[arg(long = "smtp", env = "ORDERFLOW_SMTP_URL")]
    pub smtp_url: Option<String>,
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
    /// How long, in seconds, a consumer keeps retrying a record whose handling fails for
    /// a reason that may pass (provider, mail server or store down) before it sets the
    /// record aside on the topic's dead-letter queue and goes on.
    #[arg(long, env = "ORDERFLOW_GIVE_UP_AFTER_SECONDS", default_value_t = 3600)]
    pub give_up_after_seconds: u64,
    /// How long, in seconds, services may take to finish what is in flight once asked
    /// to stop (SIGTERM, Ctrl-C) before they are abandoned; keep it below the
    /// orchestrator's own (Kubernetes: 30 s).
    #[arg(long, env = "ORDERFLOW_SHUTDOWN_GRACE_SECONDS", default_value_t = 10)]
    pub shutdown_grace_seconds: u64,
    /// Start even though the event store is missing or empty while the bus and read
    /// models hold data made from a store that is gone: delete them and make them again
    /// from this store (what they held is lost).
    #[arg(long, env = "ORDERFLOW_DISCARD_DERIVED_DATA")]
    pub discard_derived_data: bool,
}
