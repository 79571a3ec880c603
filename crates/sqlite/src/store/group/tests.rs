use std::sync::Arc;

use orderflow_core::contract::group_commit::join_all;

use super::*;

fn writer() -> Result<(GroupWriter, tempfile::TempDir), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let conn = crate::db::open(&dir.path().join("group.db"))?;
    conn.execute_batch("CREATE TABLE t (v INTEGER NOT NULL UNIQUE)")?;
    Ok((GroupWriter::new(conn), dir))
}

fn insert(v: i64) -> impl FnOnce(&Connection) -> rusqlite::Result<usize> + Send + 'static {
    move |conn| conn.execute("INSERT INTO t (v) VALUES (?1)", [v])
}

#[tokio::test]
async fn a_failing_write_rolls_back_only_itself() -> Result<(), Box<dyn std::error::Error>> {
    let (writer, _dir) = writer()?;
    let writer = Arc::new(writer);
    // Many writes at once, so they share groups; every third one breaks the unique
    // constraint after inserting a row of its own, which must not stay.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..300i64 {
        let writer = writer.clone();
        tasks.spawn(async move {
            writer
                .write(move |conn| {
                    conn.execute("INSERT INTO t (v) VALUES (?1)", [1000 + i])?;
                    if i % 3 == 0 {
                        conn.execute("INSERT INTO t (v) VALUES (?1)", [1000 + i])?;
                    }
                    Ok::<_, rusqlite::Error>(i)
                })
                .await
        });
    }
    let mut failed = 0;
    while let Some(result) = tasks.join_next().await {
        match result? {
            Ok(i) => assert_ne!(i % 3, 0),
            Err(WriteError::Write(_)) => failed += 1,
            Err(other) => return Err(other.into()),
        }
    }
    assert_eq!(failed, 100);
    let rows: i64 = writer
        .write(|conn| conn.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0)))
        .await?;
    assert_eq!(rows, 200);
    Ok(())
}

/// Runs `writes` as one group: a first write holds the writer until all of them
/// are queued behind it.
async fn in_one_group<T>(
    writer: &GroupWriter,
    writes: impl std::future::Future<Output = T>,
) -> Result<T, Box<dyn std::error::Error>> {
    let (started, running) = oneshot::channel();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let holder = tokio::spawn({
        let writer = writer.clone();
        async move {
            writer
                .write(move |_| {
                    let _ = started.send(());
                    released.recv()
                })
                .await
        }
    });
    running.await?;
    // `join!` polls the writes first, and each queues itself on its first poll.
    let (results, ()) = tokio::join!(writes, async { release.send(()).unwrap_or(()) });
    holder.await??;
    Ok(results)
}

fn rows(writer_dir: &tempfile::TempDir) -> Result<Vec<i64>, Box<dyn std::error::Error>> {
    let reader = crate::db::open(&writer_dir.path().join("group.db"))?;
    let mut stmt = reader.prepare("SELECT v FROM t ORDER BY v")?;
    Ok(stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?)
}

#[tokio::test]
async fn a_checked_write_refused_before_it_changed_anything_fails_only_itself()
-> Result<(), Box<dyn std::error::Error>> {
    let (writer, dir) = writer()?;
    let refused = |conn: &Connection| -> rusqlite::Result<usize> {
        conn.query_row("SELECT no_such_column FROM t", [], |r| r.get(0))
    };
    let (first, second, third) = in_one_group(&writer, async {
        tokio::join!(
            writer.write_checked(insert(1)),
            writer.write_checked(refused),
            writer.write_checked(insert(3)),
        )
    })
    .await?;
    assert!(first.is_ok() && third.is_ok());
    assert!(matches!(second, Err(WriteError::Write(_))), "{second:?}");
    assert_eq!(rows(&dir)?, [1, 3]);
    Ok(())
}

