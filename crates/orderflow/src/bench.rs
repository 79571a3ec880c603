//! `orderflow bench`: throughput and latency, each figure next to a baseline measured in
//! the same run on the same machine (shared machines drift; ratios are what count).
//!
//! - appends: durable appends per second through the event store with 1 and 64
//!   concurrent writers, against raw rusqlite inserts with `synchronous=FULL` (one row
//!   per transaction; as many rows per transaction as the store's groups held, measured
//!   by its writer in the same round; and 1000), with what the store's group commits did
//!   (how many, how large, how long), in a directory the bench names and refuses if it
//!   is in memory (tmpfs);
//! - pipeline: N orders from `POST /orders` until all their work is done, in one process
//!   on a fresh data dir (a child process) in a directory the bench names and refuses
//!   if it is in memory, as the appends'; then latency from send to `SHIPPED` seen by
//!   the client, under an open-loop load at a fixed offered rate; with time-ordered and
//!   with scattered (`Idempotency-Key`) order ids;
//! - buses (with `--bus`): the pipeline on the embedded bus and on Kafka, one after the
//!   other, at each of several offered rates: latency from `202` to `SHIPPED`, where
//!   the time goes hop by hop, and where the machine's CPU went (pipeline, brokers,
//!   bench, other processes);
//! - tracing: the pipeline's CPU per order with no spans, with spans but no exporter,
//!   and exporting every span with OTLP, in alternating rounds;
//! - export and import: a pipeline run's history to an Avro file and into a fresh
//!   store, next to reading the store alone and to plain inserts;
//! - personal data: the pipeline's CPU per order with a shipping address (sealed and
//!   opened) and without one, in alternating rounds;
//! - compare (`--compare sync`, on its own): a synchronous chain of the same services
//!   (`chain.rs`) against orderflow under the same open-loop load, while a service is
//!   slow, down, flaky or killed (`compare.rs`).

use std::path::PathBuf;

use clap::Args;

mod appends;
pub mod chain;
mod codec;
mod compare;
mod groups;
mod pipeline;
mod postgres;
mod scratch;

/// Rounds of each append scenario, alternating with its baselines, so that a shared
/// machine whose speed drifts during the run slows both alike.
const ROUNDS: usize = 4;

/// Concurrent writers of the group-commit scenario.
const MANY_WRITERS: usize = 64;

