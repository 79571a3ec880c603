//! Group membership on the embedded bus: a group has one member at a time, which holds
//! the group's lease in the bus file.
//!
//! The embedded log has no rebalancing: a group's one subscription reads every partition
//! of its topics. Two processes of one group would handle the same records side by side
//! and overwrite each other's commits, and a reset of a running group is undone,
//! partition by partition, by its next commits. So a subscription takes its group's lease
//! (a row of `group_members`) when it starts; a background task renews it every
//! [`MemberLease::heartbeat`]; dropping the subscription gives it back. While a live member
//! holds it, another subscription of the group and a reset of the group's offsets are
//! refused with [`BusError::GroupActive`], which says who holds it.
//!
//! A lease is live while its heartbeat is younger than [`MemberLease::timeout`] and, when
//! it was taken on this machine, while the process that took it still runs: a process
//! killed with `kill -9` leaves its row behind, and the next start takes it over at once
//! (the row names the process by pid and start time, so a pid used again by another
//! process is not taken for it). From another machine sharing the file only the
//! heartbeat tells, so a lease taken there is free once its heartbeat is older than the
//! timeout.
//!
//! The lease costs the hot path no write: the heartbeat is a small write of its own every
//! few seconds, apart from polling; a poll reads a flag; a commit checks in its own
//! transaction that the lease is still its subscription's (one primary-key read). A
//! member whose lease lapsed (its process stalled for longer than the timeout) and was
//! taken over, or whose group was reset meanwhile, is fenced: its polls and commits fail
//! and it cannot undo what happened since. Restarting its process joins again.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use orderflow_core::bus::BusError;
use rusqlite::{Connection, OptionalExtension, params};

use super::{Shared, lock, on_writer};
use crate::db::{from_micros, micros};
use process::{HERE, ProcessState, process_state};

mod process;

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS group_members (
    group_id  TEXT    NOT NULL PRIMARY KEY, -- one member per group: no rebalancing
    member_id TEXT    NOT NULL,             -- the subscription
    instance  TEXT    NOT NULL,             -- the process, as it named itself at start
    pid       INTEGER NOT NULL,
    started   INTEGER,                      -- the process's start time (Linux: clock ticks after boot)
    host      TEXT    NOT NULL,
    machine   TEXT,                         -- which kernel and pid namespace the pid is in
    joined    INTEGER NOT NULL,
    heartbeat INTEGER NOT NULL
);
";

/// How often a member renews its lease, and how long an unrenewed one stays live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct MemberLease {
    pub(super) heartbeat: Duration,
    /// Five heartbeats: a heartbeat held up behind the writer (a retention pass, a flush
    /// on a loaded machine) does not make a live member look dead. Only a member on
    /// another machine waits this long to be replaced: on this machine, a member whose
    /// process is gone is replaced at once.
    pub(super) timeout: Duration,
}

impl Default for MemberLease {
    fn default() -> Self {
        Self {
            heartbeat: Duration::from_secs(2),
            timeout: Duration::from_secs(10),
        }
    }
}

/// A group's member, as the bus file has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    pub group: String,
    pub pid: u32,
    pub host: String,
    pub joined: DateTime<Utc>,
    pub heartbeat: DateTime<Utc>,
}

/// The member ids of this process's subscriptions that hold their lease: a row this
/// process wrote is live exactly while its subscription is, whatever the heartbeat.
static LIVE: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(Mutex::default);

/// A group's lease row.
#[derive(Debug)]
struct Holder {
    member_id: String,
    instance: String,
    pid: u32,
    started: Option<u64>,
    host: String,
    machine: Option<String>,
    joined: i64,
    heartbeat: i64,
}

fn holder(conn: &Connection, group: &str) -> rusqlite::Result<Option<Holder>> {
    conn.prepare_cached(
        "SELECT member_id, instance, pid, started, host, machine, joined, heartbeat \
         FROM group_members WHERE group_id = ?1",
    )?
    .query_row([group], |r| {
        Ok(Holder {
            member_id: r.get(0)?,
            instance: r.get(1)?,
            pid: r.get(2)?,
            started: r.get(3)?,
            host: r.get(4)?,
            machine: r.get(5)?,
            joined: r.get(6)?,
            heartbeat: r.get(7)?,
        })
    })
    .optional()
}

