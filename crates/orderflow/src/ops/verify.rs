//! `orderflow verify [--json]`: does today's code agree with history? Folds every stream
//! of the event store with this build and re-runs each recorded decision
//! (`orderflow_services::verify` says which are re-run and which only folded), and
//! exits non-zero on any disagreement or stream that fails to fold. Run it against a
//! copy of production's store before deploying a new version.

use std::fmt::Write as _;

use anyhow::bail;
use clap::Args;
use orderflow_services::verify::{CurrentRules, Report, verify as run};
use serde_json::{Value, json};

use super::replay_order::open_reading;
use crate::settings::{DataDir, StoreArgs};

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Print the report as JSON, for tools.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub data_dir: DataDir,
    #[command(flatten)]
    pub store: StoreArgs,
}

pub async fn verify(args: VerifyArgs) -> anyhow::Result<()> {
    let (store, codec) = open_reading(&args.data_dir, &args.store).await?;
    let report = run(store.as_ref(), &codec, &CurrentRules).await?;
    if args.json {
        out!("{}", serde_json::to_string_pretty(&report_json(&report))?);
    } else {
        let mut stdout = std::io::stdout().lock();
        std::io::Write::write_all(&mut stdout, render(&report).as_bytes())?;
    }
    if !report.agrees() {
        bail!(
            "{} disagreement(s) and {} event(s) that do not fold: this build does not agree with the recorded history",
            report.disagreements.len(),
            report.fold_failures.len()
        );
    }
    Ok(())
}

/// The report for a person: the counts, then each disagreement and fold failure.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    for d in &report.disagreements {
        let _ = writeln!(
            out,
            "DISAGREE {} v{} (position {}, recorded by {})",
            d.stream, d.version, d.position, d.actor
        );
        let _ = writeln!(out, "  recorded: {}", d.recorded);
        let _ = writeln!(out, "  now:      {}", d.now);
    }
    for f in &report.fold_failures {
        let _ = writeln!(
            out,
            "NO FOLD  {} v{} (position {}): {}",
            f.stream, f.version, f.position, f.reason
        );
    }
    let _ = writeln!(
        out,
        "{} {} event(s) in {} stream(s): {} decision(s) re-run ({} event(s)), {} event(s) folded only",
        if report.agrees() { "ok" } else { "FAILED" },
        report.events,
        report.streams,
        report.decisions,
        report.redecided,
        report.folded_only
    );
    out
}

/// The report for tools.
pub fn report_json(report: &Report) -> Value {
    let disagreements: Vec<Value> = report
        .disagreements
        .iter()
        .map(|d| {
            json!({
                "stream": d.stream,
                "version": d.version,
                "position": d.position,
                "actor": d.actor,
                "recorded": d.recorded,
                "now": d.now,
            })
        })
        .collect();
    let failures: Vec<Value> = report
        .fold_failures
        .iter()
        .map(|f| {
            json!({
                "stream": f.stream,
                "version": f.version,
                "position": f.position,
                "reason": f.reason,
            })
        })
        .collect();
    json!({
        "agrees": report.agrees(),
        "events": report.events,
        "streams": report.streams,
        "decisions": report.decisions,
        "redecided": report.redecided,
        "foldedOnly": report.folded_only,
        "disagreements": disagreements,
        "foldFailures": failures,
    })
}

#[cfg(test)]
mod tests;
