//! The command line as a shell pipeline uses it.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::*;

#[tokio::test]
async fn a_command_whose_reader_goes_away_stops_quietly() -> TestResult {
    let deployment = Deployment::new()?;
    // An event store for `schema check` to look at.
    deployment.start("api", &[]).await?.terminate().await?;
    // Like `orderflow schema check | head -0`: the read end is closed before the command
    // writes its first line, so every write meets a broken pipe.
    let (reader, writer) = std::io::pipe()?;
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_orderflow"))
        .args(["schema", "check", "--data-dir"])
        .arg(deployment.data_dir())
        .arg("--schemas")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas"))
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    Ok(())
}

#[tokio::test]
async fn logs_to_a_pipe_or_a_file_carry_no_colour_codes() -> TestResult {
    let deployment = Deployment::new()?;
    // A service that logs at INFO as it stops, its stderr a pipe.
    let out = projections_stopped_once_ready(&deployment, &[]).await?;

    let stderr = String::from_utf8_lossy(&out.stderr);
    // SIGTERM sent the moment it said it was ready still stops it cleanly.
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(stderr.contains("shutting down"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "colour codes in {stderr:?}");
    Ok(())
}

#[tokio::test]
async fn the_ready_file_says_where_the_api_listens_and_goes_away_when_the_process_stops()
-> TestResult {
    let deployment = Deployment::new()?;
    let ready_file = deployment.dir.path().join("ready.json");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_orderflow"))
        .args(["serve", "api", "--http", "127.0.0.1:0", "--data-dir"])
        .arg(deployment.data_dir())
        .arg("--ready-file")
        .arg(&ready_file)
        .env("ORDERFLOW_LOG", "warn")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let ready = ready(&ready_file, &mut child).await?;
    assert_eq!(Some(ready.pid), child.id());
    let base = ready.http.ok_or("no HTTP address in the ready-file")?;
    let health = reqwest::get(format!("{base}/health")).await?;
    assert_eq!(health.status(), 200);

    terminate(&child)?;
    let status = tokio::time::timeout(PATIENCE, child.wait()).await??;
    assert!(status.success(), "{status:?}");
    assert!(!ready_file.exists(), "the ready-file outlived its process");
    Ok(())
}

/// Sends SIGTERM to `child`.
fn terminate(child: &tokio::process::Child) -> TestResult {
    let pid = child.id().ok_or("process already gone")?;
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()?;
    Ok(())
}

#[tokio::test]
async fn a_ready_file_left_from_an_earlier_run_is_gone_even_when_the_start_is_refused() -> TestResult
{
    let deployment = Deployment::new()?;
    let ready_file = deployment.dir.path().join("ready.json");
    std::fs::write(&ready_file, r#"{"pid":1,"http":"http://127.0.0.1:1"}"#)?;
    // An API open to other hosts without tokens: refused before anything starts.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_orderflow"))
        .args(["serve", "api", "--http", "0.0.0.0:0", "--data-dir"])
        .arg(deployment.data_dir())
        .arg("--ready-file")
        .arg(&ready_file)
        .env_remove("ORDERFLOW_TOKENS")
        .env_remove("ORDERFLOW_TOKENS_FILE")
        .env_remove("ORDERFLOW_ALLOW_UNAUTHENTICATED")
        .output()
        .await?;
    assert!(!out.status.success(), "started: {out:?}");
    assert!(!ready_file.exists(), "a stale ready-file was left in place");
    Ok(())
}

#[tokio::test]
async fn with_log_format_json_every_log_line_is_one_json_object() -> TestResult {
    let deployment = Deployment::new()?;
    let out = projections_stopped_once_ready(&deployment, &["--log-format", "json"]).await?;

    let stderr = String::from_utf8(out.stderr)?;
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(!lines.is_empty(), "nothing was logged");
    let mut messages = Vec::new();
    for line in lines {
        let object: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| format!("not one JSON object ({e}): {line:?}"))?;
        assert!(object["level"].is_string(), "no level: {line}");
        messages.push(
            object["fields"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    assert!(
        messages.iter().any(|m| m == "shutting down"),
        "{messages:?}"
    );
    Ok(())
}

/// Runs `orderflow serve projections` with `args` on the deployment's data dir, logging at
/// INFO to a pipe, sends it SIGTERM the moment its ready-file appears, and returns what it
/// left when it stopped.
async fn projections_stopped_once_ready(
    deployment: &Deployment,
    args: &[&str],
) -> Result<std::process::Output, Box<dyn std::error::Error + Send + Sync>> {
    let ready_file = deployment.dir.path().join("ready.json");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_orderflow"))
        // Every process listens on its --http address: a free port, not the default.
        .args(["serve", "projections", "--http", "127.0.0.1:0"])
        .args(args)
        .arg("--data-dir")
        .arg(deployment.data_dir())
        .arg("--ready-file")
        .arg(&ready_file)
        .env("ORDERFLOW_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    ready(&ready_file, &mut child).await?;
    terminate(&child)?;
    Ok(tokio::time::timeout(PATIENCE, child.wait_with_output()).await??)
}
