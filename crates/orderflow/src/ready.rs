//! The ready-file: how a supervisor, a test or the bench learns that a process is up
//! and where its API listens, without reading its stdout. With `--ready-file PATH`,
//! `run` and `serve` write PATH once every service has started (a JSON object: the
//! process id and the base URL of its `--http` address: the API's, or `/health` and
//! `/metrics` alone), and remove it when they stop. The file appears whole or not at all: it is written beside PATH and renamed
//! onto it.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

/// What the ready-file says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ready {
    /// The process that is ready.
    pub pid: u32,
    /// The base URL of its HTTP address (`http://127.0.0.1:8080`): the API's, or
    /// `/health` and `/metrics` alone for a process without the API.
    pub http: Option<String>,
}

impl Ready {
    /// This process, serving the API at `http` if it does.
    pub fn now(http: Option<std::net::SocketAddr>) -> Self {
        Self {
            pid: std::process::id(),
            http: http.map(|addr| format!("http://{addr}")),
        }
    }
}

/// Writes `ready` to `path` atomically: to a temporary file in the same directory, then
/// renamed onto `path`, so a reader sees all of it or nothing.
pub fn write(path: &Path, ready: &Ready) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut temp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("creating the ready-file beside {}", path.display()))?;
    serde_json::to_writer(&mut temp, ready)?;
    temp.persist(path)
        .with_context(|| format!("writing the ready-file {}", path.display()))?;
    Ok(())
}

/// Removes the ready-file at `path`, if there is one: left over from an earlier run, it
/// would say a process is ready before this one is.
pub fn remove(path: &Path) -> anyhow::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing the ready-file {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// Waits until `child` has written its ready-file at `path`, failing if it exits first.
pub async fn wait(path: &Path, child: &mut tokio::process::Child) -> anyhow::Result<Ready> {
    loop {
        match std::fs::read(path) {
            Ok(bytes) => {
                return serde_json::from_slice(&bytes)
                    .with_context(|| format!("reading the ready-file {}", path.display()));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        if let Some(status) = child.try_wait()? {
            bail!("the process exited ({status}) before it was ready");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn the_ready_file_holds_the_pid_and_the_api_and_nothing_is_left_beside_it() -> TestResult {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("ready.json");
        let ready = Ready::now(Some("127.0.0.1:4242".parse()?));
        write(&path, &ready)?;
        let read: Ready = serde_json::from_slice(&std::fs::read(&path)?)?;
        assert_eq!(read.http.as_deref(), Some("http://127.0.0.1:4242"));
        assert_eq!(read.pid, std::process::id());
        let files = std::fs::read_dir(dir.path())?.count();
        assert_eq!(files, 1, "a temporary file was left beside the ready-file");
        Ok(())
    }

    #[test]
    fn a_ready_file_written_again_replaces_the_old_one_and_goes_away_when_removed() -> TestResult {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("ready.json");
        write(&path, &Ready::now(Some("127.0.0.1:1".parse()?)))?;
        write(&path, &Ready::now(None))?;
        let read: Ready = serde_json::from_slice(&std::fs::read(&path)?)?;
        assert_eq!(read.http, None);
        remove(&path)?;
        assert!(!path.exists());
        remove(&path)?;
        Ok(())
    }
}
