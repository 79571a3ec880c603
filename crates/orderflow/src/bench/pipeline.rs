//! The whole pipeline in a child process, with time-ordered and with scattered order
//! ids: orders per second until ALL the work is done, and latency as a client sees it
//! from an open-loop load at a fixed offered rate, each next to the API alone; and,
//! given a Kafka cluster, the same pipeline on both buses at several rates; and what
//! tracing costs it (spans off, on, exported); and export, import and read-model
//! rebuild speed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::BenchArgs;
use super::scratch::Scratch;
use crate::service::Service;
use child::{Ids, per_order};
use observe::{Run, Until};
use open_loop::Latencies;

mod buses;
mod child;
mod cpu;
mod done;
mod export;
mod hops;
mod observe;
pub(super) mod open_loop;
mod personal;
mod rebuild;
mod report;
mod telemetry;

/// GETs asked one after another on the idle pipeline to price one GET.
const GETS_PRICED: usize = 1000;

/// How long the pipeline may take to finish its backlog.
const CATCH_UP: Duration = Duration::from_secs(120);

/// The API alone, with the same orders, rate and ids.
struct Baseline {
    /// Orders accepted per second, 64 clients in a closed loop.
    accept_rate: f64,
    cpu_per_order: Option<Duration>,
    /// Open loop at the offered rate, send to `202`.
    latency: Run,
}

/// What one pipeline run measured.
struct Figures {
    /// Orders per second with the clock stopped at the last email.
    at_last_email: f64,
    /// Orders per second with the clock stopped when every consumer group had no lag and
    /// the relay and the projections were at the store's head.
    at_all_done: f64,
    /// CPU time of the pipeline's process per order of the sustained run.
    cpu_per_order: Option<Duration>,
    /// Open loop at the offered rate, send to `SHIPPED` seen.
    latency: Run,
    /// One GET after another on the idle pipeline: round trips, CPU per GET.
    get_round_trip: Latencies,
    get_cpu: Option<Duration>,
}

pub async fn pipeline(args: &BenchArgs) -> anyhow::Result<()> {
    let scratch = super::scratch(args, "pipeline runs (a data dir each, under it)")?;
    // Every run's data dir is deleted when the bench is over, not before the next run.
    let mut data_dirs = Vec::new();
    if args.telemetry_only {
        return telemetry::telemetry(args, &scratch, &mut data_dirs).await;
    }
    if args.export_only {
        return export::export_import(args, &scratch, &mut data_dirs).await;
    }
    if args.personal_only {
        return personal::personal(args, &scratch, &mut data_dirs).await;
    }
    if !args.bus_only {
        embedded(args, &scratch, &mut data_dirs).await?;
        telemetry::telemetry(args, &scratch, &mut data_dirs).await?;
        export::export_import(args, &scratch, &mut data_dirs).await?;
        personal::personal(args, &scratch, &mut data_dirs).await?;
    }
    if let Some(url) = &args.bus_url {
        buses::compare(args, url, &scratch, &mut data_dirs).await?;
    }
    Ok(())
}

/// The pipeline on the embedded bus, with each kind of ids, next to the API alone.
async fn embedded(
    args: &BenchArgs,
    scratch: &Scratch,
    data_dirs: &mut Vec<tempfile::TempDir>,
) -> anyhow::Result<()> {
    let accept_only = Arc::new(child::start(&[Service::Api], &[], scratch).await?);
    let mut baselines = Vec::new();
    for ids in Ids::BOTH {
        let cpu_before = accept_only.cpu_time();
        let (_, took) = accept_only.place_many(args.orders, 64, ids).await?;
        let cpu_per_order = per_order(cpu_before, accept_only.cpu_time(), args.orders);
        let latency = observe::open_loop(
            &accept_only,
            ids,
            args.rate,
            args.latency_seconds,
            Until::Accepted,
        )
        .await?;
        baselines.push(Baseline {
            accept_rate: rate(args.orders, took),
            cpu_per_order,
            latency,
        });
    }
    data_dirs.push(child::stop(accept_only).await?);

    report::header(args)?;
    let mut embedded = Vec::new();
    for (ids, baseline) in Ids::BOTH.into_iter().zip(&baselines) {
        let figures = pipeline_run(args, &[], ids, scratch, data_dirs).await?;
        report::embedded(args, ids, baseline, &figures)?;
        embedded.push(figures);
    }
    report::scattered_vs_time_ordered(&embedded[0], &embedded[1])
}

/// Sustained throughput, then latency at the offered rate, of the whole pipeline with
/// these extra settings and ids; its data dir, in `scratch`, joins `data_dirs`.
async fn pipeline_run(
    args: &BenchArgs,
    env: &[(String, String)],
    ids: Ids,
    scratch: &Scratch,
    data_dirs: &mut Vec<tempfile::TempDir>,
) -> anyhow::Result<Figures> {
    let running = Arc::new(child::start(&Service::ALL, env, scratch).await?);
    let cpu_before = running.cpu_time();
    let start = Instant::now();
    let (placed, _) = running.place_many(args.orders, 64, ids).await?;
    running.wait_emails(2 * args.orders).await?;
    let last_email = start.elapsed();
    // The latency run starts from here too, so that nothing the sustained run left
    // queued (analytics, projections, stock fulfilment) weighs on it.
    let all_done = done::wait_all_done(&running, CATCH_UP).await? - start;
    let cpu_per_order = per_order(cpu_before, running.cpu_time(), args.orders);
    let (get_round_trip, get_cpu) = observe::get_cost(&running, &placed, GETS_PRICED).await?;
    let polling = observe::Polling {
        every: Duration::from_millis(args.poll_ms),
        budget: args.poll_budget.max(1) as f64,
    };
    let latency = observe::open_loop(
        &running,
        ids,
        args.rate,
        args.latency_seconds,
        Until::Shipped(polling),
    )
    .await?;
    data_dirs.push(child::stop(running).await?);
    Ok(Figures {
        at_last_email: rate(args.orders, last_email),
        at_all_done: rate(args.orders, all_done),
        cpu_per_order,
        latency,
        get_round_trip,
        get_cpu,
    })
}

fn rate(n: usize, took: Duration) -> f64 {
    n as f64 / took.as_secs_f64()
}
