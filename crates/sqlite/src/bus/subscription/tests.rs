//! Subscriptions beyond the shared contract: a start that races a publish, and the
//! query a poll runs.

use std::time::Duration;

use chrono::Utc;
use orderflow_core::bus::{EventBus, OutgoingRecord, StartFrom};

use super::*;
use crate::bus::SqliteBus;

/// A group that has handled everything restarts while the relay publishes: each
/// record published after its commit is at or after its committed offset, so it
/// must arrive, however the subscription and the publish interleave.
#[tokio::test]
async fn a_group_subscribing_while_a_record_is_published_misses_none()
-> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let bus = SqliteBus::open(&dir.path().join("bus.db"))?;
    for round in 0..200 {
        // Caught up: committed at the end of every partition.
        bus.reset_offsets("g", &["orders"], StartFrom::Latest)
            .await?;
        let publisher = tokio::spawn({
            let bus = bus.clone();
            async move {
                bus.publish(vec![OutgoingRecord {
                    topic: "orders".into(),
                    key: format!("k-{round}"),
                    value: b"v".to_vec(),
                    headers: vec![],
                    timestamp: Utc::now(),
                }])
                .await
            }
        });
        let mut sub = bus.subscribe("g", &["orders"], StartFrom::Earliest).await?;
        publisher.await??;
        // The record is committed before this poll: one fetch finds it, or it was
        // skipped.
        let got = sub.poll(10, Duration::ZERO).await?;
        let keys: Vec<&str> = got.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, [format!("k-{round}")], "round {round}");
    }
    Ok(())
}

/// A poll must cost what is new since the cursor, not what the topics hold: a plan
/// through a topic index reads and sorts the topics' whole retained history each time.
#[test]
fn a_poll_walks_the_log_from_its_cursor_instead_of_the_topics_whole_history()
-> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let bus = SqliteBus::open(&dir.path().join("bus.db"))?;
    let conn = lock(&bus.shared.writer);
    for topics in 1..=3 {
        let sql = format!("EXPLAIN QUERY PLAN {}", fetch_sql(topics));
        let mut args: Vec<rusqlite::types::Value> = vec![0i64.into()];
        args.extend((0..topics).map(|t| rusqlite::types::Value::from(format!("topic-{t}"))));
        args.push(10i64.into());
        let plan: Vec<String> = conn
            .prepare(&sql)?
            .query_map(rusqlite::params_from_iter(args), |r| r.get(3))?
            .collect::<Result<_, _>>()?;
        assert_eq!(
            plan,
            ["SEARCH records USING INTEGER PRIMARY KEY (rowid>?)"],
            "{topics} topics"
        );
    }
    Ok(())
}
