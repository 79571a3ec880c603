//! Group commit for small writes: a writer thread runs every write waiting in its queue
//! in one transaction, each in a savepoint of its own, so a burst of small writes from
//! many tasks (appends from 64 consumer lanes, an analytics update per event) shares one
//! commit and its fsync instead of taking turns for one each. A write that fails rolls
//! back only its own savepoint; a commit that fails fails every write of the group.

use std::sync::mpsc;

use orderflow_core::store::StoreError;
use rusqlite::Connection;
use tokio::sync::oneshot;

/// Largest number of writes committed in one transaction.
const MAX_GROUP: usize = 512;

/// Reports a write's result once the group's commit is known.
type Done = Box<dyn FnOnce(Result<(), &rusqlite::Error>) + Send>;
/// A queued write: runs in its savepoint (or learns that the group's transaction could
/// not begin), says whether it succeeded, and hands back how to report its result.
type Work = Box<dyn FnOnce(Result<&Connection, &rusqlite::Error>) -> (bool, Done) + Send>;

/// Why a write did not take effect.
#[derive(Debug, thiserror::Error)]
pub enum WriteError<E> {
    #[error(transparent)]
    Write(E),
    #[error("the group's transaction failed: {0}")]
    Group(String),
    #[error("the writer thread has stopped")]
    Stopped,
}

/// For the port methods that write through a group: the write's own error is theirs
/// to report; a group that could not commit, or a stopped writer, leaves the store
/// unavailable.
impl<E: Into<StoreError> + std::fmt::Display> From<WriteError<E>> for StoreError {
    fn from(e: WriteError<E>) -> Self {
        match e {
            WriteError::Write(e) => e.into(),
            other => StoreError::Unavailable(other.to_string().into()),
        }
    }
}

/// The handle to one file's writer thread.
#[derive(Debug, Clone)]
pub struct GroupWriter {
    jobs: mpsc::Sender<Work>,
}

impl GroupWriter {
    /// Starts the writer thread, which owns `conn` from now on.
    pub fn spawn(conn: Connection, name: &str) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || run(conn, &queue))?;
        Ok(Self { jobs })
    }

    /// Runs `f` inside a transaction shared with the other writes waiting now; returns
    /// its result once that transaction has committed.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, WriteError<E>>
    where
        T: Send + 'static,
        E: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let work: Work = Box::new(move |conn| {
            let result = match conn {
                Ok(conn) => f(conn).map_err(WriteError::Write),
                Err(e) => Err(WriteError::Group(e.to_string())),
            };
            let ok = result.is_ok();
            let done: Done = Box::new(move |commit| {
                let _ = reply.send(match (result, commit) {
                    (Ok(_), Err(e)) => Err(WriteError::Group(e.to_string())),
                    (result, _) => result,
                });
            });
            (ok, done)
        });
        self.jobs.send(work).map_err(|_| WriteError::Stopped)?;
        answer.await.map_err(|_| WriteError::Stopped)?
    }
}

/// After a commit, how long the writer looks for the next write before it sleeps.
const LINGER: std::time::Duration = std::time::Duration::from_micros(30);

/// The next write: taken at once if one is queued or arrives within [`LINGER`] (a
/// writer that has just been answered usually sends its next write within
/// microseconds, and catching it here spares a sleep and a wake-up on each side),
/// otherwise waited for.
fn next(queue: &mpsc::Receiver<Work>) -> Option<Work> {
    let until = std::time::Instant::now() + LINGER;
    loop {
        match queue.try_recv() {
            Ok(work) => return Some(work),
            Err(mpsc::TryRecvError::Disconnected) => return None,
            Err(mpsc::TryRecvError::Empty) if std::time::Instant::now() < until => {
                std::thread::yield_now();
            }
            Err(mpsc::TryRecvError::Empty) => return queue.recv().ok(),
        }
    }
}

fn run(mut conn: Connection, queue: &mpsc::Receiver<Work>) {
    while let Some(first) = next(queue) {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(work) => group.push(work),
                Err(_) => break,
            }
        }
        let mut done = Vec::with_capacity(group.len());
        let committed =
            match conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate) {
                Err(e) => {
                    done.extend(group.into_iter().map(|work| work(Err(&e)).1));
                    Err(e)
                }
                Ok(tx) => (|| {
                    // Savepoints through cached statements: `Connection::savepoint` parses
                    // its SQL every time.
                    let run = |sql: &str| {
                        tx.prepare_cached(sql)
                            .and_then(|mut s| s.execute([]))
                            .map(drop)
                    };
                    for work in group {
                        run("SAVEPOINT write")?;
                        let (ok, report) = work(Ok(&tx));
                        done.push(report);
                        if !ok {
                            run("ROLLBACK TO write")?;
                        }
                        run("RELEASE write")?;
                    }
                    tx.commit()
                })(),
            };
        for report in done {
            report(committed.as_ref().map(|_| ()));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn writer() -> Result<(GroupWriter, tempfile::TempDir), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let conn = crate::db::open(&dir.path().join("group.db"))?;
        conn.execute_batch("CREATE TABLE t (v INTEGER NOT NULL UNIQUE)")?;
        Ok((GroupWriter::spawn(conn, "test-writer")?, dir))
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

    #[tokio::test]
    async fn a_write_returns_after_its_commit() -> Result<(), Box<dyn std::error::Error>> {
        let (writer, dir) = writer()?;
        writer.write(insert(7)).await?;
        let reader = crate::db::open(&dir.path().join("group.db"))?;
        let seen: i64 = reader.query_row("SELECT v FROM t", [], |r| r.get(0))?;
        assert_eq!(seen, 7);
        Ok(())
    }
}
