//! Helpers: spawn the binary on a temp data dir and a free port, call the API, and wait
//! for conditions (never for a fixed time).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::process::{Child, Command};

mod browser;
mod kafka;
mod otlp;
mod postgres;
mod provider;

pub use browser::*;
pub use kafka::*;
pub use otlp::*;
pub use postgres::*;
pub use provider::*;

pub type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;
pub type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Where each process's log goes, when set (one file per process), at the level
/// `ORDERFLOW_E2E_LOG` (default `warn`): for finding out why a run went wrong. Unset,
/// processes log at `warn` to the test's own stderr.
const LOG_DIR: &str = "ORDERFLOW_E2E_LOG_DIR";

/// Every service but payment, for the tests that run payment as a process of its own.
pub const ALL_BUT_PAYMENT: &str = "api,orders,inventory,shipping,notification,projections,relay";

/// How long a condition may take before a test fails.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A running orderflow process.
#[derive(Debug)]
pub struct Process {
    pub child: Child,
    pub base: Option<String>,
}

impl Process {
    /// Ends the process with SIGKILL, as a crash would.
    pub async fn kill9(&mut self) -> TestResult {
        self.child.kill().await?;
        Ok(())
    }

    /// Asks the process to stop (SIGTERM) and waits for its exit status.
    pub async fn terminate(&mut self) -> Res<std::process::ExitStatus> {
        let pid = self.child.id().ok_or("process already gone")?;
        std::process::Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status()?;
        Ok(tokio::time::timeout(PATIENCE, self.child.wait()).await??)
    }
}

/// A data dir shared by the processes of one test.
#[derive(Debug)]
pub struct Deployment {
    pub dir: TempDir,
    pub client: reqwest::Client,
    /// Environment every process of the deployment gets.
    pub env: Vec<(String, String)>,
}

/// A deployment on Kafka deletes its topics when the test ends, so the shared cluster
/// does not fill up with the partitions of every test of the run.
impl Drop for Deployment {
    fn drop(&mut self) {
        if self.env.iter().any(|(k, _)| k == "ORDERFLOW_TOPIC_PREFIX") {
            let _ = std::process::Command::new(env!("CARGO_BIN_EXE_orderflow"))
                .args(["topics", "delete", "--yes"])
                .envs(self.env.iter().cloned())
                .env("ORDERFLOW_LOG", "error")
                .output();
        }
    }
}

impl Deployment {
    pub fn new() -> Res<Self> {
        Ok(Self {
            dir: tempfile::tempdir()?,
            client: reqwest::Client::new(),
            env: Vec::new(),
        })
    }

