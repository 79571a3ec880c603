//! `orderflow bench`: throughput and latency, each figure next to a baseline measured in
//! the same run on the same machine (shared machines drift; ratios are what count).
//!
//! - appends: durable appends per second through the event store with 1 and 64
//!   concurrent writers, against raw rusqlite inserts with `synchronous=FULL` (one row
//!   per transaction, and 1000 rows per transaction);
//! - pipeline: N orders from `POST /orders` until all their work is done, in one process
//!   on a fresh data dir (a child process); then latency from send to `SHIPPED` seen by
//!   the client, under an open-loop load at a fixed offered rate; with time-ordered and
//!   with scattered (`Idempotency-Key`) order ids.

use clap::Args;

mod appends;
mod codec;
mod pipeline;
mod postgres;

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
    /// How often the latency run asks `GET /orders/{id}` whether an order has shipped,
    /// in milliseconds (the resolution of its latencies).
    #[arg(long, default_value_t = 2)]
    pub poll_ms: u64,
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
    out!("orderflow bench — each figure next to its baseline from this same run\n");
    if let Some(url) = &args.store_url {
        return postgres::appends(url, args.appends).await;
    }
    appends::appends(&args).await?;
    codec::codec(args.codec_events).await?;
    if !args.appends_only {
        pipeline::pipeline(&args).await?;
    }
    Ok(())
}