impl Holder {
    fn is_live(&self, now: i64, timeout: Duration) -> bool {
        let timeout = i64::try_from(timeout.as_micros()).unwrap_or(i64::MAX);
        if now.saturating_sub(self.heartbeat) > timeout {
            return false;
        }
        let here = &*HERE;
        if self.instance == here.instance {
            return lock(&LIVE).contains(&self.member_id);
        }
        if self.machine.is_none() || self.machine != here.machine {
            return true;
        }
        if self.pid == here.pid {
            // Another process had this one's pid: it is gone.
            return false;
        }
        match process_state(self.pid) {
            ProcessState::Gone => false,
            ProcessState::Running(started) => {
                self.started.is_none() || started.is_none() || started == self.started
            }
            ProcessState::Unknown => true,
        }
    }

    fn describe(&self) -> String {
        let this = if self.instance == HERE.instance {
            " (this process)"
        } else {
            ""
        };
        format!(
            "process {} on host {}{this}, a member since {}",
            self.pid,
            self.host,
            from_micros(self.joined).to_rfc3339_opts(SecondsFormat::Secs, true)
        )
    }

    fn member(&self, group: &str) -> GroupMember {
        GroupMember {
            group: group.to_owned(),
            pid: self.pid,
            host: self.host.clone(),
            joined: from_micros(self.joined),
            heartbeat: from_micros(self.heartbeat),
        }
    }
}

/// The group's live member, if it has one.
pub(super) fn live_member(
    conn: &Connection,
    group: &str,
    lease: MemberLease,
) -> rusqlite::Result<Option<GroupMember>> {
    Ok(holder(conn, group)?
        .filter(|h| h.is_live(micros(Utc::now()), lease.timeout))
        .map(|h| h.member(group)))
}

/// The group's member as the bus port reports it: the lease's holder, alive or not,
/// with its last heartbeat. A member that stopped cleanly gave its lease back and is
/// not listed.
pub(super) fn members(
    conn: &Connection,
    group: &str,
    lease: MemberLease,
) -> rusqlite::Result<Vec<orderflow_core::bus::GroupMember>> {
    let now = micros(Utc::now());
    Ok(holder(conn, group)?
        .map(|h| orderflow_core::bus::GroupMember {
            alive: h.is_live(now, lease.timeout),
            id: h.member_id.clone(),
            client: format!("process {}", h.pid),
            host: h.host.clone(),
            last_seen: Some(from_micros(h.heartbeat)),
        })
        .into_iter()
        .collect())
}

/// Refuses a reset of a group with a live member, as Kafka refuses one of a group with
/// active members; otherwise removes a lapsed member's lease, so that the member, if its
/// process only stalled, is fenced instead of undoing the reset. In the reset's
/// transaction.
pub(super) fn check_stopped(
    conn: &Connection,
    group: &str,
    lease: MemberLease,
) -> rusqlite::Result<Result<(), BusError>> {
    let Some(holder) = holder(conn, group)? else {
        return Ok(Ok(()));
    };
    if holder.is_live(micros(Utc::now()), lease.timeout) {
        return Ok(Err(BusError::GroupActive {
            group: group.to_owned(),
            reason: format!(
                "group {group} has 1 active member ({}); stop it before resetting its offsets",
                holder.describe()
            ),
        }));
    }
    conn.prepare_cached("DELETE FROM group_members WHERE group_id = ?1")?
        .execute([group])?;
    Ok(Ok(()))
}

/// A subscription's hold on its group's lease: renewed in the background while it
/// lives, given back when it is dropped.
#[derive(Debug)]
pub(super) struct Membership {
    shared: Arc<Shared>,
    fence: Arc<Fence>,
    heartbeat: Option<tokio::task::AbortHandle>,
}

/// Whether a member still holds its group's lease.
#[derive(Debug)]
pub(super) struct Fence {
    group: String,
    member_id: String,
    /// The lease was found taken over or removed: the member is fenced for good.
    lost: AtomicBool,
    lease: MemberLease,
}

