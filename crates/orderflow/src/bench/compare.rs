//! `orderflow bench --compare sync`: the case for events, measured. The same open-loop
//! load (a fixed arrival rate, so that slowness shows as latency and refusals rather
//! than as less load) goes to a synchronous chain built from the same code
//! (`bench/chain.rs`) and to orderflow, one after the other on the same machine, in
//! scenarios where a service is slow, down, flaky or restarted; each system's figures
//! come from its own records, and each scenario gets a chart.
//!
//! # Layout
//!
//! - `compare.rs`: running the scenarios and printing the table or the JSON;
//! - `compare/scenario.rs`: the scenarios and their faults;
//! - `compare/system.rs`: starting and stopping either system's processes;
//! - `compare/outcome.rs`: what each system did, from its records, and the figures;
//! - `compare/chart.rs`: the charts.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;
use serde_json::json;

use super::BenchArgs;
use super::pipeline::open_loop;
use crate::faults::{self, Plan};

mod chart;
mod outcome;
mod scenario;
mod system;

use scenario::Action;
pub use scenario::Scenario;
use system::{SKUS, Side, System};

/// What to compare orderflow with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Compare {
    /// A synchronous chain of HTTP calls, one process per service.
    Sync,
}

/// How long the bench waits, after the load, for orderflow to finish what it accepted.
const DRAIN_AT_MOST: Duration = Duration::from_secs(120);

/// One scenario's result.
#[derive(Debug, Serialize)]
struct Result {
    name: &'static str,
    fault: &'static str,
    seconds: u64,
    rate: u64,
    /// When the fault began and ended, in seconds from the start.
    fault_from_s: f64,
    fault_to_s: f64,
    sync: outcome::Figures,
    events: outcome::Figures,
}

pub async fn compare(args: &BenchArgs) -> anyhow::Result<()> {
    let scenarios = match args.scenario.as_slice() {
        [] => Scenario::ALL.to_vec(),
        chosen => chosen.to_vec(),
    };
    let scratch = super::scratch::Scratch::create(args.dir.as_deref(), args.allow_tmpfs)?;
    let say = |line: String| {
        if args.json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    };
    say(format!(
        "orderflow bench --compare sync: {} orders/s for {} s per scenario and system, \
         in {}",
        args.compare_rate,
        args.seconds,
        scratch.describe()
    ));
    let charts = args.charts.clone();
    std::fs::create_dir_all(&charts)
        .with_context(|| format!("cannot create {}", charts.display()))?;
    let mut results = Vec::new();
    let mut kept = Vec::new();
    for scenario in scenarios {
        let length = Duration::from_secs(args.seconds);
        let mut sides = Vec::new();
        let mut window = (Duration::ZERO, Duration::ZERO);
        for side in Side::BOTH {
            say(format!("{}: {} …", scenario.name(), side.name()));
            let (figures, fault, dir) = run(side, scenario, args, length, &scratch).await?;
            window = fault;
            sides.push(figures);
            kept.push(dir);
        }
        let events = sides.pop().context("two sides")?;
        let sync = sides.pop().context("two sides")?;
        let result = Result {
            name: scenario.name(),
            fault: scenario.fault(),
            seconds: args.seconds,
            rate: args.compare_rate,
            fault_from_s: window.0.as_secs_f64(),
            fault_to_s: window.1.as_secs_f64(),
            sync,
            events,
        };
        let path = charts.join(format!("{}.svg", scenario.name()));
        chart::draw(&path, &result_chart(&result))?;
        if !args.json {
            print!("{}", table(&result));
            println!("chart: {}\n", path.display());
        }
        results.push(result);
    }
    if args.json {
        println!("{}", json!({ "scenarios": results }));
    }
    Ok(())
}

fn result_chart(result: &Result) -> chart::Chart<'_> {
    chart::Chart {
        title: format!("{}: {}", result.name, result.fault),
        seconds: result.seconds,
        fault: (result.fault != Scenario::Healthy.fault())
            .then_some((result.fault_from_s, result.fault_to_s)),
        sync: &result.sync.per_second,
        events: &result.events.per_second,
    }
}

/// One system through one scenario: its figures, when the fault was, and its directory
/// (kept until the bench is over).
async fn run(
    side: Side,
    scenario: Scenario,
    args: &BenchArgs,
    length: Duration,
    scratch: &super::scratch::Scratch,
) -> anyhow::Result<(outcome::Figures, (Duration, Duration), tempfile::TempDir)> {
    let mut system = System::start(side, scratch).await?;
    faults::write(&system.faults(), &Plan::default())?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(1024)
        .build()?;
    let count = (args.compare_rate * args.seconds) as usize;
    let schedule = open_loop::schedule(args.compare_rate as f64, count);
    let url = system.orders_url();
    let run_id = uuid::Uuid::new_v4().simple().to_string();
    let start = Instant::now();
    let start_wall = chrono::Utc::now();
    let send = |i: usize, intended: Instant| {
        let (client, url) = (client.clone(), url.clone());
        let key = format!("{run_id}-{i}");
        async move { attempt(client, url, key, start, intended).await }
    };
    let actions = scenario.actions(length);
    let (sends, window) = tokio::join!(
        open_loop::fire(start, &schedule, send),
        apply(&mut system, &actions, start, length)
    );
    let window = window?;
    let mut attempts = Vec::with_capacity(count);
    let mut sends = sends;
    while let Some(attempt) = sends.join_next().await {
        attempts.push(attempt??);
    }
    if side == Side::Events {
        drain(&system, &attempts).await?;
    }
    system.stop_all().await?;
    let recorded = outcome::read(&system.data_dir()).await?;
    let figures = outcome::figures(&attempts, &recorded, start_wall, window.1);
    Ok((figures, window, system.into_dir()))
}