    /// A deployment whose processes share a bus on the Kafka broker at `url`, on topics
    /// and groups of its own (a fresh prefix).
    pub fn on_kafka(url: &str) -> Res<Self> {
        let mut d = Self::new()?;
        let prefix = format!("e{}-", uuid::Uuid::new_v4().simple());
        d.env = [
            ("ORDERFLOW_BUS_URL", url),
            ("ORDERFLOW_TOPIC_PREFIX", &prefix),
            // A killed member's partitions move on within seconds.
            ("ORDERFLOW_KAFKA_SESSION_TIMEOUT_MS", "6000"),
            ("ORDERFLOW_KAFKA_HEARTBEAT_INTERVAL_MS", "500"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        Ok(d)
    }

    /// Runs an orderflow command to completion with the deployment's settings (the data
    /// dir through `ORDERFLOW_DATA_DIR`, which commands that keep nothing there ignore).
    pub async fn command(&self, args: &[&str]) -> Res<std::process::Output> {
        Ok(Command::new(env!("CARGO_BIN_EXE_orderflow"))
            .args(args)
            .env("ORDERFLOW_DATA_DIR", self.data_dir())
            .envs(self.env.iter().cloned())
            .env("ORDERFLOW_LOG", "warn")
            .output()
            .await?)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Starts `orderflow serve <services>` (or `run` when `services` is "run"), and
    /// waits until its ready-file says it is up.
    pub async fn start(&self, services: &str, extra: &[&str]) -> Res<Process> {
        self.start_with_env(services, extra, &[]).await
    }

    /// [`Deployment::start`] with variables of this process's own beside the
    /// deployment's.
    pub async fn start_with_env(
        &self,
        services: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Res<Process> {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_orderflow"));
        if services == "run" {
            cmd.arg("run");
        } else {
            cmd.arg("serve").arg(services);
        }
        let ready_file = self
            .dir
            .path()
            .join(format!("ready-{}.json", uuid::Uuid::new_v4().simple()));
        cmd.arg("--data-dir")
            .arg(self.data_dir())
            .arg("--http")
            .arg("127.0.0.1:0")
            .arg("--ready-file")
            .arg(&ready_file)
            .args(extra)
            .envs(self.env.iter().cloned())
            .envs(env.iter().copied())
            .env("ORDERFLOW_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        if let Ok(dir) = std::env::var(LOG_DIR) {
            // Named after the deployment's directory, so one test's files sort together.
            let deployment = self
                .dir
                .path()
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .trim_start_matches('.')
                .to_owned();
            let unique = uuid::Uuid::new_v4().simple().to_string();
            let name = format!("{deployment}-{services}-{}.log", &unique[..8]);
            let file = std::fs::File::create(Path::new(&dir).join(name))?;
            let level = std::env::var("ORDERFLOW_E2E_LOG").unwrap_or_else(|_| "warn".into());
            // The lines the process prints for people go to its log too.
            cmd.env("ORDERFLOW_LOG", level)
                .stdout(file.try_clone()?)
                .stderr(file);
        }
        let mut child = cmd.spawn()?;
        let ready = ready(&ready_file, &mut child).await?;
        let wants_http = services == "run" || services.split(',').any(|s| s == "api");
        if wants_http && ready.http.is_none() {
            return Err("the process's ready-file names no HTTP address".into());
        }
        Ok(Process {
            child,
            base: ready.http,
        })
    }
}

/// What a process's ready-file says (`--ready-file`).
#[derive(Debug, serde::Deserialize)]
pub struct Ready {
    pub pid: u32,
    pub http: Option<String>,
}

/// Waits until `child` has written its ready-file at `path`; fails if it exits first,
/// or takes longer than [`PATIENCE`].
pub async fn ready(path: &Path, child: &mut Child) -> Res<Ready> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        match std::fs::read(path) {
            Ok(bytes) => return Ok(serde_json::from_slice(&bytes)?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        if let Some(status) = child.try_wait()? {
            return Err(format!("the process exited ({status}) before it was ready").into());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err("the process was not ready in time".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A client bound to one process's HTTP address.
#[derive(Debug, Clone)]
pub struct Api {
    pub base: String,
    pub client: reqwest::Client,
}

impl Api {
    pub fn of(deployment: &Deployment, process: &Process) -> Self {
        Self {
            base: process.base.clone().expect("process serves HTTP"),
            client: deployment.client.clone(),
        }
    }

    pub async fn get(&self, path: &str) -> Res<(u16, Value)> {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await?;
        let status = resp.status().as_u16();
        Ok((status, resp.json().await.unwrap_or(Value::Null)))
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Res<(u16, Value)> {
        let post = method == reqwest::Method::POST;
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        match body {
            Some(body) => req = req.json(&body),
            // A bodiless POST (a cancel) says it is JSON, as the API requires of a POST
            // without a token, so that no web page can send it cross-site.
            None if post => req = req.header("content-type", "application/json"),
            None => {}
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        Ok((status, resp.json().await.unwrap_or(Value::Null)))
    }

    pub async fn set_stock(&self, sku: &str, available: u64) -> Res<u64> {
        let (status, body) = self
            .send(
                reqwest::Method::PUT,
                &format!("/inventory/{sku}"),
                Some(json!({ "available": available })),
            )
            .await?;
        assert_eq!(status, 200, "{body}");
        Ok(body["position"].as_u64().ok_or("no position")?)
    }

    /// Places an order and returns (orderId, position).
    pub async fn place(&self, customer: &str, items: Value) -> Res<(String, u64)> {
        let (status, body) = self
            .send(
                reqwest::Method::POST,
                "/orders",
                Some(json!({ "customerId": customer, "items": items })),
            )
            .await?;
        assert_eq!(status, 202, "{body}");
        assert_eq!(body["status"], "PENDING");
        Ok((
            body["orderId"].as_str().ok_or("no orderId")?.to_owned(),
            body["position"].as_u64().ok_or("no position")?,
        ))
    }

    /// Waits until the order reaches `status`; returns the order.
    pub async fn wait_status(&self, order_id: &str, status: &str) -> Res<Value> {
        eventually(|| async {
            let (code, body) = self.get(&format!("/orders/{order_id}")).await?;
            Ok((code == 200 && body["status"] == status).then_some(body))
        })
        .await
    }

    pub async fn history(&self, order_id: &str) -> Res<Vec<Value>> {
        let (status, body) = self.get(&format!("/orders/{order_id}/history")).await?;
        assert_eq!(status, 200, "{body}");
        Ok(body["events"].as_array().cloned().unwrap_or_default())
    }

    /// The event types of an order's history, in order.
    pub async fn history_types(&self, order_id: &str) -> Res<Vec<String>> {
        Ok(self
            .history(order_id)
            .await?
            .iter()
            .map(|e| e["type"].as_str().unwrap_or_default().to_owned())
            .collect())
    }

    pub async fn head(&self) -> Res<u64> {
        let (_, body) = self.get("/health").await?;
        Ok(body["head"].as_u64().ok_or("no head")?)
    }
}

/// Polls `check` until it yields a value, failing after `PATIENCE`.
pub async fn eventually<T, F, Fut>(mut check: F) -> Res<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Res<Option<T>>>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(v) = check().await? {
            return Ok(v);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err("condition not met in time".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What a command that must succeed printed (it fails the test, with its error output,
/// if the command did not succeed).
pub fn stdout(out: &std::process::Output) -> Res<String> {
    let text = String::from_utf8(out.stdout.clone())?;
    assert!(
        out.status.success(),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(text)
}

pub fn item(sku: &str, quantity: u32, unit_price: f64) -> Value {
    json!({ "sku": sku, "quantity": quantity, "unitPrice": unit_price })
}

/// The `.eml` files in a data dir's mail folder.
pub fn mails(data_dir: &Path) -> Vec<String> {
    std::fs::read_dir(data_dir.join("mail"))
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".eml"))
                .collect()
        })
        .unwrap_or_default()
}

/// Once every order has shipped or been cancelled, no unit of `sku` is held any more:
/// each shipped order let its units go exactly once (one `StockFulfilled`), nothing is
/// left reserved, and `available` is what was set minus what shipped.
pub async fn assert_stock_settled(
    api: &Api,
    sku: &str,
    shipped: &[String],
    available: u64,
) -> TestResult {
    for id in shipped {
        let types = eventually(|| async {
            let types = api.history_types(id).await?;
            Ok(types.iter().any(|t| t == "StockFulfilled").then_some(types))
        })
        .await?;
        let fulfilled = types.iter().filter(|t| *t == "StockFulfilled").count();
        assert_eq!(fulfilled, 1, "{id}: {types:?}");
    }
    let head = api.head().await?;
    let (_, stock) = api
        .get(&format!("/inventory/{sku}?min_position={head}"))
        .await?;
    assert_eq!(
        (stock["available"].as_u64(), stock["reserved"].as_u64()),
        (Some(available), Some(0)),
        "{stock}"
    );
    Ok(())
}

/// Terminates every other connection to the test database, as a database restart would.
pub async fn cut_connections(admin: &sqlx::PgPool) -> TestResult {
    let killed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()) AS t",
    )
    .fetch_one(admin)
    .await?;
    assert!(killed > 0, "connections were cut");
    Ok(())
}