/// Takes `group`'s lease for a new member in the caller's write transaction, or says who
/// holds it. The member counts as live in this process from here on, so a concurrent
/// subscription that waited for this transaction sees it as such.
pub(super) fn join(
    shared: &Arc<Shared>,
    tx: &Connection,
    group: &str,
) -> rusqlite::Result<Result<Membership, BusError>> {
    let now = micros(Utc::now());
    if let Some(holder) = holder(tx, group)?
        && holder.is_live(now, shared.lease.timeout)
    {
        return Ok(Err(BusError::GroupActive {
            group: group.to_owned(),
            reason: format!(
                "group {group} is already consumed by {}; the embedded bus has no \
                 rebalancing, so a group runs in one process: stop that one first, or use \
                 Kafka (--bus kafka://…) to run several",
                holder.describe()
            ),
        }));
    }
    let member_id = uuid::Uuid::new_v4().to_string();
    let here = &*HERE;
    tx.prepare_cached(
        "INSERT INTO group_members \
         (group_id, member_id, instance, pid, started, host, machine, joined, heartbeat) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8) \
         ON CONFLICT (group_id) DO UPDATE SET member_id = excluded.member_id, \
         instance = excluded.instance, pid = excluded.pid, started = excluded.started, \
         host = excluded.host, machine = excluded.machine, joined = excluded.joined, \
         heartbeat = excluded.heartbeat",
    )?
    .execute(params![
        group,
        member_id,
        here.instance,
        here.pid,
        here.started,
        here.host,
        here.machine,
        now
    ])?;
    lock(&LIVE).insert(member_id.clone());
    Ok(Ok(Membership {
        shared: shared.clone(),
        fence: Arc::new(Fence {
            group: group.to_owned(),
            member_id,
            lost: AtomicBool::new(false),
            lease: shared.lease,
        }),
        heartbeat: None,
    }))
}

impl Membership {
    /// Starts renewing the lease every [`MemberLease::heartbeat`].
    pub(super) fn keep_alive(&mut self) {
        let (shared, fence) = (self.shared.clone(), self.fence.clone());
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(shared.lease.heartbeat).await;
                let held = fence.clone();
                let renewed = on_writer(&shared, move |conn, _| {
                    conn.prepare_cached(
                        "UPDATE group_members SET heartbeat = ?1 \
                         WHERE group_id = ?2 AND member_id = ?3",
                    )?
                    .execute(params![
                        micros(Utc::now()),
                        held.group,
                        held.member_id
                    ])
                })
                .await;
                match renewed {
                    Ok(1) => {}
                    Ok(_) => {
                        fence.lost.store(true, Ordering::Release);
                        tracing::warn!(group = fence.group, "{}", fence.lapsed());
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(group = fence.group, error = %e, "renewing the group's lease failed; will try again");
                    }
                }
            }
        });
        self.heartbeat = Some(task.abort_handle());
    }

    /// Fails once this member was fenced: a flag, no read.
    pub(super) fn check(&self) -> Result<(), BusError> {
        self.fence.check()
    }

    /// What a commit checks the lease with on the blocking pool.
    pub(super) fn fence(&self) -> Arc<Fence> {
        self.fence.clone()
    }
}

impl Fence {
    /// Fails once the member was fenced: a flag, no read.
    pub(super) fn check(&self) -> Result<(), BusError> {
        if self.lost.load(Ordering::Acquire) {
            return Err(BusError::GroupActive {
                group: self.group.clone(),
                reason: self.lapsed(),
            });
        }
        Ok(())
    }

    /// Checks, in a commit's transaction, that the member still holds the lease.
    pub(super) fn check_in(&self, tx: &Connection) -> rusqlite::Result<Result<(), BusError>> {
        let held = tx
            .prepare_cached("SELECT 1 FROM group_members WHERE group_id = ?1 AND member_id = ?2")?
            .exists(params![self.group, self.member_id])?;
        if !held {
            self.lost.store(true, Ordering::Release);
        }
        Ok(self.check())
    }

    fn lapsed(&self) -> String {
        format!(
            "this process's membership of group {} lapsed (its lease went unrenewed for \
             over {} s) and the group was taken over or reset since; it no longer reads or \
             commits for the group: restart it to join again",
            self.group,
            self.lease.timeout.as_secs_f64()
        )
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        lock(&LIVE).remove(&self.fence.member_id);
        if let Some(heartbeat) = self.heartbeat.take() {
            heartbeat.abort();
        }
        let (shared, fence) = (self.shared.clone(), self.fence.clone());
        // Not live for this process any more from here; the row goes in the background
        // (should the process end first, other processes see that it is gone).
        let release = move || {
            let conn = lock(&shared.writer);
            if let Err(e) = conn.execute(
                "DELETE FROM group_members WHERE group_id = ?1 AND member_id = ?2",
                params![fence.group, fence.member_id],
            ) {
                tracing::warn!(group = fence.group, error = %e, "giving the group's lease back failed; it lapses");
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(release)),
            Err(_) => release(),
        }
    }
}

#[cfg(test)]
mod tests;
