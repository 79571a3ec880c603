//! The official clients, installed on first use under the cargo target dir at their
//! newest releases, and a way to run their scripts.
//!
//! An installation is marked with the requirement text and the UTC date it was made on.
//! When either differs, it is brought up to date (`pip install -U`; a fresh `npm
//! install`), so a cached client is never more than a day older than the newest release:
//! a new release that breaks against orderflow shows within a day, and the runs of one
//! day do not depend on the package index.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;
use tokio::sync::OnceCell;

use super::proxy::Recorder;
use crate::support::{PATIENCE, Res};

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

/// The repository's `schemas/` folder.
pub fn schemas_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas")
}

/// A client script and the interpreter that runs it.
#[derive(Debug, Clone)]
pub struct Client {
    /// The interpreter (Python's in its venv, or node).
    pub program: PathBuf,
    script: PathBuf,
}

impl Client {
    /// Runs one command of the script and returns the JSON document it printed. A failure
    /// carries the client's stderr and the requests the registry answered with an error.
    pub async fn run(&self, recorder: &Recorder, args: &[&str], stdin: &str) -> Res<Value> {
        let mut child = Command::new(&self.program)
            .arg(&self.script)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let mut input = child.stdin.take().ok_or("no stdin")?;
        input.write_all(stdin.as_bytes()).await?;
        drop(input);
        let out = tokio::time::timeout(PATIENCE, child.wait_with_output()).await??;
        let command = format!("{} {}", self.script.display(), args.first().unwrap_or(&""));
        if !out.status.success() {
            // Printed as is (the test's error is printed escaped, on one line).
            eprintln!(
                "`{command}` failed: {}\nRequests the registry answered with an error:\n{}",
                String::from_utf8_lossy(&out.stderr),
                recorder.errors()
            );
            return Err(format!("`{command}` failed (see above)").into());
        }
        let answer: Value = serde_json::from_slice(&out.stdout)?;
        eprintln!("interop: {} ran {}", answer["client"], args[0]);
        Ok(answer)
    }
}

/// The marker an installation made from `requirements` today carries.
fn marker(requirements: &str) -> String {
    format!(
        "{requirements}\ninstalled on {}\n",
        chrono::Utc::now().date_naive()
    )
}

fn is_current(dir: &Path, want: &str) -> bool {
    std::fs::read_to_string(dir.join(".installed")).is_ok_and(|m| m == want)
}

async fn run(program: &Path, args: &[&str], dir: Option<&Path>, needs: &str) -> Res<()> {
    let mut command = Command::new(program);
    command.args(args);
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let out = command.output().await.map_err(|e| {
        format!(
            "cannot run `{}` ({e}); the interop tests need {needs}",
            program.display()
        )
    })?;
    if !out.status.success() {
        return Err(format!(
            "`{} {}` failed: {}{}\nThe interop tests need {needs}.",
            program.display(),
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(())
}

/// `confluent_client.py` with the newest `confluent-kafka[avro,schemaregistry]` from PyPI,
/// in a virtualenv under the target dir.
pub async fn python() -> Res<Client> {
    static INSTALLED: OnceCell<Client> = OnceCell::const_new();
    INSTALLED
        .get_or_try_init(|| async {
            let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("interop-venv");
            let python = venv.join("bin/python");
            let requirements = interop_dir().join("requirements.txt");
            let want = marker(&std::fs::read_to_string(&requirements)?);
            let needs = "python3 with venv and pip, and PyPI";
            if !is_current(&venv, &want) {
                if !python.exists() {
                    let venv = venv.display().to_string();
                    run(Path::new("python3"), &["-m", "venv", &venv], None, needs).await?;
                }
                let requirements = requirements.display().to_string();
                let upgrade = ["-m", "pip", "install", "-q", "-U", "-r", &requirements];
                run(&python, &upgrade, None, needs).await?;
                std::fs::write(venv.join(".installed"), &want)?;
            }
            Ok(Client {
                program: python,
                script: interop_dir().join("confluent_client.py"),
            })
        })
        .await
        .cloned()
}

/// `confluent_client.mjs` with the newest `@confluentinc/schemaregistry` and `avsc` from
/// npm, installed into a folder under the target dir (the script is copied next to its
/// `node_modules`, where Node resolves its imports).
pub async fn node() -> Res<Client> {
    static INSTALLED: OnceCell<Client> = OnceCell::const_new();
    INSTALLED
        .get_or_try_init(|| async {
            let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("interop-node");
            let package = std::fs::read_to_string(interop_dir().join("package.json"))?;
            let want = marker(&package);
            let needs = "node (20 or later) and npm, and the npm registry";
            if !is_current(&dir, &want) {
                // Without a lockfile, a fresh install resolves `latest` anew; an install
                // over an old node_modules may keep what is there.
                if dir.exists() {
                    std::fs::remove_dir_all(&dir)?;
                }
                std::fs::create_dir_all(&dir)?;
                std::fs::write(dir.join("package.json"), &package)?;
                let install = [
                    "install",
                    "--no-package-lock",
                    "--no-audit",
                    "--no-fund",
                    "--loglevel=error",
                ];
                run(Path::new("npm"), &install, Some(&dir), needs).await?;
                std::fs::write(dir.join(".installed"), &want)?;
            }
            let script = dir.join("confluent_client.mjs");
            std::fs::copy(interop_dir().join("confluent_client.mjs"), &script)?;
            Ok(Client {
                program: "node".into(),
                script,
            })
        })
        .await
        .cloned()
}
