//! Which process holds a lease: this process as its lease rows name it, and whether a
//! process on this machine still runs (and is the one that took the lease, not a later
//! one given the same pid).

use std::sync::LazyLock;

/// This process, as its lease rows name it.
#[derive(Debug)]
pub(super) struct Here {
    pub(super) instance: String,
    pub(super) pid: u32,
    pub(super) started: Option<u64>,
    pub(super) host: String,
    pub(super) machine: Option<String>,
}

pub(super) static HERE: LazyLock<Here> = LazyLock::new(|| {
    let pid = std::process::id();
    Here {
        instance: uuid::Uuid::new_v4().to_string(),
        pid,
        started: match process_state(pid) {
            ProcessState::Running(started) => started,
            _ => None,
        },
        host: host_name(),
        machine: machine(),
    }
});

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The running kernel and this process's pid namespace: where a pid names the same
/// process as here. `None` where it cannot be told (then only heartbeats count).
fn machine() -> Option<String> {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let pids = std::fs::read_link("/proc/self/ns/pid").ok()?;
    Some(format!("{}/{}", boot.trim(), pids.display()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ProcessState {
    /// Running, with its start time when known.
    Running(Option<u64>),
    /// No such process, or one that ended and waits to be reaped.
    Gone,
    /// Cannot be told here.
    Unknown,
}

pub(super) fn process_state(pid: u32) -> ProcessState {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            // `pid (name) state ppid …`: the name may hold anything, so fields are
            // counted after its closing parenthesis; the start time is the 22nd field.
            let Some((_, rest)) = stat.rsplit_once(')') else {
                return ProcessState::Unknown;
            };
            let fields: Vec<&str> = rest.split_whitespace().collect();
            match fields.first() {
                Some(&"Z") | Some(&"X") | Some(&"x") => ProcessState::Gone,
                Some(_) => ProcessState::Running(fields.get(19).and_then(|s| s.parse().ok())),
                None => ProcessState::Unknown,
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && cfg!(target_os = "linux") => {
            ProcessState::Gone
        }
        Err(_) => ProcessState::Unknown,
    }
}
