//! Embedded bus behaviour beyond the shared contract.

use chrono::Utc;

use super::*;

/// A record on `orders` with this key and value, stamped `age_hours` ago.
pub(super) fn aged(key: &str, value: &str, age_hours: i64) -> OutgoingRecord {
    OutgoingRecord {
        topic: "orders".into(),
        key: key.into(),
        value: value.as_bytes().to_vec(),
        headers: vec![],
        timestamp: Utc::now() - chrono::Duration::hours(age_hours),
    }
}

/// The bus's commits are left to the page cache (`synchronous=NORMAL`, 1), and a flush
/// does not leave its writer syncing every commit (`FULL`, 2) afterwards.
#[tokio::test]
async fn bus_commits_are_not_synced_one_by_one_and_stay_so_after_a_flush()
-> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let bus = SqliteBus::open(&dir.path().join("bus.db"))?;
    let synchronous = |bus: &SqliteBus| {
        lock(&bus.shared.writer).pragma_query_value(None, "synchronous", |r| r.get::<_, i64>(0))
    };
    assert_eq!(synchronous(&bus)?, 1);
    bus.publish(vec![aged("k", "v", 0)]).await?;
    bus.flush().await?;
    assert_eq!(synchronous(&bus)?, 1);
    let flushed: i64 =
        lock(&bus.shared.writer).query_row("SELECT count(*) FROM flushes", [], |r| r.get(0))?;
    assert_eq!(flushed, 1);
    Ok(())
}

/// The bus knows itself: the same file keeps its identity, a lost or emptied one gets
/// a new one (the relay then publishes the store to it again).
#[tokio::test]
async fn a_bus_file_keeps_its_identity_and_a_new_or_emptied_file_gets_another()
-> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("bus.db");
    let first = SqliteBus::open(&path)?
        .identity()
        .await?
        .ok_or("no identity")?;
    let again = SqliteBus::open(&path)?
        .identity()
        .await?
        .ok_or("no identity")?;
    assert_eq!(first, again);
    for entry in std::fs::read_dir(dir.path())? {
        std::fs::OpenOptions::new()
            .write(true)
            .open(entry?.path())?
            .set_len(0)?;
    }
    let emptied = SqliteBus::open(&path)?
        .identity()
        .await?
        .ok_or("no identity")?;
    assert_ne!(first, emptied);
    Ok(())
}
