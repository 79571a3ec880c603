//! The two systems under comparison, each as separate processes of this binary on a
//! fresh data dir of its own (the embedded store and bus, so the same durability on both
//! sides), each process on a port fixed for the run so that one restarted comes back
//! where its callers look for it:
//!
//! - `sync`: the chain (`bench-chain`): `front` (the order service) calling
//!   `inventory`, `payment`, `shipping` and `notification`;
//! - `events`: orderflow: `front` (`serve api,projections,relay`), `orders`,
//!   `inventory`, `payment`, `shipping` and `notification`, each `serve`d alone.
//!
//! Both start with the same stock, set through orderflow's API before the services start.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::json;

use crate::bench::scratch::Scratch;
use crate::ready;

/// Every process's name on either side (`stock` sets the stock before the rest start).
const NAMES: [&str; 7] = [
    "front",
    "orders",
    "inventory",
    "payment",
    "shipping",
    "notification",
    "stock",
];

/// Orders pick one of this many SKUs at random.
pub const SKUS: u32 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Sync,
    Events,
}

impl Side {
    pub const BOTH: [Side; 2] = [Side::Sync, Side::Events];

    pub fn name(self) -> &'static str {
        match self {
            Side::Sync => "sync",
            Side::Events => "events",
        }
    }

    /// Its processes, in the order they start: each by name, with the arguments
    /// before the common ones. `ports` has every name's port.
    fn processes(self, ports: &BTreeMap<&'static str, u16>) -> Vec<(&'static str, Vec<String>)> {
        let url = |name: &str| format!("http://127.0.0.1:{}", ports[name]);
        match self {
            Side::Sync => {
                let mut front = vec!["bench-chain".to_owned(), "order".to_owned()];
                for name in crate::bench::chain::CALLS {
                    front.extend(["--call".to_owned(), format!("{name}={}", url(name))]);
                }
                let mut all: Vec<_> = crate::bench::chain::CALLS
                    .iter()
                    .map(|name| (*name, vec!["bench-chain".to_owned(), (*name).to_owned()]))
                    .collect();
                all.push(("front", front));
                all
            }
            Side::Events => {
                let mut all = vec![(
                    "front",
                    vec!["serve".to_owned(), "api,projections,relay".to_owned()],
                )];
                for name in ["orders", "inventory", "payment", "shipping", "notification"] {
                    all.push((name, vec!["serve".to_owned(), name.to_owned()]));
                }
                all
            }
        }
    }
}

struct Process {
    args: Vec<String>,
    child: Option<tokio::process::Child>,
}

/// One system, running.
pub struct System {
    pub side: Side,
    dir: tempfile::TempDir,
    ports: BTreeMap<&'static str, u16>,
    processes: BTreeMap<&'static str, Process>,
}

/// A port free now, for a process to listen on for the whole run.
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl System {
    pub async fn start(side: Side, scratch: &Scratch) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("{}-", side.name()))
            .tempdir_in(scratch.path())?;
        let mut ports = BTreeMap::new();
        for name in NAMES {
            ports.insert(name, free_port()?);
        }
        let mut system = Self {
            side,
            dir,
            processes: BTreeMap::new(),
            ports,
        };
        system.stock().await?;
        for (name, args) in side.processes(&system.ports) {
            system.processes.insert(name, Process { args, child: None });
            system.run(name).await?;
        }
        Ok(system)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The fault file every process of the system reads.
    pub fn faults(&self) -> PathBuf {
        self.dir.path().join("faults.json")
    }

    /// Where orders are placed.
    pub fn orders_url(&self) -> String {
        format!("http://127.0.0.1:{}/orders", self.ports["front"])
    }

    fn command(&self, name: &str, args: &[String]) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(
            std::env::current_exe().expect("the bench knows its own binary"),
        );
        command
            .args(args)
            .arg("--data-dir")
            .arg(self.data_dir())
            .args(["--http", &format!("127.0.0.1:{}", self.ports[name])])
            .arg("--ready-file")
            .arg(self.ready_file(name))
            .arg("--faults")
            .arg(self.faults())
            // The embedded store and bus on both sides, whatever this shell points at.
            .env_remove("ORDERFLOW_STORE_URL")
            .env_remove("ORDERFLOW_BUS_URL")
            .env_remove("ORDERFLOW_TOKENS_FILE")
            .env("ORDERFLOW_LOG", "error")
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true);
        command
    }

    fn ready_file(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("{name}.ready"))
    }

    /// Sets the stock of every SKU through orderflow's API, on a process that stops
    /// before the services start.
    async fn stock(&self) -> anyhow::Result<()> {
        let mut child = self
            .command("stock", &["serve".to_owned(), "api".to_owned()])
            .spawn()?;
        let ready = ready::wait(&self.ready_file("stock"), &mut child).await?;
        let base = ready.http.context("the stock process serves no API")?;
        let client = reqwest::Client::new();
        for sku in 0..SKUS {
            client
                .put(format!("{base}/inventory/BENCH-{sku}"))
                .json(&json!({ "available": 100_000_000u64 }))
                .send()
                .await?
                .error_for_status()?;
        }
        terminate(&mut child).await
    }

    /// Starts the named process and waits until it is ready.
    pub async fn run(&mut self, name: &str) -> anyhow::Result<()> {
        let args = self.processes[name].args.clone();
        let mut child = self.command(name, &args).spawn()?;
        ready::wait(&self.ready_file(name), &mut child)
            .await
            .with_context(|| format!("starting {} {name}", self.side.name()))?;
        self.processes
            .get_mut(name)
            .context("no such process")?
            .child = Some(child);
        Ok(())
    }

    /// Stops the named process: with SIGKILL (`kill -9`), or asking it to stop.
    pub async fn stop(&mut self, name: &str, kill: bool) -> anyhow::Result<()> {
        let process = self.processes.get_mut(name).context("no such process")?;
        let Some(mut child) = process.child.take() else {
            return Ok(());
        };
        if kill {
            child.kill().await?;
        } else {
            terminate(&mut child).await?;
        }
        Ok(())
    }

    /// Stops every process, leaving the data dir to be read.
    pub async fn stop_all(&mut self) -> anyhow::Result<()> {
        let names: Vec<_> = self.processes.keys().copied().collect();
        for name in names {
            self.stop(name, false).await?;
        }
        Ok(())
    }

    /// Hands back the directory, kept until the bench is over.
    pub fn into_dir(self) -> tempfile::TempDir {
        self.dir
    }
}

async fn terminate(child: &mut tokio::process::Child) -> anyhow::Result<()> {
    if let Some(pid) = child.id() {
        std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()?;
    }
    child.wait().await?;
    Ok(())
}

/// The payment ledger of a system's data dir.
pub fn ledger(data_dir: &Path) -> PathBuf {
    data_dir.join("payment-ledger.db")
}
