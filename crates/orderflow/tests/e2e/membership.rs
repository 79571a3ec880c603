//! The embedded bus has no rebalancing, so a consumer group runs in one process: a
//! second process of the group is refused with the reason, `orderflow replay` refuses a
//! running group as it does on Kafka, and both go ahead once the first process stopped,
//! or was killed.

use std::process::Stdio;

use orderflow_sqlite::SqliteBus;
use tokio::process::Command;

use crate::support::*;

/// Runs `orderflow <args>` on the deployment's data dir to its end; killed if it runs
/// past [`PATIENCE`] (a build that does not refuse would serve on).
async fn finished(deployment: &Deployment, args: &[&str]) -> Res<std::process::Output> {
    let child = Command::new(env!("CARGO_BIN_EXE_orderflow"))
        .args(args)
        .arg("--data-dir")
        .arg(deployment.data_dir())
        .envs(deployment.env.iter().cloned())
        .env("ORDERFLOW_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    Ok(tokio::time::timeout(PATIENCE, child.wait_with_output()).await??)
}

/// Waits until `process` holds `group` on the bus.
async fn holds(bus: &SqliteBus, group: &str, process: &Process) -> TestResult {
    let pid = process.child.id().ok_or("the process is gone")?;
    eventually(|| async {
        let member = bus.member(group).await?;
        Ok(member.is_some_and(|m| m.pid == pid).then_some(()))
    })
    .await
}

#[tokio::test]
async fn on_the_embedded_bus_a_group_runs_in_one_process_and_replay_waits_for_it_to_stop()
-> TestResult {
    let deployment = Deployment::new()?;
    let mut payment = deployment.start("payment", &[]).await?;
    let pid = payment.child.id().ok_or("no pid")?;
    let bus = SqliteBus::open(&deployment.data_dir().join("bus.db"))?;
    holds(&bus, "payment", &payment).await?;

    let second = finished(&deployment, &["serve", "payment", "--http", "127.0.0.1:0"]).await?;
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        !second.status.success(),
        "a second payment process ran: {stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "group payment is already consumed by process {pid}"
        )) && stderr.contains("no rebalancing"),
        "{stderr}"
    );
    holds(&bus, "payment", &payment).await?;

    let replay = ["replay", "--group", "payment", "--from-beginning"];
    let refused = finished(&deployment, &replay).await?;
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success(),
        "a running group was reset: {stderr}"
    );
    assert!(
        stderr.contains("group payment has 1 active member")
            && stderr.contains(&format!("process {pid}")),
        "{stderr}"
    );

    let status = payment.terminate().await?;
    assert!(status.success(), "clean shutdown exits 0, got {status}");
    let replayed = finished(&deployment, &replay).await?;
    assert!(
        replayed.status.success(),
        "{}",
        String::from_utf8_lossy(&replayed.stderr)
    );

    // `kill -9` leaves the lease behind; the next start takes it over at once.
    let mut again = deployment.start("payment", &[]).await?;
    holds(&bus, "payment", &again).await?;
    again.kill9().await?;
    let after_the_crash = deployment.start("payment", &[]).await?;
    holds(&bus, "payment", &after_the_crash).await?;
    Ok(())
}
