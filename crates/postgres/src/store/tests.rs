use orderflow_core::store::ExpectedVersion;
use sqlx::Connection;
use uuid::Uuid;

use super::*;
use crate::test_schema::{TestSchema, database_url};

/// A store in a schema of its own, dropped when the test ends.
pub(super) async fn fresh_store() -> (PgEventStore, TestSchema) {
    let schema = TestSchema::create()
        .await
        .expect("a schema of the test's own");
    let store = PgEventStore::connect(&database_url(), &schema.settings())
        .await
        .expect("connect");
    (store, schema)
}

mod contract {
    orderflow_core::event_store_contract!(super::fresh_store());
}

mod import_contract {
    orderflow_core::event_import_contract!(super::fresh_store());
}

impl orderflow_core::contract::group_commit::CountsCommits for PgEventStore {
    fn commit_stats(&self) -> orderflow_core::commit_stats::GroupCommitStats {
        PgEventStore::commit_stats(self)
    }
}

mod group_commit_contract {
    orderflow_core::group_commit_contract!(super::fresh_store());
}

/// A request to append one event to `stream`.
pub(super) fn request(stream: &str, expected: ExpectedVersion) -> AppendRequest {
    orderflow_core::contract::store::request(stream, expected, 1)
}

/// A writer following the store's protocol that has taken a position and not yet
/// committed: it holds the shared append lock and an inserted row.
async fn open_append(
    store: &PgEventStore,
    stream: &str,
) -> Result<(sqlx::Transaction<'static, sqlx::Postgres>, u64), sqlx::Error> {
    let mut tx = store.pool().begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock_shared($1)")
        .bind(APPEND_LOCK)
        .execute(&mut *tx)
        .await?;
    let position: i64 = sqlx::query_scalar(
        "INSERT INTO events (stream_id, version, event_id, event_type, schema_id, payload, \
         occurred_at, correlation_id, actor) \
         VALUES ($1, 1, $2, 'Test', 1, '\\x00', now(), $1, 'test') RETURNING position",
    )
    .bind(stream)
    .bind(Uuid::new_v4())
    .fetch_one(&mut *tx)
    .await?;
    Ok((tx, position as u64))
}

/// Each event's stream and position, in the order read.
fn streams_and_positions(events: &[StoredEvent]) -> Vec<(&str, u64)> {
    events
        .iter()
        .map(|e| (e.stream_id.as_str(), e.position))
        .collect()
}

/// The server process behind a connection.
async fn backend_pid(conn: &mut sqlx::PgConnection) -> Result<i32, sqlx::Error> {
    sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(conn)
        .await
}

/// Waits until the backend `waiter` waits for an advisory lock that the backend
/// `holder` holds. Any other session's wait, in this test or another running beside it,
/// does not count.
async fn until_waiting_for(
    reader: &tokio::task::JoinHandle<Result<Vec<StoredEvent>, StoreError>>,
    waiter: i32,
    holder: i32,
) -> Result<(), Box<dyn std::error::Error>> {
    let waiting = "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = $1 \
                   AND locktype = 'advisory' AND NOT granted \
                   AND $2 = ANY (pg_blocking_pids($1)))";
    let mut conn = sqlx::PgConnection::connect(&database_url()).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !sqlx::query_scalar::<_, bool>(waiting)
        .bind(waiter)
        .bind(holder)
        .fetch_one(&mut conn)
        .await?
    {
        assert!(
            !reader.is_finished(),
            "the reader returned without waiting for the append in flight"
        );
        assert!(
            tokio::time::Instant::now() < deadline,
            "the reader never waited for the append in flight"
        );
        tokio::task::yield_now().await;
    }
    conn.close().await?;
    Ok(())
}

#[tokio::test]
async fn a_reader_never_skips_a_position_that_commits_late()
-> Result<(), Box<dyn std::error::Error>> {
    let (store, schema) = fresh_store().await;
    let (mut slow, slow_position) = open_append(&store, "slow").await?;
    let slow_pid = backend_pid(&mut slow).await?;

    // A later append takes a higher position and commits first: appends do not wait for
    // one another.
    let fast_position = store
        .append(vec![request("fast", ExpectedVersion::NoStream)])
        .await?[0]
        .position;
    assert!(fast_position > slow_position);

    // A reader of one connection, so that its wait can be told from any other.
    let reader = PgEventStore::connect(
        &database_url(),
        &PoolSettings {
            max_connections: 1,
            ..schema.settings()
        },
    )
    .await?;
    let reader_pid = backend_pid(&mut *reader.pool().acquire().await?).await?;
    // It sees the hole below the committed append and waits for the slow one.
    let reader = tokio::spawn(async move { reader.read_all(0, 10).await });
    until_waiting_for(&reader, reader_pid, slow_pid).await?;
    assert!(!reader.is_finished(), "the reader moved past the hole");

    slow.commit().await?;
    let all = reader.await??;
    assert_eq!(
        streams_and_positions(&all),
        [("slow", slow_position), ("fast", fast_position)]
    );
    Ok(())
}

