//! `orderflow`: runs the whole order pipeline in one process (`run`), chosen services as
//! their own process (`serve`), benchmarks (`bench`), and the tools to operate it
//! (`schema`, `migrate`, `topics`, `consumers`, `replay`, `status`, `order`, `events`,
//! `dlq`, `replay-order`, `verify`).
//!
//! # Layout
//!
//! - `cli`: the command tree, each subcommand with the settings it takes.
//! - `settings`: the groups of settings commands share (data dir, store, bus, registry,
//!   API, payment, mail) and which adapter a store or bus URL names.
//! - `service`: the services a process can run, each with its help line.
//! - `serve`: `run` and `serve`: start the services, say what runs on what, write the
//!   ready-file, stop cleanly on a signal.
//! - `metrics`: the process's metrics recorder (Prometheus), served at `/metrics`.
//! - `ready`: the ready-file (`--ready-file`) a process writes once it is up.
//! - `logging`: the log subscriber (`ORDERFLOW_LOG`, `--log-format text|json`).
//! - `telemetry`: traces exported with OTLP when the `OTEL_*` variables ask for it.
//! - `wiring`: the only place that names concrete adapters; opens them and starts the
//!   services on them (`storage`, `postgres`, `bus`, `access`, `spawn`).
//! - `datadir`: the data dir's check before anything opens it (integrity, lineage).
//! - `ops`: the operator commands `migrate`, `topics`, `consumers`, `replay`, `status`,
//!   `order`, `dlq`, `replay-order` and `verify`.
//! - `schema`: `schema check`, for a team's CI.
//! - `events`: `events export` and `events import` (an Avro container file).
//! - `bench`: `orderflow bench`, throughput and latency next to baselines.

use std::process::ExitCode;

use clap::Parser;

/// jemalloc as the global allocator: the pipeline allocates on one thread and frees on
/// another all the time (rows read under `block_in_place`, records handed to lanes,
/// replies of the group writers). glibc's malloc spent about a sixth of the pipeline's
/// CPU on it; mimalloc, which replaced it, still a sixth, much of it collecting blocks
/// freed by other threads. In twelve alternating pairs of `orderflow bench --orders
/// 10000`, jemalloc used less CPU per order in ten (1.08-1.40 against 1.25-1.51 ms).
/// SQLite's own allocations still go through the C library (routing them through
/// jemalloc too measured no different).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// `println!` for the commands' output, returning the write's error instead of
/// panicking: `orderflow consumers | head -1` closes stdout early, and the command then
/// stops quietly (see [`stdout_closed`]).
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($arg)*)?
    }};
}

/// A line for whoever watches a running server. A server keeps serving when nobody
/// reads its stdout any more, so the write's error is ignored.
macro_rules! announce {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod bench;
mod cli;
mod customers;
mod datadir;
mod events;
mod faults;
mod logging;
mod metrics;
mod ops;
mod ready;
mod schema;
mod serve;
mod service;
mod settings;
mod telemetry;
mod wiring;

use cli::{Cli, Command};
use service::Service;

/// Threads for blocking work: the bus's reads and writes, `.eml` files, group commits
/// handed on by a caller. Tokio's default of 512 lets a loaded pipeline grow
/// about sixty of them, which on two cores wait in the run queue about as long as they
/// run, and every call pays a sleep and a wake-up. A few threads that stay busy do the
/// same work with less CPU per order (measured with `orderflow bench`). Nothing run
/// there waits for another blocking task, so a small pool cannot deadlock; at worst
/// calls queue. A caller that reads the store or commits its group itself
/// (`block_in_place`) also has a thread of this pool carry its worker's other tasks
/// meanwhile.
const BLOCKING_THREADS: usize = 8;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(BLOCKING_THREADS)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The gRPC exporter's connection lives on the runtime: set up and flushed inside it.
    let traces = match runtime.block_on(async { telemetry::Traces::from_env() }) {
        Ok(traces) => traces,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    logging::init(cli.log_format, traces.tracer());
    let outcome = runtime.block_on(run(cli));
    {
        let _inside = runtime.enter();
        traces.shutdown();
    }
    // Blocking calls a service was abandoned in (a synchronous Kafka commit to a broker
    // that does not answer) do not hold the exit.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if stdout_closed(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}

/// Whether the command stopped because the reader of its output went away, which is
/// how `| head` ends a command, not a failure.
fn stdout_closed(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run(settings) => serve::serve(&Service::ALL, settings).await,
        Command::Serve { services, settings } => serve::serve(&services, settings).await,
        Command::Bench(args) => bench::run(args).await,
        Command::BenchChain(args) => bench::chain::serve(args).await,
        Command::Customers(command) => customers::customers(command).await,
        Command::Schema(command) => schema::run(command).await,
        Command::Events(command) => events::run(command).await,
        Command::Migrate(args) => ops::migrate(args).await,
        Command::Topics(command) => ops::topics(command).await,
        Command::Consumers(args) => ops::consumers(args).await,
        Command::Status(args) => ops::status(args).await,
        Command::Order(args) => ops::order(args).await,
        Command::Replay(args) => ops::replay(args).await,
        Command::ReplayOrder(args) => ops::replay_order(args).await,
        Command::Dlq(command) => ops::dlq(command).await,
        Command::Verify(args) => ops::verify(args).await,
        Command::Projections(command) => ops::projections(command).await,
    }
}
