//! Damaged files: refused at start, naming the file and the way out; met while running,
//! `/health` names the file and what to do, and nothing retries it forever. An event
//! store emptied to 0 bytes is refused as a missing one is.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::process::Command;

use crate::support::*;

/// Damages a SQLite file as a failing disk would: everything in its write-ahead log is
/// first moved into the main file (as SQLite does from time to time), then every byte
/// of it after the first page is flipped. The header and the schema still read; any
/// table does not.
fn damage(path: &Path) -> TestResult {
    let conn = rusqlite::Connection::open(path)?;
    let page_size: usize = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    // A reader of a running process may hold the log for a moment.
    let deadline = std::time::Instant::now() + PATIENCE;
    while conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
        r.get::<_, i64>(0)
    })? != 0
    {
        if std::time::Instant::now() > deadline {
            return Err(format!("{} kept its write-ahead log busy", path.display()).into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(conn);
    let mut bytes = std::fs::read(path)?;
    if bytes.len() <= page_size {
        return Err(format!("{} has no page past the first to damage", path.display()).into());
    }
    for b in &mut bytes[page_size..] {
        *b ^= 0xFF;
    }
    std::fs::write(path, bytes)?;
    Ok(())
}

/// Deletes a SQLite file with its write-ahead log, as the way out says.
fn delete_db(path: &Path) -> TestResult {
    for suffix in ["", "-wal", "-shm"] {
        match std::fs::remove_file(format!("{}{suffix}", path.display())) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
    }
    Ok(())
}

/// A deployment that has shipped one order, then stopped.
async fn shipped_one_and_stopped(deployment: &Deployment) -> Res<String> {
    let mut first = deployment.start("run", &[]).await?;
    let api = Api::of(deployment, &first);
    api.set_stock("D-1", 10).await?;
    let (order, _) = api.place("c-d", json!([item("D-1", 1, 2.0)])).await?;
    api.wait_status(&order, "SHIPPED").await?;
    first.terminate().await?;
    Ok(order)
}

/// Starting on the data dir is refused; returns what the process said.
async fn refused_at_start(deployment: &Deployment) -> Res<String> {
    // Bounded: a build that starts anyway would otherwise run forever.
    let refused = tokio::time::timeout(
        Duration::from_secs(30),
        deployment.command(&["serve", "api", "--http", "127.0.0.1:0"]),
    )
    .await??;
    let stderr = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert!(!refused.status.success(), "started on a damaged file");
    Ok(stderr)
}

#[tokio::test]
async fn a_damaged_event_store_at_start_is_refused_naming_it_and_the_backup_to_restore()
-> TestResult {
    let deployment = Deployment::new()?;
    shipped_one_and_stopped(&deployment).await?;
    let events = deployment.data_dir().join("events.db");
    damage(&events)?;

    let said = refused_at_start(&deployment).await?;
    assert!(
        said.contains(&format!("{} is damaged", events.display()))
            && said.contains("restore it from a backup")
            && !said.contains("delete it"),
        "{said}"
    );
    Ok(())
}

#[tokio::test]
async fn damaged_read_models_at_start_are_refused_naming_them_and_made_again_once_deleted()
-> TestResult {
    let deployment = Deployment::new()?;
    let order = shipped_one_and_stopped(&deployment).await?;
    let read = deployment.data_dir().join("read.db");
    damage(&read)?;

    let said = refused_at_start(&deployment).await?;
    assert!(
        said.contains(&format!("{} is damaged", read.display()))
            && said.contains("delete it: it is made again from the event store"),
        "{said}"
    );

    delete_db(&read)?;
    let again = deployment.start("run", &[]).await?;
    Api::of(&deployment, &again)
        .wait_status(&order, "SHIPPED")
        .await?;
    Ok(())
}

#[tokio::test]
async fn a_damaged_bus_at_start_is_refused_naming_it_and_made_again_once_deleted() -> TestResult {
    let deployment = Deployment::new()?;
    let order = shipped_one_and_stopped(&deployment).await?;
    let bus = deployment.data_dir().join("bus.db");
    damage(&bus)?;

    let said = refused_at_start(&deployment).await?;
    assert!(
        said.contains(&format!("{} is damaged", bus.display()))
            && said.contains("delete it: it is made again from the event store"),
        "{said}"
    );

    delete_db(&bus)?;
    let again = deployment.start("run", &[]).await?;
    let api = Api::of(&deployment, &again);
    api.wait_status(&order, "SHIPPED").await?;
    let (next, _) = api.place("c-d", json!([item("D-1", 1, 2.0)])).await?;
    api.wait_status(&next, "SHIPPED").await?;
    Ok(())
}

/// `orderflow run` on the deployment's data dir, logging at `warn` into `log`.
async fn run_logged(deployment: &Deployment, log: &Path) -> Res<Process> {
    let ready_file = deployment.dir.path().join("ready-logged.json");
    let file = std::fs::File::create(log)?;
    let mut child = Command::new(env!("CARGO_BIN_EXE_orderflow"))
        .arg("run")
        .arg("--data-dir")
        .arg(deployment.data_dir())
        .args(["--http", "127.0.0.1:0", "--ready-file"])
        .arg(&ready_file)
        .env("ORDERFLOW_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(file)
        .kill_on_drop(true)
        .spawn()?;
    let ready = ready(&ready_file, &mut child).await?;
    Ok(Process {
        child,
        base: ready.http,
    })
}

/// Every consumer group and the store's readers have nothing left to do.
async fn quiet(api: &Api) -> TestResult {
    eventually(|| async {
        let (_, c) = api.get("/consumers").await?;
        let groups = c["groups"].as_array().cloned().unwrap_or_default();
        let readers = c["storeReaders"].as_array().cloned().unwrap_or_default();
        let idle = |all: &[Value]| all.iter().all(|g| g["lag"] == 0);
        Ok(
            (groups.len() == 6 && idle(&groups) && !readers.is_empty() && idle(&readers))
                .then_some(()),
        )
    })
    .await
}

/// The lines of the log that say a service stopped on damaged storage.
fn stopped_on_damage(log: &Path) -> Res<usize> {
    Ok(std::fs::read_to_string(log)?
        .lines()
        .filter(|l| l.contains("a service stopped on damaged storage"))
        .count())
}

#[tokio::test]
async fn a_bus_damaged_while_running_turns_health_to_503_naming_it_and_nothing_retries_it()
-> TestResult {
    let deployment = Deployment::new()?;
    let log = deployment.dir.path().join("run.log");
    let mut running = run_logged(&deployment, &log).await?;
    let api = Api::of(&deployment, &running);
    api.set_stock("D-1", 10).await?;
    let (before, _) = api.place("c-d", json!([item("D-1", 1, 2.0)])).await?;
    api.wait_status(&before, "SHIPPED").await?;
    quiet(&api).await?;

    let bus = deployment.data_dir().join("bus.db");
    damage(&bus)?;

    let health = eventually(|| async {
        let (status, body) = api.get("/health").await?;
        Ok((status == 503).then_some(body))
    })
    .await?;
    assert_eq!(health["status"], "damaged", "{health}");
    let reason = health["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains(&format!("delete {}", bus.display())),
        "{reason}"
    );
    // The store still takes orders; publishing them, the relay meets the damage too.
    let (during, _) = api.place("c-d", json!([item("D-1", 1, 2.0)])).await?;
    // The six consumers and the relay each stop, once.
    eventually(|| async { Ok((stopped_on_damage(&log)? >= 7).then_some(())) }).await?;
    let (status, _) = api.get("/health").await?;
    assert_eq!(status, 503, "the API stays up to say so");

    let status = running.terminate().await?;
    assert!(!status.success(), "stopped as if nothing had happened");
    let said = std::fs::read_to_string(&log)?;
    let retried: Vec<&str> = said
        .lines()
        .filter(|l| l.contains("retrying"))
        .filter(|l| {
            ["damaged", "malformed", "not a database"]
                .iter()
                .any(|d| l.contains(d))
        })
        .collect();
    assert!(retried.is_empty(), "retried the damaged bus: {retried:?}");
    assert!(
        said.lines()
            .any(|l| l.starts_with("error:") && l.contains(&bus.display().to_string())),
        "the exit does not name the bus: {said}"
    );

    let restart = refused_at_start(&deployment).await?;
    assert!(
        restart.contains(&format!("{} is damaged", bus.display())),
        "{restart}"
    );
    delete_db(&bus)?;
    let again = deployment.start("run", &[]).await?;
    let api = Api::of(&deployment, &again);
    api.wait_status(&during, "SHIPPED").await?;
    Ok(())
}

#[tokio::test]
async fn an_event_store_emptied_to_0_bytes_beside_its_copies_is_refused_like_a_missing_one()
-> TestResult {
    let deployment = Deployment::new()?;
    shipped_one_and_stopped(&deployment).await?;
    let events = deployment.data_dir().join("events.db");
    delete_db(&events)?;
    std::fs::File::create(&events)?;

    let said = refused_at_start(&deployment).await?;
    assert!(
        said.contains(&format!("{} is empty (0 bytes)", events.display()))
            && said.contains("--discard-derived-data"),
        "{said}"
    );
    Ok(())
}

#[tokio::test]
async fn a_process_without_the_api_exits_when_its_bus_is_damaged_rather_than_idle_on() -> TestResult
{
    let deployment = Deployment::new()?;
    shipped_one_and_stopped(&deployment).await?;
    // The projections read the store, not the bus: they could go on alone.
    let mut process = deployment.start("orders,projections", &[]).await?;

    damage(&deployment.data_dir().join("bus.db"))?;

    // Bounded: a process that stayed up, with nothing to say so, would never exit.
    let status = tokio::time::timeout(PATIENCE, process.child.wait()).await??;
    assert!(!status.success(), "exited as if stopped");
    Ok(())
}