/// Two services append about one order at once: the event that took the lower position
/// commits last. A caller that read the order in between (seeing only the higher one)
/// must still get the late one when it reads what it has not seen.
#[tokio::test]
async fn a_correlation_read_since_a_position_includes_an_event_that_committed_late_below_it()
-> Result<(), Box<dyn std::error::Error>> {
    let (store, _schema) = fresh_store().await;
    let (slow, slow_position) = open_append(&store, "order-7").await?;
    let mut fast = request("payment-7", ExpectedVersion::NoStream);
    fast.events[0].correlation_id = "order-7".into();
    let fast_position = store.append(vec![fast]).await?[0].position;
    assert!(fast_position > slow_position);

    let earlier = store.read_correlated("order-7").await?;
    assert_eq!(
        streams_and_positions(&earlier),
        [("payment-7", fast_position)]
    );
    slow.commit().await?;

    let since = store
        .read_correlated_since("order-7", fast_position)
        .await?;
    assert!(
        since.iter().any(|e| e.position == slow_position),
        "the late event was skipped: {:?}",
        streams_and_positions(&since)
    );
    Ok(())
}

#[tokio::test]
async fn a_reader_passes_the_hole_a_rolled_back_append_leaves()
-> Result<(), Box<dyn std::error::Error>> {
    let (store, _schema) = fresh_store().await;
    let (aborted, _) = open_append(&store, "aborted").await?;
    let fast_position = store
        .append(vec![request("fast", ExpectedVersion::NoStream)])
        .await?[0]
        .position;
    aborted.rollback().await?;

    let all = store.read_all(0, 10).await?;
    assert_eq!(streams_and_positions(&all), [("fast", fast_position)]);
    Ok(())
}

#[tokio::test]
async fn a_reader_of_positions_without_holes_does_not_wait_for_appends_in_flight()
-> Result<(), Box<dyn std::error::Error>> {
    let (store, _schema) = fresh_store().await;
    let first = store
        .append(vec![request("first", ExpectedVersion::NoStream)])
        .await?[0]
        .position;
    // In flight above everything committed: no reader can skip it.
    let (in_flight, _) = open_append(&store, "in-flight").await?;
    // Waiting would last until the rollback below, which comes after: a deadlock.
    let all = tokio::time::timeout(Duration::from_secs(30), store.read_all(0, 10))
        .await
        .map_err(|_| "the reader waited for an append that could not skip")??;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].position, first);
    in_flight.rollback().await?;
    Ok(())
}

#[tokio::test]
async fn concurrent_appends_from_separate_connections_have_one_winner_and_typed_conflicts()
-> Result<(), Box<dyn std::error::Error>> {
    let (store, schema) = fresh_store().await;
    store
        .append(vec![request("hot", ExpectedVersion::NoStream)])
        .await?;
    // Eight independent pools: to PostgreSQL, eight separate processes.
    let mut writers = Vec::new();
    for _ in 0..8 {
        let settings = PoolSettings {
            max_connections: 1,
            ..schema.settings()
        };
        writers.push(PgEventStore::connect(&database_url(), &settings).await?);
    }
    let tasks: Vec<_> = writers
        .into_iter()
        .map(|w| {
            tokio::spawn(async move {
                w.append(vec![request("hot", ExpectedVersion::Exact(1))])
                    .await
            })
        })
        .collect();
    let mut wins = 0;
    for task in tasks {
        match task.await? {
            Ok(_) => wins += 1,
            Err(e) => assert!(e.is_conflict(), "{e:?}"),
        }
    }
    assert_eq!(wins, 1);
    Ok(())
}

#[tokio::test]
async fn an_expectation_ahead_of_the_stream_is_a_conflict_not_a_gap()
-> Result<(), Box<dyn std::error::Error>> {
    let (store, _schema) = fresh_store().await;
    store
        .append(vec![request("s", ExpectedVersion::NoStream)])
        .await?;
    let err = store
        .append(vec![request("s", ExpectedVersion::Exact(3))])
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "{err:?}");
    let appended = store
        .append(vec![request("s", ExpectedVersion::Exact(1))])
        .await?;
    assert_eq!(appended[0].version, 2, "no gap was left");
    Ok(())
}

#[tokio::test]
async fn a_refused_request_does_not_hold_up_the_others_committed_with_it()
-> Result<(), Box<dyn std::error::Error>> {
    let (store, _schema) = fresh_store().await;
    let store = std::sync::Arc::new(store);
    store
        .append(vec![request("taken", ExpectedVersion::NoStream)])
        .await?;
    // Appends waiting at the same moment share a group commit.
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let r = if i == 7 {
                    request("taken", ExpectedVersion::NoStream)
                } else {
                    request(&format!("fresh-{i}"), ExpectedVersion::Any)
                };
                store.append(vec![r]).await
            })
        })
        .collect();
    let mut conflicts = 0;
    for task in tasks {
        match task.await? {
            Ok(appended) => assert_eq!(appended[0].version, 1),
            Err(e) => {
                assert!(e.is_conflict(), "{e:?}");
                conflicts += 1;
            }
        }
    }
    assert_eq!(conflicts, 1);
    Ok(())
}

mod schema_store_contract {
    orderflow_core::schema_store_contract!(async {
        let (store, schema) = super::fresh_store().await;
        (crate::PgSchemaStore::new(store.pool().clone()), schema)
    });
}

mod read_model_generations_contract {
    orderflow_core::read_model_generations_contract!(async {
        let (store, schema) = super::fresh_store().await;
        (
            crate::PgGenerations::new(store.pool().clone()),
            crate::PgReadModel::new(store.pool().clone()),
            schema,
        )
    });
}

mod read_model_contract {
    orderflow_core::read_model_contract!(async {
        let (store, schema) = super::fresh_store().await;
        (crate::PgReadModel::new(store.pool().clone()), schema)
    });
}