#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Events appended per append scenario (at least 4 rounds x 64 writers = 256).
    #[arg(long, default_value_t = 4000)]
    pub appends: usize,
    /// Where the bench's files go: the append scenarios' and each pipeline run's data
    /// dir (in a fresh directory under it, removed afterwards); the system's temporary
    /// directory by default.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Measure even where the files are in memory (tmpfs, ramfs), where no commit is
    /// durable: the bench's own files, or a `--store` server's data directory when it is
    /// on this machine. Without it the bench refuses to run there.
    #[arg(long)]
    pub allow_tmpfs: bool,
    /// Orders pushed through the whole pipeline (at least 1).
    #[arg(long, default_value_t = 10_000, value_parser = orders)]
    pub orders: usize,
    /// Offered rate (orders/s) of the latency run (at least 1).
    #[arg(long, default_value_t = 500, value_parser = rate)]
    pub rate: u64,
    /// Length of the latency run, in seconds (at least 1).
    #[arg(long, default_value_t = 10, value_parser = latency_seconds)]
    pub latency_seconds: u64,
    /// How often the latency run asks `GET /orders/{id}` whether an order has shipped,
    /// in milliseconds, at most (the resolution of its latencies, at best).
    #[arg(long, default_value_t = 2)]
    pub poll_ms: u64,
    /// The most GETs per second all watched orders together may ask: with many orders in
    /// flight each is asked less often, so that watching does not swamp the pipeline.
    #[arg(long, default_value_t = 1000)]
    pub poll_budget: u64,
    /// Skip the pipeline runs (appends and codec only).
    #[arg(long)]
    pub appends_only: bool,
    /// Measure durable appends on this PostgreSQL server instead (in a scratch schema,
    /// dropped afterwards), next to plain INSERT baselines on the same server.
    #[arg(long = "store")]
    pub store_url: Option<String>,
    /// Also run the pipeline on this Kafka cluster (`kafka://HOST:PORT`), next to the
    /// embedded bus, at each of `--rates`. `ORDERFLOW_KAFKA_*` and `ORDERFLOW_TOPIC_*`
    /// variables apply (a one-broker cluster needs
    /// `ORDERFLOW_TOPIC_REPLICATION_FACTOR=1`).
    #[arg(long = "bus")]
    pub bus_url: Option<String>,
    /// Offered rates (orders/s) of the bus comparison: an open loop at each, on the
    /// embedded bus and on `--bus`.
    #[arg(long, value_delimiter = ',', default_value = "100,500,1000", value_parser = clap::value_parser!(u64).range(1..))]
    pub rates: Vec<u64>,
    /// Pids of the brokers, when they run on this machine (`scripts/kafka` keeps them in
    /// `DIR/node-*/pid`): the bus comparison then prints their CPU apart from other
    /// processes'.
    #[arg(long, value_delimiter = ',')]
    pub broker_pids: Vec<u32>,
    /// Only the bus comparison (needs `--bus`): no appends, codec or embedded-only runs.
    #[arg(long, requires = "bus_url")]
    pub bus_only: bool,
    /// Only the cost of tracing: the pipeline with spans off, on and exported.
    #[arg(long, conflicts_with = "bus_only")]
    pub telemetry_only: bool,
    /// Only the history tools' speed, on the history of one pipeline run: export,
    /// import and read-model rebuild.
    #[arg(long, conflicts_with_all = ["bus_only", "telemetry_only"])]
    pub export_only: bool,
    /// Only what personal data costs: the pipeline's CPU per order with and without a
    /// shipping address (sealed on every append, opened where a service needs it).
    #[arg(long, conflicts_with_all = ["bus_only", "telemetry_only", "export_only"])]
    pub personal_only: bool,
    /// Compare orderflow with a synchronous chain of the same services, in the scenarios
    /// of `--scenario` (all by default); nothing else is measured.
    #[arg(long, value_enum)]
    pub compare: Option<compare::Compare>,
    /// The scenarios to compare in, comma-separated (with `--compare`; all by default):
    /// healthy, payment-slow, notification-down, inventory-flaky, restart.
    #[arg(long, value_enum, value_delimiter = ',', requires = "compare")]
    pub scenario: Vec<compare::Scenario>,
    /// Length of each scenario's run per system, in seconds, the fault in its middle
    /// third (with `--compare`; at least 3).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(3..))]
    pub seconds: u64,
    /// Offered rate (orders/s) of the comparison's open loop.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..))]
    pub compare_rate: u64,
    /// Print the comparison as one JSON object on stdout (progress on stderr).
    #[arg(long, requires = "compare")]
    pub json: bool,
    /// Where the comparison's charts go, one SVG per scenario.
    #[arg(long, default_value_os_t = compare::default_charts())]
    pub charts: PathBuf,
    /// Events encoded and decoded in the codec measurement.
    #[arg(long, default_value_t = 200_000)]
    pub codec_events: usize,
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    if args.compare.is_some() {
        return compare::compare(&args).await;
    }
    out!("orderflow bench — each figure next to its baseline from this same run\n");
    check_appends(args.appends)?;
    if args.bus_only || args.telemetry_only || args.export_only || args.personal_only {
        return pipeline::pipeline(&args).await;
    }
    if let Some(url) = &args.store_url {
        return postgres::appends(url, args.appends, args.allow_tmpfs).await;
    }
    let scratch = scratch(&args, "append scenarios")?;
    appends::appends(&args, &scratch).await?;
    drop(scratch);
    codec::codec(args.codec_events).await?;
    if !args.appends_only {
        pipeline::pipeline(&args).await?;
    }
    Ok(())
}

/// A fresh directory for `what`'s files under `--dir`, refused if it is in memory unless
/// `--allow-tmpfs`; its line says where it is and on what.
fn scratch(args: &BenchArgs, what: &str) -> anyhow::Result<scratch::Scratch> {
    let scratch = scratch::Scratch::create(args.dir.as_deref(), args.allow_tmpfs)?;
    out!("{what}: {}", scratch.describe());
    Ok(scratch)
}

/// `--orders`: none would leave the pipeline's throughput 0 orders in 0 s.
fn orders(arg: &str) -> Result<usize, String> {
    at_least_one(
        arg,
        "no order would go through the pipeline, and its throughput would be 0/0",
    )
}

/// `--rate`: an open loop offering nothing would send no order, and have no latency.
fn rate(arg: &str) -> Result<u64, String> {
    at_least_one(
        arg,
        "the latency run would send no order, and there would be no latency to report",
    )
}

/// `--latency-seconds`: a latency run of no time would send no order.
fn latency_seconds(arg: &str) -> Result<u64, String> {
    at_least_one(
        arg,
        "the latency run would send no order, and there would be no latency to report",
    )
}

