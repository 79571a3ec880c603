//! The bus comparison: the whole pipeline on the embedded bus, then on a Kafka cluster,
//! each in a child process of its own, at each offered rate of `--rates`: accepted →
//! shipped latency, where the time goes hop by hop, and where the machine's CPU went
//! (the brokers usually run on the same machine and take their share of its cores).

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::child::{self, Ids};
use super::cpu::{self, Split};
use super::hops::{self, Hops};
use super::observe::{self, Polling, Run, Until};
use super::{CATCH_UP, done};
use crate::bench::BenchArgs;
use crate::bench::scratch::Scratch;
use crate::service::Service;

mod table;

/// Orders whose history is read after each run to time its hops.
const HOPS_SAMPLED: usize = 200;

/// The two buses compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bus {
    Embedded,
    Kafka,
}

impl Bus {
    pub fn name(self) -> &'static str {
        match self {
            Bus::Embedded => "embedded",
            Bus::Kafka => "kafka",
        }
    }
}

/// One bus at one rate.
pub struct Row {
    pub rate: u64,
    pub bus: Bus,
    pub run: Run,
    pub cpu: Option<Split>,
    pub hops: Hops,
}

/// One bus's sustained throughput (the run that also warms it up).
pub struct Sustained {
    pub bus: Bus,
    pub orders_per_second: f64,
}

pub async fn compare(
    args: &BenchArgs,
    url: &str,
    scratch: &Scratch,
    data_dirs: &mut Vec<tempfile::TempDir>,
) -> anyhow::Result<()> {
    let linger_ms = linger_ms(url)?;
    table::header(args, url, linger_ms)?;
    let prefix = format!("bench-{}-", uuid::Uuid::new_v4().simple());
    let mut sustained = Vec::new();
    let mut rows = Vec::new();
    for bus in [Bus::Embedded, Bus::Kafka] {
        let env = match bus {
            Bus::Embedded => vec![],
            Bus::Kafka => vec![
                ("ORDERFLOW_BUS_URL".to_owned(), url.to_owned()),
                ("ORDERFLOW_TOPIC_PREFIX".to_owned(), prefix.clone()),
            ],
        };
        let running = Arc::new(child::start(&Service::ALL, &env, scratch).await?);
        // Sustained throughput first: it also has every consumer join its group and
        // every connection open before any latency counts.
        let start = Instant::now();
        running
            .place_many(args.orders, 64, Ids::TimeOrdered)
            .await?;
        let took = done::wait_all_done(&running, CATCH_UP).await? - start;
        sustained.push(Sustained {
            bus,
            orders_per_second: args.orders as f64 / took.as_secs_f64(),
        });
        for &rate in &args.rates {
            let row = at_rate(args, &running, bus, rate).await?;
            table::progress(&row)?;
            rows.push(row);
        }
        data_dirs.push(child::stop(running).await?);
    }
    table::print(&sustained, &rows, linger_ms)
}

/// An open loop at `rate` on a pipeline that has done all its earlier work.
async fn at_rate(
    args: &BenchArgs,
    running: &Arc<child::Running>,
    bus: Bus,
    rate: u64,
) -> anyhow::Result<Row> {
    let polling = Polling {
        every: Duration::from_millis(args.poll_ms),
        budget: args.poll_budget.max(1) as f64,
    };
    let before = cpu::sample(running.pid(), &args.broker_pids);
    let run = observe::open_loop(
        running,
        Ids::TimeOrdered,
        rate,
        args.latency_seconds,
        Until::Shipped(polling),
    )
    .await?;
    let after = cpu::sample(running.pid(), &args.broker_pids);
    // What the run left to do (analytics, projections) is done before the next.
    done::wait_all_done(running, CATCH_UP).await?;
    let hops = hops::measure(running, &run.orders, HOPS_SAMPLED).await?;
    Ok(Row {
        rate,
        bus,
        cpu: cpu::split(&before, &after, run.orders.len()),
        run,
        hops,
    })
}

/// The producer's `linger.ms` the Kafka pipeline runs with (the target allows it).
#[cfg(feature = "kafka")]
fn linger_ms(url: &str) -> anyhow::Result<f64> {
    let config = orderflow_kafka::KafkaConfig::from_url(url)?.with_env(std::env::vars());
    let linger = config.producer_property("linger.ms").unwrap_or_default();
    Ok(linger.parse().unwrap_or(0.0))
}

#[cfg(not(feature = "kafka"))]
fn linger_ms(_: &str) -> anyhow::Result<f64> {
    anyhow::bail!("this build has no Kafka bus (the `kafka` feature)")
}
