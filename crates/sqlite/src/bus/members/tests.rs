//! One member per group on the embedded bus: a second one and a reset of a running group
//! are refused; a member that stopped, crashed or lapsed is replaced.

use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use orderflow_core::bus::{
    BusError, DEFAULT_PARTITIONS, DEFAULT_RETENTION, EventBus, Offset, OutgoingRecord, StartFrom,
    Subscription,
};

use super::*;
use crate::bus::SqliteBus;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn open(path: &Path, heartbeat: Duration, timeout: Duration) -> Result<SqliteBus, BusError> {
    SqliteBus::open_with_lease(
        path,
        DEFAULT_PARTITIONS,
        DEFAULT_RETENTION,
        MemberLease { heartbeat, timeout },
    )
}

/// The refusal, with its message; fails the test if it was not one.
fn refusal<T: std::fmt::Debug>(result: Result<T, BusError>, of: &str) -> String {
    match result {
        Err(BusError::GroupActive { group, reason }) => {
            assert_eq!(group, of);
            reason
        }
        other => panic!("expected group {of} to be refused as active, got {other:?}"),
    }
}

async fn subscribe(bus: &SqliteBus, group: &str) -> Result<Box<dyn Subscription>, BusError> {
    bus.subscribe(group, &["payments"], StartFrom::Earliest)
        .await
}

/// Waits until `check` holds, for up to 10 s.
async fn until(mut check: impl AsyncFnMut() -> bool, what: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Writes a lease row as another process would have.
fn lease_row(
    bus: &SqliteBus,
    group: &str,
    pid: u32,
    started: Option<u64>,
    machine: Option<&str>,
    heartbeat_age: Duration,
) -> rusqlite::Result<()> {
    let heartbeat = Utc::now() - chrono::Duration::from_std(heartbeat_age).unwrap_or_default();
    lock(&bus.shared.writer).execute(
        "INSERT OR REPLACE INTO group_members \
         (group_id, member_id, instance, pid, started, host, machine, joined, heartbeat) \
         VALUES (?1, 'm-other', 'another process', ?2, ?3, 'elsewhere', ?4, ?5, ?5)",
        params![group, pid, started, machine, micros(heartbeat)],
    )?;
    Ok(())
}

fn rows(bus: &SqliteBus, group: &str) -> rusqlite::Result<i64> {
    lock(&bus.shared.writer).query_row(
        "SELECT count(*) FROM group_members WHERE group_id = ?1",
        [group],
        |r| r.get(0),
    )
}

#[tokio::test]
async fn a_second_member_of_a_running_group_is_refused_until_the_first_is_dropped() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("bus.db");
    let bus = SqliteBus::open(&path)?;
    let first = subscribe(&bus, "payment").await?;
    // Through the same handle, and through another one on the file, as another
    // process's would be.
    for handle in [bus.clone(), SqliteBus::open(&path)?] {
        let reason = refusal(subscribe(&handle, "payment").await, "payment");
        assert!(
            reason.contains(&format!(
                "group payment is already consumed by process {}",
                std::process::id()
            )) && reason.contains("no rebalancing")
                && reason.contains("Kafka"),
            "{reason}"
        );
    }
    // Other groups are not concerned.
    let _shipping = subscribe(&bus, "shipping").await?;
    drop(first);
    let _again = subscribe(&bus, "payment").await?;
    Ok(())
}

#[tokio::test]
async fn a_member_renews_its_lease_and_gives_it_back_when_dropped() -> TestResult {
    let dir = tempfile::tempdir()?;
    let bus = open(
        &dir.path().join("bus.db"),
        Duration::from_millis(20),
        Duration::from_secs(10),
    )?;
    let sub = subscribe(&bus, "payment").await?;
    let joined = bus.member("payment").await?.ok_or("no member")?;
    assert_eq!(joined.pid, std::process::id());
    until(
        async || {
            bus.member("payment")
                .await
                .ok()
                .flatten()
                .is_some_and(|m| m.heartbeat > joined.heartbeat)
        },
        "the heartbeat is renewed",
    )
    .await;
    drop(sub);
    assert_eq!(
        bus.member("payment").await?,
        None,
        "not a member from the drop on"
    );
    until(
        async || rows(&bus, "payment").is_ok_and(|n| n == 0),
        "the lease row is deleted",
    )
    .await;
    Ok(())
}

/// `kill -9` leaves the lease behind with a fresh heartbeat; a process on this machine
/// sees that its holder is gone (or that its pid now names another process) and takes
/// it over at once. A running holder keeps it.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_lease_whose_process_is_gone_is_taken_over_at_once() -> TestResult {
    struct Running(std::process::Child);
    impl Drop for Running {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let dir = tempfile::tempdir()?;
    let bus = SqliteBus::open(&dir.path().join("bus.db"))?;
    let machine = HERE.machine.as_deref();
    assert!(machine.is_some(), "Linux tells its machine");

    let mut running = Running(std::process::Command::new("sleep").arg("600").spawn()?);
    let pid = running.0.id();
    let ProcessState::Running(started) = process_state(pid) else {
        panic!("sleep is not running");
    };
    lease_row(&bus, "payment", pid, started, machine, Duration::ZERO)?;
    let reason = refusal(subscribe(&bus, "payment").await, "payment");
    assert!(
        reason.contains(&format!("process {pid} on host elsewhere")),
        "{reason}"
    );

    // The same pid, started at another time: another process that got the pid.
    lease_row(
        &bus,
        "payment",
        pid,
        started.map(|s| s + 1),
        machine,
        Duration::ZERO,
    )?;
    drop(subscribe(&bus, "payment").await?);

    lease_row(&bus, "payment", pid, started, machine, Duration::ZERO)?;
    running.0.kill()?;
    running.0.wait()?;
    drop(subscribe(&bus, "payment").await?);

    // Killed but not yet reaped (a zombie) is gone too.
    let mut zombie = Running(std::process::Command::new("sleep").arg("600").spawn()?);
    let pid = zombie.0.id();
    let ProcessState::Running(started) = process_state(pid) else {
        panic!("sleep is not running");
    };
    lease_row(&bus, "payment", pid, started, machine, Duration::ZERO)?;
    zombie.0.kill()?;
    until(
        async || process_state(pid) == ProcessState::Gone,
        "the killed process is a zombie",
    )
    .await;
    drop(subscribe(&bus, "payment").await?);
    Ok(())
}

