//! `orderflow bench --compare sync`: the synchronous chain against orderflow, with a
//! fault in the middle of a short run, read back from the bench's JSON.

use std::path::Path;

use serde_json::Value;
use tokio::process::Command;

use crate::support::Res;

/// Runs one scenario of the comparison for 6 s at 20 orders/s; its JSON, and the chart.
async fn compare(scenario: &str, dir: &Path) -> Res<(Value, String)> {
    let charts = dir.join("charts");
    let out = Command::new(env!("CARGO_BIN_EXE_orderflow"))
        .args(["bench", "--compare", "sync", "--scenario", scenario])
        .args([
            "--seconds",
            "6",
            "--compare-rate",
            "20",
            "--json",
            "--allow-tmpfs",
        ])
        .arg("--dir")
        .arg(dir)
        .arg("--charts")
        .arg(&charts)
        .env("ORDERFLOW_LOG", "warn")
        .output()
        .await?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout)?;
    let result = report["scenarios"][0].clone();
    assert_eq!(result["name"], scenario);
    assert_eq!(
        result["fault_from_s"], 2.0,
        "the fault lies in the middle third"
    );
    let chart = std::fs::read_to_string(charts.join(format!("{scenario}.svg")))?;
    Ok((result, chart))
}

/// What must hold on both sides whatever the fault: every attempt counted, nothing
/// accepted and lost, nobody charged or mailed twice.
fn nothing_lost_or_doubled(result: &Value) {
    for side in ["sync", "events"] {
        let figures = &result[side];
        assert_eq!(figures["attempted"], 120, "{side}: {figures}");
        assert_eq!(figures["lost"], 0, "{side}: {figures}");
        assert_eq!(figures["duplicate_charges"], 0, "{side}: {figures}");
        assert_eq!(figures["emails_twice"], 0, "{side}: {figures}");
    }
}

#[tokio::test]
async fn with_notification_down_the_chain_never_sends_some_emails_and_orderflow_sends_them_all_late()
-> Res<()> {
    let dir = tempfile::tempdir()?;
    let (result, chart) = compare("notification-down", dir.path()).await?;
    nothing_lost_or_doubled(&result);
    let (sync, events) = (&result["sync"], &result["events"]);
    assert!(
        sync["emails_missing"].as_u64() > Some(0),
        "the chain gave up the emails it could not send while notification was down: {sync}"
    );
    assert_eq!(events["accepted"], 120, "{events}");
    assert_eq!(
        events["emails_missing"], 0,
        "orderflow sent every email once notification was back: {events}"
    );
    for series in ["sync chain", "orderflow", "accepted orders/s", "accept p99"] {
        assert!(chart.contains(series), "the chart shows {series}");
    }
    Ok(())
}

#[tokio::test]
async fn with_payment_slow_the_chain_answers_slowly_and_orderflow_ships_everything_it_accepted()
-> Res<()> {
    let dir = tempfile::tempdir()?;
    let (result, _) = compare("payment-slow", dir.path()).await?;
    nothing_lost_or_doubled(&result);
    let (sync, events) = (&result["sync"], &result["events"]);
    assert!(
        sync["accept_p99_ms"].as_f64() >= Some(300.0),
        "the chain's answers waited for payment's extra 300 ms at least: {sync}"
    );
    assert_eq!(events["accepted"], 120, "{events}");
    assert_eq!(events["shipped"], 120, "{events}");
    Ok(())
}

#[tokio::test]
async fn a_front_killed_mid_run_loses_no_order_either_system_accepted() -> Res<()> {
    let dir = tempfile::tempdir()?;
    let (result, _) = compare("restart", dir.path()).await?;
    nothing_lost_or_doubled(&result);
    assert!(
        result["fault_to_s"].as_f64() > result["fault_from_s"].as_f64(),
        "the front was down from its kill until it was ready again: {result}"
    );
    for side in ["sync", "events"] {
        let figures = &result[side];
        assert_eq!(figures["shipped"], figures["accepted"], "{side}: {figures}");
    }
    Ok(())
}
