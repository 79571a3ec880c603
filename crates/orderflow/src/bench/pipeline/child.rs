//! The system under test: `orderflow serve` as a child process on a fresh data dir in
//! the bench's scratch directory, so that the load generator (this process) does not
//! share its runtime or threads; and what the bench asks of it over HTTP.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{Value, json};

use crate::bench::scratch::Scratch;
use crate::ready;
use crate::service::Service;

/// Orders pick one of this many SKUs at random.
const SKUS: u32 = 100;

/// How an order gets its id: what the API does with or without an `Idempotency-Key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ids {
    /// No header: the API picks a UUIDv7, so new orders sort next to each other.
    TimeOrdered,
    /// A random `Idempotency-Key` on every order, as a client that retries safely sends
    /// one: the id is derived from it (UUIDv5), so orders land all over the indexes.
    Scattered,
}

impl Ids {
    pub const BOTH: [Ids; 2] = [Ids::TimeOrdered, Ids::Scattered];

    pub fn label(self) -> &'static str {
        match self {
            Ids::TimeOrdered => "time-ordered order ids (no Idempotency-Key, UUIDv7)",
            Ids::Scattered => "scattered order ids (a random Idempotency-Key per order)",
        }
    }
}

pub struct Running {
    pub base: String,
    pub client: reqwest::Client,
    child: tokio::process::Child,
    dir: tempfile::TempDir,
    data_dir: std::path::PathBuf,
}

/// An order the API accepted: its id and the store position of its `OrderCreated`.
pub struct Placed {
    pub id: String,
    pub position: u64,
}

/// A fresh directory for one run, in the bench's scratch directory (which was checked
/// to be on a disk, unless `--allow-tmpfs`).
fn run_dir(scratch: &Scratch) -> std::io::Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix("run-")
        .tempdir_in(scratch.path())
}

/// `orderflow serve` with these services and extra variables, on a fresh data dir in
/// `scratch`, with stock for every SKU the bench orders.
pub async fn start(
    services: &[Service],
    env: &[(String, String)],
    scratch: &Scratch,
) -> anyhow::Result<Running> {
    let dir = run_dir(scratch)?;
    let data_dir = dir.path().join("data");
    let ready_file = dir.path().join("ready.json");
    let mut child = tokio::process::Command::new(std::env::current_exe()?)
        .arg("serve")
        .arg(Service::list(services))
        .arg("--data-dir")
        .arg(&data_dir)
        .args(["--http", "127.0.0.1:0"])
        .arg("--ready-file")
        .arg(&ready_file)
        .env("ORDERFLOW_LOG", "error")
        .envs(env.iter().cloned())
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let ready = ready::wait(&ready_file, &mut child).await?;
    let running = Running {
        base: ready.http.context("the pipeline serves no HTTP API")?,
        client: reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .build()?,
        child,
        data_dir,
        dir,
    };
    for sku in 0..SKUS {
        running
            .client
            .put(format!("{}/inventory/BENCH-{sku}", running.base))
            .json(&json!({ "available": 100_000_000u64 }))
            .send()
            .await?
            .error_for_status()?;
    }
    Ok(running)
}

