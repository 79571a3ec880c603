//! Apache Kafka for the tests: the shared cluster `./scripts/test` starts (topics and
//! groups of each test under a prefix of its own), and private clusters, from
//! `scripts/kafka` with a directory of their own, for the tests that stop brokers.

use std::path::PathBuf;

use tempfile::TempDir;
use tokio::process::Command;

use super::{Deployment, Res, TestResult};

/// The shared cluster's bootstrap URL (`ORDERFLOW_TEST_KAFKA_URL`); its absence fails the
/// test, saying how to provide one.
pub fn kafka_url() -> String {
    shared("ORDERFLOW_TEST_KAFKA_URL")
}

/// The shared cluster's TLS listeners (`ORDERFLOW_TEST_KAFKA_TLS_URL`), whose certificate
/// the test CA (`ORDERFLOW_TEST_TLS_DIR`) signed.
pub fn kafka_tls_url() -> String {
    shared("ORDERFLOW_TEST_KAFKA_TLS_URL")
}

fn shared(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!(
            "{var} is not set: run ./scripts/test, which starts an Apache Kafka cluster \
             (./scripts/kafka up), or point it at one (kafka://host:port[,host:port])"
        )
    })
}

/// A cluster of the test's own, stopped and removed when dropped.
#[derive(Debug)]
pub struct Cluster {
    dir: TempDir,
    brokers: usize,
    bootstrap: String,
}

impl Cluster {
    /// Starts `brokers` nodes and waits until every one is registered.
    pub async fn start(brokers: usize) -> Res<Self> {
        let dir = tempfile::tempdir()?;
        let out = script(&dir, &["up", "--brokers", &brokers.to_string()]).await?;
        let bootstrap = out
            .lines()
            .last()
            .ok_or("scripts/kafka up printed no bootstrap address")?
            .to_owned();
        Ok(Self {
            dir,
            brokers,
            bootstrap,
        })
    }

    pub fn url(&self) -> String {
        format!("kafka://{}", self.bootstrap)
    }

    /// A deployment on this cluster, its topics replicated to as many brokers as it has
    /// (up to three).
    pub fn deployment(&self) -> Res<Deployment> {
        let mut d = Deployment::on_kafka(&self.url())?;
        d.env.push((
            "ORDERFLOW_TOPIC_REPLICATION_FACTOR".into(),
            self.brokers.min(3).to_string(),
        ));
        Ok(d)
    }

    /// SIGKILLs node `i` (1-based); its data stays.
    pub async fn kill_broker(&self, i: usize) -> TestResult {
        script(&self.dir, &["kill-broker", &i.to_string()]).await?;
        Ok(())
    }

    /// Starts node `i` again and waits until it is registered.
    pub async fn start_broker(&self, i: usize) -> TestResult {
        script(&self.dir, &["start-broker", &i.to_string()]).await?;
        Ok(())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = std::process::Command::new(script_path())
            .args(["down", "--dir"])
            .arg(self.dir.path())
            .output();
    }
}

fn script_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/kafka")
}

/// Runs `scripts/kafka <args> --dir <dir>`, failing with its stderr; returns its stdout.
async fn script(dir: &TempDir, args: &[&str]) -> Res<String> {
    let out = Command::new(script_path())
        .args(args)
        .arg("--dir")
        .arg(dir.path())
        .output()
        .await?;
    if !out.status.success() {
        return Err(format!(
            "scripts/kafka {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(String::from_utf8(out.stdout)?)
}