#[tokio::test]
async fn a_checked_write_that_fails_after_changing_rows_fails_its_whole_group()
-> Result<(), Box<dyn std::error::Error>> {
    let (writer, dir) = writer()?;
    let half_done = |conn: &Connection| -> rusqlite::Result<usize> {
        conn.execute("INSERT INTO t (v) VALUES (2)", [])?;
        conn.execute("INSERT INTO t (v) VALUES (2)", [])
    };
    let (first, second, third) = in_one_group(&writer, async {
        tokio::join!(
            writer.write_checked(insert(1)),
            writer.write_checked(half_done),
            writer.write_checked(insert(3)),
        )
    })
    .await?;
    assert!(matches!(first, Err(WriteError::Group(_))), "{first:?}");
    assert!(matches!(second, Err(WriteError::Write(_))), "{second:?}");
    assert!(matches!(third, Err(WriteError::Group(_))), "{third:?}");
    assert!(rows(&dir)?.is_empty(), "nothing of the group stays");
    // The writer goes on.
    writer.write_checked(insert(4)).await?;
    assert_eq!(rows(&dir)?, [4]);
    Ok(())
}

/// Callers commit for each other on a multi-threaded runtime: every write is
/// committed, including those queued while another caller held the connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_from_many_tasks_is_committed() -> Result<(), Box<dyn std::error::Error>> {
    let (writer, dir) = writer()?;
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..64i64 {
        let writer = writer.clone();
        tasks.spawn(async move {
            for i in 0..50 {
                writer.write_checked(insert(task * 1000 + i)).await?;
            }
            Ok::<_, WriteError<rusqlite::Error>>(())
        });
    }
    let all_done = async {
        while let Some(done) = tasks.join_next().await {
            done??;
        }
        Ok::<_, Box<dyn std::error::Error>>(())
    };
    // Generous: a write left behind in the queue would wait forever.
    tokio::time::timeout(std::time::Duration::from_secs(60), all_done)
        .await
        .map_err(|_| "a write was never committed")??;
    assert_eq!(rows(&dir)?.len(), 64 * 50);
    Ok(())
}

#[tokio::test]
async fn a_write_that_panics_does_not_stop_the_writer() -> Result<(), Box<dyn std::error::Error>> {
    let (writer, dir) = writer()?;
    let panicked = writer
        .write(|_| -> rusqlite::Result<()> { panic!("a bug in a write") })
        .await;
    assert!(matches!(panicked, Err(WriteError::Stopped)), "{panicked:?}");
    tokio::time::timeout(std::time::Duration::from_secs(60), writer.write(insert(5)))
        .await
        .map_err(|_| "the writer stopped after a panic")??;
    assert_eq!(rows(&dir)?, [5]);
    Ok(())
}

#[tokio::test]
async fn a_write_returns_after_its_commit() -> Result<(), Box<dyn std::error::Error>> {
    let (writer, dir) = writer()?;
    writer.write(insert(7)).await?;
    let reader = crate::db::open(&dir.path().join("group.db"))?;
    let seen: i64 = reader.query_row("SELECT v FROM t", [], |r| r.get(0))?;
    assert_eq!(seen, 7);
    Ok(())
}

#[tokio::test]
async fn a_group_of_concurrent_writes_is_counted_as_one_commit_of_them_all()
-> Result<(), Box<dyn std::error::Error>> {
    let (writer, _dir) = writer()?;
    let before = writer.stats();
    let results = in_one_group(&writer, async {
        join_all((0..10).map(|v| writer.write_checked(insert(v)))).await
    })
    .await?;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let counted = writer.stats().since(&before);
    // The holder's group of one, then the ten queued behind it in one group.
    assert_eq!(
        (
            counted.commits_total,
            counted.writes_total,
            counted.failures_total
        ),
        (2, 11, 0)
    );
    assert_eq!(counted.mean_group_size(), Some(5.5));
    assert_eq!(counted.commit_seconds_counts.iter().sum::<u64>(), 2);
    Ok(())
}

#[tokio::test]
async fn a_group_that_fails_is_counted_as_a_failed_commit() -> Result<(), Box<dyn std::error::Error>>
{
    let (writer, _dir) = writer()?;
    let half_done = |conn: &Connection| -> rusqlite::Result<usize> {
        conn.execute("INSERT INTO t (v) VALUES (2)", [])?;
        conn.execute("INSERT INTO t (v) VALUES (2)", [])
    };
    assert!(writer.write_checked(half_done).await.is_err());
    writer.write_checked(insert(3)).await?;
    let stats = writer.stats();
    assert_eq!(
        (
            stats.commits_total,
            stats.writes_total,
            stats.failures_total
        ),
        (2, 2, 1)
    );
    Ok(())
}