impl Running {
    /// The pipeline's data dir.
    pub fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }

    /// `POST /orders` for one order of one random SKU.
    pub async fn place(&self, ids: Ids) -> anyhow::Result<Placed> {
        self.place_to(ids, None).await
    }

    /// `POST /orders` for one order of one random SKU, shipped to `address` if given.
    pub async fn place_to(&self, ids: Ids, address: Option<&str>) -> anyhow::Result<Placed> {
        let sku = format!("BENCH-{}", rand::random_range(0..SKUS));
        let mut body = json!({ "customerId": "bench", "items": [{ "sku": sku, "quantity": 1, "unitPrice": 9.99 }] });
        if let Some(address) = address {
            body["shippingAddress"] = address.into();
        }
        let mut request = self
            .client
            .post(format!("{}/orders", self.base))
            .json(&body);
        if ids == Ids::Scattered {
            request = request.header("Idempotency-Key", uuid::Uuid::new_v4().to_string());
        }
        let body: Value = request.send().await?.error_for_status()?.json().await?;
        Ok(Placed {
            id: body["orderId"]
                .as_str()
                .map(str::to_owned)
                .context("no orderId")?,
            position: body["position"].as_u64().context("no position")?,
        })
    }

    /// `GET /orders/{id}`, answered once the read model has reached `position`: the
    /// order's status.
    pub async fn status(&self, placed: &Placed) -> anyhow::Result<String> {
        let body: Value = self
            .client
            .get(format!(
                "{}/orders/{}?min_position={}",
                self.base, placed.id, placed.position
            ))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        body["status"]
            .as_str()
            .map(str::to_owned)
            .context("no status")
    }

    /// Places `n` orders with `concurrency` clients (closed loop: a throughput test);
    /// returns them and the time taken.
    pub async fn place_many(
        self: &Arc<Self>,
        n: usize,
        concurrency: usize,
        ids: Ids,
    ) -> anyhow::Result<(Vec<Placed>, Duration)> {
        self.place_many_to(n, concurrency, ids, None).await
    }

    /// [`Running::place_many`], every order shipped to `address` if given.
    pub async fn place_many_to(
        self: &Arc<Self>,
        n: usize,
        concurrency: usize,
        ids: Ids,
        address: Option<&'static str>,
    ) -> anyhow::Result<(Vec<Placed>, Duration)> {
        use futures::StreamExt;
        let start = Instant::now();
        let placed: Vec<anyhow::Result<Placed>> = futures::stream::iter(0..n)
            .map(|_| {
                let me = self.clone();
                async move { me.place_to(ids, address).await }
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        let placed = placed.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
        Ok((placed, start.elapsed()))
    }

    /// Waits until `mails` `.eml` files exist: each order's second email (shipped)
    /// is sent only once it has shipped.
    pub async fn wait_emails(&self, mails: usize) -> anyhow::Result<()> {
        let mail = self.data_dir.join("mail");
        let sent = || {
            std::fs::read_dir(&mail).map_or(0, |d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                    .count()
            })
        };
        // Listing a directory of thousands of files takes CPU from the pipeline under
        // test: look rarely while far from done, often near the end.
        loop {
            let now = sent();
            if now >= mails {
                return Ok(());
            }
            let pause = if now < mails / 10 * 9 { 100 } else { 10 };
            tokio::time::sleep(Duration::from_millis(pause)).await;
        }
    }

    /// `GET /orders/{id}/history`.
    pub async fn history(&self, order: &str) -> anyhow::Result<Value> {
        Ok(self
            .client
            .get(format!("{}/orders/{order}/history", self.base))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    /// `GET /consumers`.
    pub async fn consumers(&self) -> anyhow::Result<Value> {
        Ok(self
            .client
            .get(format!("{}/consumers", self.base))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    /// The child's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// CPU time the child has used so far, user and system, all its threads (Linux's
    /// `/proc/<pid>/stat`); `None` elsewhere.
    pub fn cpu_time(&self) -> Option<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()?)).ok()?;
        // In USER_HZ ticks, which Linux fixes at 100 per second for user space.
        Some(Duration::from_millis(
            super::cpu::process_ticks(&stat)? * 10,
        ))
    }

    /// Stops the child, and hands back its data dir, which the caller keeps until the
    /// bench is over: deleting it frees thousands of inodes, and ext4 without a journal
    /// makes every file created in the next minutes scan past them
    /// (docs/benchmarks.md), which would slow the run that follows.
    pub async fn stop(mut self) -> anyhow::Result<tempfile::TempDir> {
        let pid = self.child.id().context("already stopped")?;
        std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()?;
        self.child.wait().await?;
        Ok(self.dir)
    }
}

/// Stops a child that is no longer shared.
pub async fn stop(running: Arc<Running>) -> anyhow::Result<tempfile::TempDir> {
    Arc::try_unwrap(running)
        .ok()
        .context("still shared")?
        .stop()
        .await
}

pub fn per_order(
    before: Option<Duration>,
    after: Option<Duration>,
    orders: usize,
) -> Option<Duration> {
    Some(after?.checked_sub(before?)? / orders.max(1) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_run_gets_a_directory_of_its_own_inside_the_benchs_scratch() -> anyhow::Result<()> {
        let parent = tempfile::tempdir()?;
        let scratch = Scratch::create(Some(parent.path()), false)?;
        let (first, second) = (run_dir(&scratch)?, run_dir(&scratch)?);
        assert_ne!(first.path(), second.path());
        for run in [&first, &second] {
            assert!(
                run.path().starts_with(scratch.path()),
                "{run:?} not in {scratch:?}"
            );
            assert!(run.path().is_dir());
        }
        Ok(())
    }

    #[test]
    fn per_order_needs_both_readings() {
        let (a, b) = (Duration::from_millis(100), Duration::from_millis(4100));
        assert_eq!(
            per_order(Some(a), Some(b), 1000),
            Some(Duration::from_millis(4))
        );
        assert_eq!(per_order(None, Some(b), 1000), None);
    }
}