/// Does the scenario's actions at their moments; returns when the fault began and when
/// it was over (for a restart, once the process was ready again).
async fn apply(
    system: &mut System,
    actions: &[(Duration, Action)],
    start: Instant,
    length: Duration,
) -> anyhow::Result<(Duration, Duration)> {
    let (mut from, mut to) = Scenario::window(length);
    if let Some((first, _)) = actions.first() {
        (from, to) = (*first, *first);
    }
    for (at, action) in actions {
        tokio::time::sleep_until((start + *at).into()).await;
        match action {
            Action::Faults(plan) => faults::write(&system.faults(), plan)?,
            Action::Stop { process, kill } => system.stop(process, *kill).await?,
            Action::Start { process } => system.run(process).await?,
        }
        to = to.max(start.elapsed().min(length));
    }
    Ok((from, to))
}

/// Waits until every accepted order is done (shipped or cancelled, and emailed), or
/// [`DRAIN_AT_MOST`] has passed.
async fn drain(system: &System, attempts: &[outcome::Attempt]) -> anyhow::Result<()> {
    let deadline = Instant::now() + DRAIN_AT_MOST;
    while Instant::now() < deadline {
        let recorded = outcome::read(&system.data_dir()).await?;
        let done = attempts
            .iter()
            .filter(|a| a.accepted)
            .all(|a| recorded.get(&a.order_id).is_some_and(|r| r.complete()));
        if done {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Ok(())
}

/// One order placed at its intended moment: accepted if the system said so with a 2xx.
async fn attempt(
    client: reqwest::Client,
    url: String,
    key: String,
    start: Instant,
    intended: Instant,
) -> anyhow::Result<outcome::Attempt> {
    let sku = format!("BENCH-{}", rand::random_range(0..SKUS));
    let customer = orderflow_domain::CustomerId::parse("bench")?;
    let order_id = orderflow_services::http::order_id_from_key(&customer, &key)
        .map_err(|e| anyhow::anyhow!("{e:?}"))?
        .to_string();
    let answer = client
        .post(&url)
        .header("Idempotency-Key", &key)
        .json(&json!({
            "customerId": "bench",
            "items": [{ "sku": sku, "quantity": 1, "unitPrice": 9.99 }],
            "shippingAddress": "1 Bench Street, Testville"
        }))
        .send()
        .await;
    Ok(outcome::Attempt {
        order_id,
        intended: intended - start,
        done: start.elapsed(),
        accepted: answer.is_ok_and(|a| a.status().is_success()),
    })
}

fn cell(value: Option<f64>) -> String {
    value.map_or("–".to_owned(), |v| format!("{v:.0}"))
}

/// The scenario's figures, a row each, the two systems side by side.
fn table(result: &Result) -> String {
    let (s, e) = (&result.sync, &result.events);
    let rows: Vec<(&str, String, String)> = vec![
        (
            "attempted",
            s.attempted.to_string(),
            e.attempted.to_string(),
        ),
        (
            "accepted",
            format!("{} ({:.1} %)", s.accepted, s.accepted_pct),
            format!("{} ({:.1} %)", e.accepted, e.accepted_pct),
        ),
        (
            "accept p50 ms",
            cell(s.accept_p50_ms),
            cell(e.accept_p50_ms),
        ),
        (
            "accept p99 ms",
            cell(s.accept_p99_ms),
            cell(e.accept_p99_ms),
        ),
        (
            "accept p99.9 ms",
            cell(s.accept_p999_ms),
            cell(e.accept_p999_ms),
        ),
        ("shipped", s.shipped.to_string(), e.shipped.to_string()),
        (
            "to shipped p50 ms",
            cell(s.shipped_p50_ms),
            cell(e.shipped_p50_ms),
        ),
        (
            "to shipped p99 ms",
            cell(s.shipped_p99_ms),
            cell(e.shipped_p99_ms),
        ),
        (
            "lost (accepted, never shipped)",
            s.lost.to_string(),
            e.lost.to_string(),
        ),
        (
            "duplicate charges",
            s.duplicate_charges.to_string(),
            e.duplicate_charges.to_string(),
        ),
        (
            "emails sent twice",
            s.emails_twice.to_string(),
            e.emails_twice.to_string(),
        ),
        (
            "accepted, not done (email missing)",
            s.emails_missing.to_string(),
            e.emails_missing.to_string(),
        ),
        (
            "charged, not accepted, not refunded",
            s.charged_not_accepted.to_string(),
            e.charged_not_accepted.to_string(),
        ),
        (
            "drain after the fault, ms",
            cell(Some(s.drain_ms)),
            cell(Some(e.drain_ms)),
        ),
    ];
    let mut out = format!(
        "\n{} ({}; fault {:.1}–{:.1} s)\n{:<38} {:>16} {:>16}\n",
        result.name,
        result.fault,
        result.fault_from_s,
        result.fault_to_s,
        "",
        "sync chain",
        "orderflow"
    );
    for (name, sync, events) in rows {
        out.push_str(&format!("{name:<38} {sync:>16} {events:>16}\n"));
    }
    out
}

/// Where the charts go by default.
pub fn default_charts() -> PathBuf {
    PathBuf::from("bench-charts")
}
