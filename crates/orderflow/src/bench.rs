//! `orderflow bench`: throughput and latency, each figure next to a baseline measured in
//! the same run on the same machine (shared machines drift; ratios are what count).
//!
//! - appends: durable appends per second through the event store with 1 and 64
//!   concurrent writers, against raw rusqlite inserts with `synchronous=FULL` (one row
//!   per transaction, and 1000 rows per transaction);
//! - pipeline: N orders from `POST /orders` to shipped and emailed, in one process on a
//!   fresh data dir (a child process); then latency from accepted to shipped at a fixed
//!   offered rate.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use clap::Args;
use orderflow_core::store::{AppendRequest, EventStore, ExpectedVersion, NewEvent};
use orderflow_sqlite::SqliteEventStore;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::cli::Service;

#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Events appended per append scenario.
    #[arg(long, default_value_t = 4000)]
    pub appends: usize,
    /// Orders pushed through the whole pipeline.
    #[arg(long, default_value_t = 10_000)]
    pub orders: usize,
    /// Offered rate (orders/s) of the latency run.
    #[arg(long, default_value_t = 500)]
    pub rate: u64,
    /// Length of the latency run, in seconds.
    #[arg(long, default_value_t = 10)]
    pub latency_seconds: u64,
    /// Skip the pipeline runs (appends and codec only).
    #[arg(long)]
    pub appends_only: bool,
    /// Measure durable appends on this PostgreSQL server instead (in a scratch schema,
    /// dropped afterwards), next to plain INSERT baselines on the same server.
    #[arg(long = "store")]
    pub store_url: Option<String>,
    /// Also run the pipeline on this Kafka cluster (`kafka://HOST:PORT`), next to the
    /// embedded bus. `ORDERFLOW_KAFKA_*` and `ORDERFLOW_TOPIC_*` variables apply (a
    /// one-broker cluster needs `ORDERFLOW_TOPIC_REPLICATION_FACTOR=1`).
    #[arg(long = "bus")]
    pub bus_url: Option<String>,
    /// Events encoded and decoded in the codec measurement.
    #[arg(long, default_value_t = 200_000)]
    pub codec_events: usize,
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    println!("orderflow bench — each figure next to its baseline from this same run\n");
    if let Some(url) = &args.store_url {
        return crate::bench_pg::appends(url, args.appends).await;
    }
    appends(&args).await?;
    codec(args.codec_events).await?;
    if !args.appends_only {
        pipeline(&args).await?;
    }
    Ok(())
}

fn rate(n: usize, took: Duration) -> f64 {
    n as f64 / took.as_secs_f64()
}

/// Each append scenario runs in this many rounds, alternating with its baseline, so
/// that a shared machine whose speed drifts during the run slows both alike.
const ROUNDS: usize = 4;

/// The baseline: plain inserts into a one-table file, `synchronous=FULL`.
struct RawInserts {
    conn: rusqlite::Connection,
    chunks: usize,
}

impl RawInserts {
    fn open(path: &Path) -> anyhow::Result<Self> {
        let conn = rusqlite::Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, stream TEXT, version INTEGER, payload BLOB)",
        )?;
        Ok(Self { conn, chunks: 0 })
    }

    /// Inserts `n` rows, `per_tx` to a transaction; returns the time taken.
    fn insert(&mut self, n: usize, per_tx: usize) -> anyhow::Result<Duration> {
        let payload = vec![7u8; 64];
        let start = Instant::now();
        for first in (0..n).step_by(per_tx) {
            self.chunks += 1;
            let tx = self.conn.transaction()?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO t (stream, version, payload) VALUES (?1, ?2, ?3)",
                )?;
                for i in 0..per_tx.min(n - first) {
                    let stream = format!("s-{}", self.chunks);
                    stmt.execute(rusqlite::params![stream, i as i64, payload])?;
                }
            }
            tx.commit()?;
        }
        Ok(start.elapsed())
    }
}

fn new_event(stream: &str) -> NewEvent {
    NewEvent {
        event_id: Uuid::now_v7(),
        event_type: "Bench".into(),
        schema_id: 1,
        payload: vec![7u8; 64],
        occurred_at: Utc::now(),
        correlation_id: stream.into(),
        causation_id: None,
        actor: "bench".into(),
    }
}

/// How the bench names the new streams it appends to.
#[derive(Debug, Clone, Copy)]
enum StreamIds {
    /// As orderflow names an order's streams: `order-<UUIDv7>`, time-ordered, so the
    /// appends committed together land next to each other in the stream and
    /// correlation indexes.
    TimeOrdered,
    /// `bench-<round>-<writer>-<i>`: each writer has its own region of those indexes,
    /// so one group commit of 64 writers touches about 64 leaf pages of each (a worst
    /// case, kept to show what id order costs).
    Scattered,
}