/// A whole number of at least 1; 0 is refused, saying `why`.
fn at_least_one<T: std::str::FromStr + Default + PartialEq>(
    arg: &str,
    why: &str,
) -> Result<T, String> {
    let n: T = arg
        .parse()
        .map_err(|_| format!("{arg:?} is not a whole number"))?;
    if n == T::default() {
        return Err(format!("it must be at least 1 (with 0, {why})"));
    }
    Ok(n)
}

/// The fewest appends that give each of the 64 writers an append in every round.
const MIN_APPENDS: usize = ROUNDS * MANY_WRITERS;

/// Refuses an `--appends` too small to give every writer of every round an append (which
/// would leave a scenario with nothing measured).
fn check_appends(appends: usize) -> anyhow::Result<()> {
    anyhow::ensure!(
        appends >= MIN_APPENDS,
        "--appends {appends} is too few: each of {ROUNDS} rounds gives each of \
         {MANY_WRITERS} writers at least one append, so it takes at least {MIN_APPENDS}"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        bench: BenchArgs,
    }

    fn appends(arg: &str) -> anyhow::Result<usize> {
        let cli = Cli::try_parse_from(["bench", "--appends", arg])?;
        check_appends(cli.bench.appends)?;
        Ok(cli.bench.appends)
    }

    #[test]
    fn fewer_appends_than_rounds_times_writers_are_refused_with_the_minimum() {
        for few in ["0", "1", "63", "64", "255"] {
            let refused = appends(few)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                refused.contains("at least 256"),
                "--appends {few}: {refused:?}"
            );
        }
    }

    fn parse(args: &[&str]) -> anyhow::Result<BenchArgs> {
        let all = ["bench"].iter().chain(args).copied();
        Ok(Cli::try_parse_from(all)?.bench)
    }

    #[test]
    fn the_bus_comparison_runs_at_100_500_and_1000_orders_per_second_unless_told()
    -> anyhow::Result<()> {
        assert_eq!(parse(&[])?.rates, [100, 500, 1000]);
        assert_eq!(parse(&["--rates", "200,50"])?.rates, [200, 50]);
        assert_eq!(parse(&["--rates", "700"])?.rates, [700]);
        Ok(())
    }

    #[test]
    fn a_rate_of_zero_or_not_a_number_is_refused() {
        for bad in ["0", "100,0", "fast", "100,,500"] {
            assert!(parse(&["--rates", bad]).is_err(), "--rates {bad} was taken");
        }
    }

    #[test]
    fn broker_pids_are_a_comma_separated_list() -> anyhow::Result<()> {
        assert_eq!(
            parse(&["--broker-pids", "41,42,43"])?.broker_pids,
            [41, 42, 43]
        );
        assert!(parse(&[])?.broker_pids.is_empty());
        Ok(())
    }

    #[test]
    fn only_the_bus_comparison_needs_a_bus() -> anyhow::Result<()> {
        assert!(parse(&["--bus-only"]).is_err());
        assert!(parse(&["--bus-only", "--bus", "kafka://h:1"])?.bus_only);
        Ok(())
    }

    #[test]
    fn no_orders_no_rate_and_no_latency_seconds_are_refused_saying_why() {
        for (arg, why) in [
            ("--orders", "throughput would be 0/0"),
            ("--rate", "no latency"),
            ("--latency-seconds", "no latency"),
        ] {
            let refused = parse(&[arg, "0"])
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                refused.contains("at least 1") && refused.contains(why),
                "{arg} 0: {refused:?}"
            );
            assert!(parse(&[arg, "-1"]).is_err(), "{arg} -1 was taken");
        }
    }

    #[test]
    fn one_order_at_one_per_second_for_one_second_is_taken() -> anyhow::Result<()> {
        let one = parse(&["--orders", "1", "--rate", "1", "--latency-seconds", "1"])?;
        assert_eq!((one.orders, one.rate, one.latency_seconds), (1, 1, 1));
        let default = parse(&[])?;
        assert_eq!(
            (default.orders, default.rate, default.latency_seconds),
            (10_000, 500, 10)
        );
        Ok(())
    }

    #[test]
    fn the_benchs_files_go_under_dir() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let args = parse(&["--dir", &dir.path().display().to_string()])?;
        let scratch = scratch(&args, "this test")?;
        assert!(scratch.path().starts_with(dir.path()), "{scratch:?}");
        Ok(())
    }

    #[test]
    fn enough_appends_are_taken_as_given() -> anyhow::Result<()> {
        assert_eq!(appends("256")?, 256);
        assert_eq!(appends("4000")?, 4000);
        Ok(())
    }
}
