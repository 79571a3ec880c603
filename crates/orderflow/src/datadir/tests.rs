//! The data dir check while other processes run on the same data dir.

use clap::Parser;
use rusqlite::Connection;

use super::*;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The settings of a process started with `--data-dir dir` and nothing else.
#[derive(Debug, Parser)]
struct Run {
    #[command(flatten)]
    settings: Settings,
}

fn settings(dir: &Path) -> Result<Settings, Box<dyn std::error::Error>> {
    let dir = dir.to_str().ok_or("a temp dir that is not UTF-8")?;
    Ok(Run::try_parse_from(["orderflow", "--data-dir", dir])?.settings)
}

/// A data dir whose store holds `head` events and whose read models reflect all of
/// them, as a running deployment leaves it.
fn deployment_at(dir: &Path, head: u64) -> TestResult {
    let store = Connection::open(dir.join("events.db"))?;
    store.execute_batch("CREATE TABLE events (position INTEGER PRIMARY KEY)")?;
    for position in 1..=head {
        store.execute("INSERT INTO events VALUES (?1)", [position])?;
    }
    let (id, _) = lineage::store_identity(&dir.join("events.db"))?;
    let read = Connection::open(dir.join("read.db"))?;
    read.execute_batch(
        "CREATE TABLE view_position (position INTEGER NOT NULL);
         CREATE TABLE order_views (order_id TEXT NOT NULL);
         INSERT INTO order_views VALUES ('o-1');",
    )?;
    read.execute("INSERT INTO view_position VALUES (?1)", [head])?;
    lineage::stamp(&dir.join("read.db"), &id)?;
    Ok(())
}

/// What the running processes do: one more event, and the read models follow it.
fn the_others_move_on(dir: &Path) -> TestResult {
    let store = Connection::open(dir.join("events.db"))?;
    let head: u64 = store.query_row("SELECT MAX(position) FROM events", [], |r| r.get(0))?;
    store.execute("INSERT INTO events VALUES (?1)", [head + 1])?;
    Connection::open(dir.join("read.db"))?
        .execute("UPDATE view_position SET position = ?1", [head + 1])?;
    Ok(())
}

fn orders_in_read_models(dir: &Path) -> Result<u64, Box<dyn std::error::Error>> {
    let read = Connection::open(dir.join("read.db"))?;
    let has_table: bool = read.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'order_views')",
        [],
        |r| r.get(0),
    )?;
    if !has_table {
        return Ok(0);
    }
    Ok(read.query_row("SELECT COUNT(*) FROM order_views", [], |r| r.get(0))?)
}

#[tokio::test]
async fn a_process_started_beside_running_ones_keeps_their_read_models_when_they_move_on()
-> TestResult {
    let dir = tempfile::tempdir()?;
    deployment_at(dir.path(), 5)?;

    // The store and the read models move on right after this process read the head.
    check_with(&settings(dir.path())?, |events| {
        let seen = lineage::store_identity(events)?;
        the_others_move_on(dir.path()).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(seen)
    })
    .await?;

    assert_eq!(
        orders_in_read_models(dir.path())?,
        1,
        "the read models were dropped beneath the running processes"
    );
    Ok(())
}

#[tokio::test]
async fn read_models_ahead_of_the_store_are_made_again() -> TestResult {
    let dir = tempfile::tempdir()?;
    deployment_at(dir.path(), 5)?;
    Connection::open(dir.path().join("events.db"))?
        .execute("DELETE FROM events WHERE position > 3", [])?;

    check(&settings(dir.path())?).await?;

    assert_eq!(orders_in_read_models(dir.path())?, 0);
    Ok(())
}

#[tokio::test]
async fn a_bus_ahead_of_the_store_is_made_again_with_the_analytics_counted_from_it() -> TestResult {
    let dir = tempfile::tempdir()?;
    deployment_at(dir.path(), 3)?;
    let bus = SqliteBus::open(&dir.path().join("bus.db"))?;
    bus.publish(vec![orderflow_core::bus::OutgoingRecord {
        topic: "orders".into(),
        key: "o-1".into(),
        value: vec![],
        headers: vec![("position".into(), b"5".to_vec())],
        timestamp: chrono::Utc::now(),
    }])
    .await?;
    drop(bus);
    let (id, _) = lineage::store_identity(&dir.path().join("events.db"))?;
    lineage::stamp(&dir.path().join("bus.db"), &id)?;

    check(&settings(dir.path())?).await?;

    let records: u64 = SqliteBus::open(&dir.path().join("bus.db"))?
        .end_offsets("orders")
        .await?
        .iter()
        .map(|(_, end)| end)
        .sum();
    assert_eq!(records, 0, "the bus kept events the store does not have");
    assert_eq!(orders_in_read_models(dir.path())?, 0);
    Ok(())
}

/// Replaces the event store with another one (another identity) at the same head.
fn another_store_at(dir: &Path, head: u64) -> TestResult {
    std::fs::remove_file(dir.join("events.db"))?;
    let store = Connection::open(dir.join("events.db"))?;
    store.execute_batch("CREATE TABLE events (position INTEGER PRIMARY KEY)")?;
    for position in 1..=head {
        store.execute("INSERT INTO events VALUES (?1)", [position])?;
    }
    Ok(())
}

#[tokio::test]
async fn read_models_made_from_another_store_are_made_again() -> TestResult {
    let dir = tempfile::tempdir()?;
    deployment_at(dir.path(), 5)?;
    // Neither behind nor ahead: only the store they were made from tells them apart.
    another_store_at(dir.path(), 5)?;

    check(&settings(dir.path())?).await?;

    assert_eq!(orders_in_read_models(dir.path())?, 0);
    let (store, _) = lineage::store_identity(&dir.path().join("events.db"))?;
    let stamp = lineage::derived(&dir.path().join("read.db"), READ_TABLES)?;
    assert_eq!(stamp.and_then(|d| d.store), Some(store), "not stamped anew");
    Ok(())
}

#[tokio::test]
async fn an_empty_event_store_beside_read_models_is_refused_like_a_missing_one() -> TestResult {
    for (lost, said) in [("missing", "is missing"), ("0 bytes", "is empty (0 bytes)")] {
        let dir = tempfile::tempdir()?;
        deployment_at(dir.path(), 3)?;
        let events = dir.path().join("events.db");
        std::fs::remove_file(&events)?;
        if lost == "0 bytes" {
            std::fs::File::create(&events)?;
        }

        let refused = check(&settings(dir.path())?).await;

        let message = format!("{:#}", refused.err().ok_or(format!("{lost}: accepted"))?);
        assert!(
            message.contains(&format!("{} {said}", events.display()))
                && message.contains("--discard-derived-data"),
            "{lost}: {message}"
        );
        assert_eq!(orders_in_read_models(dir.path())?, 1, "{lost}: discarded");
    }
    Ok(())
}