/// Appends about `n` events, one per request to a new stream, from `writers` concurrent
/// writers; returns how many were appended and the time taken.
async fn store_appends(
    store: &Arc<SqliteEventStore>,
    round: usize,
    n: usize,
    writers: usize,
    ids: StreamIds,
) -> anyhow::Result<(usize, Duration)> {
    let per_writer = n / writers;
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..writers {
        let store = store.clone();
        tasks.spawn(async move {
            for i in 0..per_writer {
                let stream = match ids {
                    StreamIds::TimeOrdered => format!("order-{}", Uuid::now_v7()),
                    StreamIds::Scattered => format!("bench-{round}-{w}-{i}"),
                };
                store
                    .append(vec![AppendRequest {
                        stream_id: stream.clone(),
                        expected: ExpectedVersion::NoStream,
                        events: vec![new_event(&stream)],
                    }])
                    .await?;
            }
            Ok::<_, orderflow_core::StoreError>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok((per_writer * writers, start.elapsed()))
}

async fn appends(args: &BenchArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let n = args.appends;
    let mut raw_single = RawInserts::open(&dir.path().join("raw1.db"))?;
    let mut raw_batched = RawInserts::open(&dir.path().join("raw1000.db"))?;
    let one_writer = Arc::new(SqliteEventStore::open(&dir.path().join("s1.db"))?);
    let many_writers = Arc::new(SqliteEventStore::open(&dir.path().join("s64.db"))?);
    let scattered = Arc::new(SqliteEventStore::open(&dir.path().join("s64x.db"))?);
    let mut took = [Duration::ZERO; 5];
    let mut counts = [0usize; 5];
    let mut add = |i: usize, (count, t): (usize, Duration)| {
        counts[i] += count;
        took[i] += t;
    };
    for round in 0..ROUNDS {
        let per_round = n / ROUNDS;
        add(0, (per_round, raw_single.insert(per_round, 1)?));
        add(
            1,
            store_appends(&one_writer, round, per_round, 1, StreamIds::TimeOrdered).await?,
        );
        add(
            2,
            (per_round * 10, raw_batched.insert(per_round * 10, 1000)?),
        );
        let many = per_round * 4;
        add(
            3,
            store_appends(&many_writers, round, many, 64, StreamIds::TimeOrdered).await?,
        );
        add(
            4,
            store_appends(&scattered, round, many, 64, StreamIds::Scattered).await?,
        );
    }
    let [raw_single, one, raw_batched, many, many_scattered] =
        [0, 1, 2, 3, 4].map(|i| counts[i] as f64 / took[i].as_secs_f64());
    println!(
        "durable appends (SQLite, synchronous=FULL; {ROUNDS} rounds, each next to its baseline)"
    );
    println!("  baseline raw insert, 1 row/tx       {raw_single:>10.0} rows/s");
    println!("  baseline raw insert, 1000 rows/tx   {raw_batched:>10.0} rows/s");
    println!(
        "  event store, 1 writer               {one:>10.0} events/s  = {:.2}x raw 1 row/tx (target >= 0.8x)",
        one / raw_single
    );
    println!(
        "  event store, 64 writers             {many:>10.0} events/s  = {:.2}x raw 1000 rows/tx (target >= 0.5x)",
        many / raw_batched
    );
    println!(
        "    same, scattered stream ids        {many_scattered:>10.0} events/s  = {:.2}x raw 1000 rows/tx\n",
        many_scattered / raw_batched
    );
    Ok(())
}

/// Orders pick one of this many SKUs at random.
const SKUS: u32 = 100;

/// The system under test: `orderflow run` or `serve` as a child process, so that the
/// load generator (this process) does not share its runtime or threads.
/// Nanoseconds per call of `f`, over `n` calls.
fn per_call(n: usize, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed().as_nanos() as f64 / n as f64
}

/// Avro encoding and decoding of `OrderCreated` on the hot path (apache-avro's
/// schema-aware serde), against going through `apache_avro::types::Value`.
async fn codec(n: usize) -> anyhow::Result<()> {
    use apache_avro::reader::datum::GenericDatumReader;
    use apache_avro::writer::datum::GenericDatumWriter;
    use orderflow_core::codec::{SCHEMA_FILES, wire};
    use orderflow_core::registry::InMemoryRegistry;

    let codec = orderflow_core::EventCodec::new(Arc::new(InMemoryRegistry::default())).await?;
    let event = sample_order_created()?;
    let encoded = codec.encode(&event)?;
    let schema = apache_avro::Schema::parse_str(SCHEMA_FILES[0].1)?;
    let writer = GenericDatumWriter::builder(&schema).build()?;
    let reader = GenericDatumReader::builder(&schema).build()?;
    let wire_event = wire::to_wire(&event);

    let encode_direct = per_call(n, || {
        std::hint::black_box(codec.encode(&event).ok());
    });
    let encode_value = per_call(n, || {
        let value = apache_avro::to_value(&wire_event).ok();
        std::hint::black_box(value.and_then(|v| writer.write_value_to_vec(v).ok()));
    });
    let mut decode_direct = 0.0;
    let mut failures = 0;
    {
        let start = Instant::now();
        for _ in 0..n {
            if codec
                .decode(encoded.schema_id, &encoded.payload)
                .await
                .is_err()
            {
                failures += 1;
            }
        }
        decode_direct += start.elapsed().as_nanos() as f64 / n as f64;
    }
    anyhow::ensure!(failures == 0, "{failures} decodes failed");
    let decode_value = per_call(n, || {
        let value = reader.read_value(&mut encoded.payload.as_slice()).ok();
        std::hint::black_box(
            value.and_then(|v| apache_avro::from_value::<wire::OrderCreatedV2>(&v).ok()),
        );
    });
    println!(
        "Avro codec, OrderCreated ({} bytes), {n} events",
        encoded.payload.len()
    );
    println!("  baseline encode through Value      {encode_value:>8.0} ns/event");
    println!(
        "  encode, schema-aware serde         {encode_direct:>8.0} ns/event  = {:.1}x faster",
        encode_value / encode_direct
    );
    println!("  baseline decode through Value      {decode_value:>8.0} ns/event");
    println!(
        "  decode, schema-aware serde         {decode_direct:>8.0} ns/event  = {:.1}x faster (includes domain parsing)\n",
        decode_value / decode_direct
    );
    Ok(())
}

fn sample_order_created() -> anyhow::Result<orderflow_domain::Event> {
    use orderflow_domain::*;
    let line = |sku: &str, q: i64, price: f64| -> anyhow::Result<OrderLine> {
        Ok(OrderLine {
            sku: Sku::parse(sku)?,
            quantity: Quantity::new(q)?,
            unit_price: Money::from_major(price)?,
        })
    };
    Ok(events::OrderCreated {
        order_id: OrderId::parse("0f8fad5b-d9cb-469f-a165-70867728950e")?,
        customer_id: CustomerId::parse("customer-42")?,
        lines: OrderLines::new(vec![line("SKU-1", 2, 19.99)?, line("SKU-2", 1, 5.0)?])?,
        timestamp: Timestamp(1_700_000_000_000),
        currency: Currency::default_currency(),
        shipping_address: Some("1 Main St, Springfield".into()),
    }
    .into())
}

struct Running {
    base: String,
    client: reqwest::Client,
    child: tokio::process::Child,
    _dir: tempfile::TempDir,
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
        _dir: dir,
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

    async fn stop(mut self) -> anyhow::Result<()> {
        let pid = self.child.id().context("already stopped")?;
        std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()?;
        self.child.wait().await?;
        Ok(())
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
    p50: f64,
    p99: f64,
}

async fn pipeline(args: &BenchArgs) -> anyhow::Result<()> {
    // Baseline: the API alone accepting orders (append only, nothing downstream).
    let accept_only = Arc::new(start_pipeline(&[Service::Api], &[]).await?);
    let (_, took) = accept_only.place_many(args.orders, 64).await?;
    let accept_rate = rate(args.orders, took);
    Arc::try_unwrap(accept_only)
        .ok()
        .context("still shared")?
        .stop()
        .await?;

    let embedded = pipeline_run(args, &[]).await?;
    println!(
        "pipeline ({} orders, POST to shipped and emailed; all services in one child process)",
        args.orders
    );
    println!("  baseline: API accepting orders only {accept_rate:>10.0} orders/s");
    println!(
        "  whole pipeline, embedded bus        {:>10.0} orders/s  = {:.2}x accept-only (target >= 2000 orders/s)",
        embedded.sustained,
        embedded.sustained / accept_rate
    );
    println!(
        "  latency accepted->shipped at {} orders/s for {} s: p50 {:.1} ms, p99 {:.1} ms (target p99 <= 50 ms)",
        args.rate, args.latency_seconds, embedded.p50, embedded.p99
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
    let kafka = pipeline_run(args, &env).await?;
    let linger: f64 = std::env::var("ORDERFLOW_KAFKA_LINGER_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5.0);
    println!("pipeline on Kafka ({url}), same orders and rate, next to the embedded run above");
    println!(
        "  whole pipeline, Kafka bus           {:>10.0} orders/s  = {:.2}x the embedded bus",
        kafka.sustained,
        kafka.sustained / embedded.sustained
    );
    println!(
        "  latency accepted->shipped: p50 {:.1} ms, p99 {:.1} ms; p99 {:+.1} ms vs embedded (target <= linger.ms {linger} + 15 ms)",
        kafka.p50,
        kafka.p99,
        kafka.p99 - embedded.p99
    );
    Ok(())
}

/// Sustained throughput, then latency at the offered rate, of the whole pipeline with
/// these extra settings.
async fn pipeline_run(args: &BenchArgs, env: &[(String, String)]) -> anyhow::Result<Figures> {
    let running = Arc::new(start_pipeline(&Service::ALL, env).await?);
    let start = Instant::now();
    running.place_many(args.orders, 64).await?;
    running.wait_done(2 * args.orders).await?;
    let sustained = rate(args.orders, start.elapsed());
    running.wait_idle().await?;

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
    Arc::try_unwrap(running)
        .ok()
        .context("still shared")?
        .stop()
        .await?;
    Ok(Figures {
        sustained,
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
    })
}
