//! The whole pipeline in a child process: orders per second, and latency from accepted
//! to shipped at a fixed offered rate.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use serde_json::{Value, json};

use super::BenchArgs;
use crate::cli::Service;

/// Orders pick one of this many SKUs at random.
const SKUS: u32 = 100;

/// The system under test: `orderflow run` or `serve` as a child process, so that the
/// load generator (this process) does not share its runtime or threads.
struct Running {
    base: String,
    client: reqwest::Client,
    child: tokio::process::Child,
    dir: tempfile::TempDir,
    data_dir: std::path::PathBuf,
}

async fn start_pipeline(services: &[Service], env: &[(String, String)]) -> anyhow::Result<Running> {
    use tokio::io::AsyncBufReadExt;
    let dir = tempfile::tempdir()?;
    let data_dir = dir.path().join("data");
    let names: Vec<String> = services
        .iter()
        .map(|s| format!("{s:?}").to_lowercase())
        .collect();
    let mut child = tokio::process::Command::new(std::env::current_exe()?)
        .arg("serve")
        .arg(names.join(","))
        .arg("--data-dir")
        .arg(&data_dir)
        .args(["--http", "127.0.0.1:0"])
        .env("ORDERFLOW_LOG", "error")
        .envs(env.iter().cloned())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let mut lines = tokio::io::BufReader::new(child.stdout.take().context("no stdout")?).lines();
    let mut base = None;
    while let Some(line) = lines.next_line().await? {
        if let Some(addr) = line.strip_prefix("orderflow: HTTP API on ") {
            base = Some(addr.to_owned());
        }
        if line.starts_with("orderflow: running") {
            break;
        }
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let running = Running {
        base: base.context("the pipeline did not print its HTTP address")?,
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
    async fn place(&self) -> anyhow::Result<String> {
        let sku = format!("BENCH-{}", rand::random_range(0..SKUS));
        let body: Value = self
            .client
            .post(format!("{}/orders", self.base))
            .json(&json!({ "customerId": "bench", "items": [{ "sku": sku, "quantity": 1, "unitPrice": 9.99 }] }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        body["orderId"]
            .as_str()
            .map(str::to_owned)
            .context("no orderId")
    }

    /// Places `n` orders with `concurrency` clients; returns the ids and the time taken.
    async fn place_many(
        self: &Arc<Self>,
        n: usize,
        concurrency: usize,
    ) -> anyhow::Result<(Vec<String>, Duration)> {
        use futures::StreamExt;
        let start = Instant::now();
        let ids: Vec<anyhow::Result<String>> = futures::stream::iter(0..n)
            .map(|_| {
                let me = self.clone();
                async move { me.place().await }
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        let ids = ids.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
        Ok((ids, start.elapsed()))
    }

    /// Waits until `mails` `.eml` files exist: each order's second email (shipped)
    /// is sent only once it has shipped.
    async fn wait_done(&self, mails: usize) -> anyhow::Result<()> {
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

    /// Waits until every consumer group and store reader has caught up, so that what
    /// the sustained run left queued (analytics, projections, stock fulfilment) does
    /// not weigh on the latency run after it.
    async fn wait_idle(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let consumers: Value = self
                .client
                .get(format!("{}/consumers", self.base))
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            let lags = ["groups", "storeReaders"].into_iter().flat_map(|list| {
                consumers[list]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|reader| reader["lag"].as_u64().unwrap_or(u64::MAX))
            });
            if lags.into_iter().all(|lag| lag == 0) {
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "the pipeline did not catch up within a minute: {consumers}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// CPU time the child has used so far, user and system, all its threads (Linux's
    /// `/proc/<pid>/stat`); `None` elsewhere.
    fn cpu_time(&self) -> Option<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()?)).ok()?;
        // In USER_HZ ticks, which Linux fixes at 100 per second for user space.
        Some(Duration::from_millis(cpu_ticks(&stat)? * 10))
    }

    /// Stops the child, and hands back its data dir, which the caller keeps until the
    /// bench is over: deleting it frees thousands of inodes, and ext4 without a journal
    /// makes every file created in the next minutes scan past them (README,
    /// "Benchmarks"), which would slow the run that follows.
    async fn stop(mut self) -> anyhow::Result<tempfile::TempDir> {
        let pid = self.child.id().context("already stopped")?;
        std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()?;
        self.child.wait().await?;
        Ok(self.dir)
    }
}

/// Milliseconds from `OrderCreated` to `OrderShipped`, from the audit trail.
async fn shipped_latency(running: &Running, order_id: &str) -> anyhow::Result<f64> {
    let history: Value = running
        .client
        .get(format!("{}/orders/{order_id}/history", running.base))
        .send()
        .await?
        .json()
        .await?;
    let time_of = |t: &str| -> anyhow::Result<chrono::DateTime<Utc>> {
        let e = history["events"]
            .as_array()
            .and_then(|es| es.iter().find(|e| e["type"] == t))
            .with_context(|| format!("{order_id} has no {t}"))?;
        Ok(serde_json::from_value(e["occurredAt"].clone())?)
    };
    Ok((time_of("OrderShipped")? - time_of("OrderCreated")?)
        .num_microseconds()
        .unwrap_or(0) as f64
        / 1000.0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// What one pipeline run measured.
struct Figures {
    sustained: f64,
    /// CPU time of the pipeline's process per order of the sustained run.
    cpu_per_order: Option<Duration>,
    p50: f64,
    p99: f64,
}

pub async fn pipeline(args: &BenchArgs) -> anyhow::Result<()> {
    // Baseline: the API alone accepting orders (append only, nothing downstream).
    let accept_only = Arc::new(start_pipeline(&[Service::Api], &[]).await?);
    let cpu_before = accept_only.cpu_time();
    let (_, took) = accept_only.place_many(args.orders, 64).await?;
    let accept_rate = rate(args.orders, took);
    let accept_cpu = per_order(cpu_before, accept_only.cpu_time(), args.orders);
    // Every run's data dir is deleted when the bench is over, not before the next run.
    let mut data_dirs = vec![
        Arc::try_unwrap(accept_only)
            .ok()
            .context("still shared")?
            .stop()
            .await?,
    ];

    let embedded = pipeline_run(args, &[], &mut data_dirs).await?;
    out!(
        "pipeline ({} orders, POST to shipped and emailed; all services in one child process)",
        args.orders
    );
    out!("  baseline: API accepting orders only {accept_rate:>10.0} orders/s");
    out!(
        "  whole pipeline, embedded bus        {:>10.0} orders/s  = {:.2}x accept-only (target >= 2000 orders/s)",
        embedded.sustained,
        embedded.sustained / accept_rate
    );
    if let (Some(pipeline_cpu), Some(accept_cpu)) = (embedded.cpu_per_order, accept_cpu) {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        out!(
            "  baseline: CPU per order, API only   {:>10.2} ms",
            ms(accept_cpu)
        );
        out!(
            "  CPU per order, whole pipeline       {:>10.2} ms  = {:.1}x accept-only; {cores} cores allow at most {:.0} orders/s at this cost",
            ms(pipeline_cpu),
            ms(pipeline_cpu) / ms(accept_cpu),
            cores as f64 * 1000.0 / ms(pipeline_cpu)
        );
    }
    out!(
        "  latency accepted->shipped at {} orders/s for {} s: p50 {:.1} ms, p99 {:.1} ms (target p99 <= 50 ms)",
        args.rate,
        args.latency_seconds,
        embedded.p50,
        embedded.p99
    );
    let Some(url) = &args.bus_url else {
        return Ok(());
    };
    let env = [
        ("ORDERFLOW_BUS_URL".to_owned(), url.clone()),
        (
            "ORDERFLOW_TOPIC_PREFIX".to_owned(),
            format!("bench-{}-", uuid::Uuid::new_v4().simple()),
        ),
    ];
    let kafka = pipeline_run(args, &env, &mut data_dirs).await?;
    let linger: f64 = std::env::var("ORDERFLOW_KAFKA_LINGER_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0); // orderflow's producer default
    out!("pipeline on Kafka ({url}), same orders and rate, next to the embedded run above");
    out!(
        "  whole pipeline, Kafka bus           {:>10.0} orders/s  = {:.2}x the embedded bus",
        kafka.sustained,
        kafka.sustained / embedded.sustained
    );
    out!(
        "  latency accepted->shipped: p50 {:.1} ms, p99 {:.1} ms; p99 {:+.1} ms vs embedded (target <= linger.ms {linger} + 15 ms)",
        kafka.p50,
        kafka.p99,
        kafka.p99 - embedded.p99
    );
    Ok(())
}

/// Sustained throughput, then latency at the offered rate, of the whole pipeline with
/// these extra settings; its data dir joins `data_dirs`.
async fn pipeline_run(
    args: &BenchArgs,
    env: &[(String, String)],
    data_dirs: &mut Vec<tempfile::TempDir>,
) -> anyhow::Result<Figures> {
    let running = Arc::new(start_pipeline(&Service::ALL, env).await?);
    let cpu_before = running.cpu_time();
    let start = Instant::now();
    running.place_many(args.orders, 64).await?;
    running.wait_done(2 * args.orders).await?;
    let sustained = rate(args.orders, start.elapsed());
    running.wait_idle().await?;
    // Once idle, every service has done all it will for these orders.
    let cpu_per_order = per_order(cpu_before, running.cpu_time(), args.orders);

    // Latency at a fixed offered rate.
    let total = (args.rate * args.latency_seconds) as usize;
    let interval = Duration::from_secs_f64(1.0 / args.rate as f64);
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut placing = tokio::task::JoinSet::new();
    for _ in 0..total {
        ticker.tick().await;
        let me = running.clone();
        placing.spawn(async move { me.place().await });
    }
    let mut ids = Vec::with_capacity(total);
    while let Some(id) = placing.join_next().await {
        ids.push(id??);
    }
    running.wait_done(2 * (args.orders + total)).await?;
    let mut latencies = Vec::with_capacity(ids.len());
    for id in &ids {
        latencies.push(shipped_latency(&running, id).await?);
    }
    latencies.sort_by(f64::total_cmp);
    data_dirs.push(
        Arc::try_unwrap(running)
            .ok()
            .context("still shared")?
            .stop()
            .await?,
    );
    Ok(Figures {
        sustained,
        cpu_per_order,
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
    })
}

fn rate(n: usize, took: Duration) -> f64 {
    n as f64 / took.as_secs_f64()
}

/// utime + stime from a `/proc/<pid>/stat` line: the 14th and 15th fields, counted
/// after the command name, which is in parentheses and may hold spaces or `)`.
fn cpu_ticks(stat: &str) -> Option<u64> {
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

fn per_order(before: Option<Duration>, after: Option<Duration>, orders: usize) -> Option<Duration> {
    Some(after?.checked_sub(before?)? / orders.max(1) as u32)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_are_user_plus_system_time_even_with_a_tricky_command_name() {
        let stat = "4048 (of (x) y) S 4033 4048 4033 0 -1 4194560 9121 0 0 0 731 212 0 0 20 0 \
                    41 0 7765 1709826048 6170 18446744073709551615";
        assert_eq!(cpu_ticks(stat), Some(731 + 212));
        assert_eq!(cpu_ticks("garbage"), None);
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