/// A lease taken on another machine: live while its heartbeat is younger than the
/// timeout, whatever runs here under its pid.
#[tokio::test]
async fn a_lease_from_another_machine_is_live_until_its_heartbeat_is_too_old() -> TestResult {
    let dir = tempfile::tempdir()?;
    let timeout = Duration::from_secs(6);
    let bus = open(&dir.path().join("bus.db"), Duration::from_secs(2), timeout)?;
    lease_row(
        &bus,
        "payment",
        1,
        None,
        Some("elsewhere"),
        Duration::from_secs(5),
    )?;
    refusal(subscribe(&bus, "payment").await, "payment");
    let reason = refusal(
        bus.reset_offsets("payment", &["payments"], StartFrom::Earliest)
            .await,
        "payment",
    );
    assert!(
        reason.contains("1 active member (process 1 on host elsewhere"),
        "{reason}"
    );

    lease_row(&bus, "payment", 1, None, Some("elsewhere"), timeout * 2)?;
    let _taken_over = subscribe(&bus, "payment").await?;
    assert_eq!(
        bus.member("payment").await?.map(|m| m.pid),
        Some(std::process::id())
    );
    Ok(())
}

fn payment(key: &str) -> OutgoingRecord {
    OutgoingRecord {
        topic: "payments".into(),
        key: key.into(),
        value: b"v".to_vec(),
        headers: vec![],
        timestamp: Utc::now(),
    }
}

#[tokio::test]
async fn resetting_a_running_group_is_refused_and_a_stopped_one_is_reset() -> TestResult {
    let dir = tempfile::tempdir()?;
    let bus = SqliteBus::open(&dir.path().join("bus.db"))?;
    bus.publish(vec![payment("k"), payment("k")]).await?;
    let mut sub = subscribe(&bus, "payment").await?;
    let got = sub.poll(10, Duration::from_secs(5)).await?;
    assert_eq!(got.len(), 2);
    sub.commit(&Offset::after(&got)).await?;

    let reason = refusal(
        bus.reset_offsets("payment", &["payments"], StartFrom::Earliest)
            .await,
        "payment",
    );
    assert!(
        reason.contains("group payment has 1 active member")
            && reason.contains("stop it before resetting its offsets"),
        "{reason}"
    );
    let lag = |bus: SqliteBus| async move {
        let groups = bus.groups().await?;
        Ok::<_, BusError>(
            groups
                .iter()
                .find(|g| g.group == "payment")
                .map(|g| g.total_lag()),
        )
    };
    assert_eq!(lag(bus.clone()).await?, Some(0), "nothing was reset");

    drop(sub);
    bus.reset_offsets("payment", &["payments"], StartFrom::Earliest)
        .await?;
    assert_eq!(lag(bus.clone()).await?, Some(2));
    let mut again = subscribe(&bus, "payment").await?;
    assert_eq!(again.poll(10, Duration::from_secs(5)).await?.len(), 2);
    Ok(())
}

/// A member whose process stalled past the timeout has lost its lease: a reset or a new
/// member may go ahead, and the stalled one can then neither read nor commit, so it
/// cannot undo them.
#[tokio::test]
async fn a_member_whose_lease_lapsed_is_fenced_once_it_is_replaced_or_reset() -> TestResult {
    let dir = tempfile::tempdir()?;
    // No renewal within the test: the lease lapses 50 ms after it is taken.
    let bus = open(
        &dir.path().join("bus.db"),
        Duration::from_secs(3600),
        Duration::from_millis(50),
    )?;
    bus.publish(vec![payment("k")]).await?;

    let mut stalled = subscribe(&bus, "payment").await?;
    let got = stalled.poll(10, Duration::from_secs(5)).await?;
    stalled.commit(&Offset::after(&got)).await?;
    until(
        async || {
            bus.reset_offsets("payment", &["payments"], StartFrom::Earliest)
                .await
                .is_ok()
        },
        "the lapsed member's group is reset",
    )
    .await;
    let reason = refusal(stalled.commit(&Offset::after(&got)).await, "payment");
    assert!(reason.contains("lapsed"), "{reason}");
    refusal(stalled.poll(10, Duration::ZERO).await, "payment");
    let groups = bus.groups().await?;
    assert_eq!(groups[0].total_lag(), 1, "the reset stands");
    drop(stalled);

    let mut stalled = subscribe(&bus, "payment").await?;
    let mut next = None;
    until(
        async || {
            next = subscribe(&bus, "payment").await.ok();
            next.is_some()
        },
        "a new member replaces the lapsed one",
    )
    .await;
    let mut next = next.ok_or("no new member")?;
    refusal(stalled.commit(&Offset::after(&got)).await, "payment");
    drop(stalled);
    // Dropping the fenced member leaves the new member's lease alone.
    next.commit(&Offset::after(&got)).await?;
    assert_eq!(rows(&bus, "payment")?, 1);
    Ok(())
}
