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
    use tokio::io::{AsyncBufReadExt, BufReader};

    let deployment = Deployment::new()?;
    // A service that logs at INFO as it stops, its stderr a pipe.
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_orderflow"))
        .args([
            "serve",
            "projections",
            "--http",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(deployment.data_dir())
        .env("ORDERFLOW_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let mut lines = BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
    tokio::time::timeout(PATIENCE, async {
        while let Some(line) = lines.next_line().await? {
            if line.starts_with("orderflow: running") {
                break;
            }
        }
        Ok::<_, std::io::Error>(())
    })
    .await??;
    let pid = child.id().ok_or("process already gone")?;
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()?;
    let out = tokio::time::timeout(PATIENCE, child.wait_with_output()).await??;

    let stderr = String::from_utf8_lossy(&out.stderr);
    // SIGTERM sent the moment it said it was running still stops it cleanly.
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(stderr.contains("shutting down"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "colour codes in {stderr:?}");
    Ok(())
}
