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
