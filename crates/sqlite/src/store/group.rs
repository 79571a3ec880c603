//! Group commit for small writes: the writes waiting at the same moment run in one
//! transaction, so a burst of small writes from many tasks (appends from 64 consumer
//! lanes, an analytics update per event) shares one commit and its fsync instead of
//! taking turns for one each.
//!
//! There is no writer thread. A write joins the queue, and if nobody holds the
//! connection, its caller commits the queue itself, on its own thread
//! (`block_in_place`). So an append with nobody else around goes from its caller to
//! the disk and back with no hand-off to another thread and no wake-up for the answer,
//! which made an uncontended append cost noticeably more than the same SQL run inline.
//! Writes that queue while the connection is held are committed by the holder: a caller
//! commits one group, the one with its own write, and if more writes are waiting then,
//! a blocking-pool task goes on committing them, so a caller never waits for others'
//! writes.
//!
//! A failed write takes nothing of its own into the commit, and does not hold up the
//! others:
//!
//! - [`GroupWriter::write`] runs the write in a savepoint and rolls back to it when the
//!   write fails, whatever it changed first;
//! - [`GroupWriter::write_checked`] is for writes that check everything they can fail on
//!   before they change anything (an append checks versions and event ids, then
//!   inserts). They run without a savepoint: under one, SQLite copies every page the
//!   write touches into a statement journal before changing it, a visible share of a
//!   small append's cost. If such a write fails after it changed rows anyway (an I/O
//!   error half-way), the whole group rolls back and every write in it fails, as when
//!   the commit fails.
//!
//! The writer counts its own commits ([`GroupWriter::stats`]): groups, the writes they
//! carried, and how long each commit took, in atomics.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::time::Instant;

use orderflow_core::commit_stats::{GroupCommitCounters, GroupCommitStats};
use orderflow_core::store::StoreError;
use rusqlite::Connection;
use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::sync::oneshot;

/// Largest number of writes committed in one transaction.
const MAX_GROUP: usize = 512;

/// Reports a write's result once the group's commit is known.
type Done = Box<dyn FnOnce(Result<(), &rusqlite::Error>) + Send>;
/// A queued write: runs in the group's transaction (or learns that it could not begin),
/// says whether it succeeded, and hands back how to report its result.
type Run = Box<dyn FnOnce(Result<&Connection, &rusqlite::Error>) -> (bool, Done) + Send>;

struct Work {
    /// Whether the write runs in a savepoint of its own.
    guarded: bool,
    run: Run,
}

/// Why a write did not take effect.
#[derive(Debug, thiserror::Error)]
pub enum WriteError<E> {
    #[error(transparent)]
    Write(E),
    #[error("the group's transaction failed: {0}")]
    Group(String),
    #[error("the write was dropped before its group committed")]
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

/// The handle to one file's group writer.
#[derive(Clone)]
pub struct GroupWriter {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for GroupWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupWriter").finish_non_exhaustive()
    }
}

struct Shared {
    conn: Mutex<Connection>,
    queue: Mutex<VecDeque<Work>>,
    counters: GroupCommitCounters,
}

impl GroupWriter {
    /// A group writer on `conn`, which it owns from now on.
    pub fn new(conn: Connection) -> Self {
        Self {
            shared: Arc::new(Shared {
                conn: Mutex::new(conn),
                queue: Mutex::default(),
                counters: GroupCommitCounters::default(),
            }),
        }
    }

    /// What this writer's group commits did so far: how many, how many writes they
    /// carried, how long they took.
    pub fn stats(&self) -> GroupCommitStats {
        self.shared.counters.snapshot()
    }

    /// Runs `f` inside a transaction shared with the other writes waiting now, in a
    /// savepoint of its own; returns its result once that transaction has committed.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, WriteError<E>>
    where
        T: Send + 'static,
        E: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    {
        self.queue(true, f).await
    }

    /// Like [`write`](Self::write), without a savepoint: for a write `f` that returns
    /// its errors before it changes anything. Should it fail after changing rows all
    /// the same, its whole group fails.
    pub async fn write_checked<T, E, F>(&self, f: F) -> Result<T, WriteError<E>>
    where
        T: Send + 'static,
        E: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    {
        self.queue(false, f).await
    }

    async fn queue<T, E, F>(&self, guarded: bool, f: F) -> Result<T, WriteError<E>>
    where
        T: Send + 'static,
        E: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let run: Run = Box::new(move |conn| {
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
        lock(&self.shared.queue).push_back(Work { guarded, run });
        if Handle::current().runtime_flavor() == RuntimeFlavor::MultiThread {
            if let Some(conn) = self.shared.try_conn() {
                tokio::task::block_in_place(|| self.shared.lead(conn));
            }
        } else {
            // No `block_in_place` on a single-threaded runtime: a blocking task commits.
            self.shared.hand_on();
        }
        answer.await.map_err(|_| WriteError::Stopped)?
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    /// The connection, unless another caller holds it. A write that panicked left the
    /// mutex poisoned, and its transaction rolled back as it unwound: the connection
    /// is fine to use.
    fn try_conn(&self) -> Option<MutexGuard<'_, Connection>> {
        match self.conn.try_lock() {
            Ok(conn) => Some(conn),
            Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }

    fn next_group(&self) -> Vec<Work> {
        let mut queue = lock(&self.queue);
        let n = queue.len().min(MAX_GROUP);
        queue.drain(..n).collect()
    }

    /// Commits the next group (which holds the caller's own write unless more than
    /// [`MAX_GROUP`] were ahead of it), then hands the rest on.
    fn lead(self: &Arc<Self>, conn: MutexGuard<'_, Connection>) {
        let _on_panic = OnPanic(self);
        let mut conn = conn;
        commit(&mut conn, self.next_group(), &self.counters);
        drop(conn);
        self.hand_on();
    }

    /// After the connection was let go: if writes are waiting, a blocking task
    /// commits them. Each write that queued while the connection was held found it
    /// taken, and relies on this look, taken after the holder let go.
    fn hand_on(self: &Arc<Self>) {
        if lock(&self.queue).is_empty() {
            return;
        }
        // Called from within a runtime (a caller, a blocking task); `try_current` all the
        // same, as `OnPanic` calls this while unwinding, where a second panic aborts.
        let Ok(runtime) = Handle::try_current() else {
            return;
        };
        let shared = self.clone();
        // Nobody waits for the task: the writes it commits are answered through their
        // own channels.
        drop(runtime.spawn_blocking(move || shared.drain()));
    }

    /// Commits group after group until the queue is empty.
    fn drain(self: &Arc<Self>) {
        let _on_panic = OnPanic(self);
        while let Some(mut conn) = self.try_conn() {
            let group = self.next_group();
            if group.is_empty() {
                drop(conn);
                // Look again after letting go (see `hand_on`).
                if lock(&self.queue).is_empty() {
                    return;
                }
                continue;
            }
            commit(&mut conn, group, &self.counters);
        }
    }
}

/// If the holder of the connection panics (a bug in a write), looks at the queue once
/// more after the connection was let go, as [`Shared::hand_on`] does: declared before
/// the connection's guard, it is dropped after it.
struct OnPanic<'a>(&'a Arc<Shared>);

impl Drop for OnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.hand_on();
        }
    }
}

/// Commits `group` and counts it, from beginning its transaction to the commit's return.
fn commit(conn: &mut Connection, group: Vec<Work>, counters: &GroupCommitCounters) {
    if group.is_empty() {
        return;
    }
    let start = Instant::now();
    let writes = group.len();
    let mut done = Vec::with_capacity(group.len());
    let committed = match conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate) {
        Err(e) => {
            done.extend(group.into_iter().map(|work| (work.run)(Err(&e)).1));
            Err(e)
        }
        Ok(tx) => run_group(&tx, group, &mut done).and_then(|()| tx.commit()),
    };
    counters.record(writes, start.elapsed(), committed.is_ok());
    for report in done {
        report(committed.as_ref().map(|_| ()));
    }
}

/// Runs a group's writes in `tx`, collecting how to report each; an error fails the
/// group (the transaction rolls back when dropped), and the writes not run yet learn it.
fn run_group(tx: &Connection, group: Vec<Work>, done: &mut Vec<Done>) -> rusqlite::Result<()> {
    // Savepoints through cached statements: `Connection::savepoint` parses its SQL
    // every time.
    let run = |sql: &str| {
        tx.prepare_cached(sql)
            .and_then(|mut s| s.execute([]))
            .map(drop)
    };
    let mut works = group.into_iter();
    let outcome = works.by_ref().try_for_each(|work| {
        if work.guarded {
            run("SAVEPOINT write")?;
            let (ok, report) = (work.run)(Ok(tx));
            done.push(report);
            if !ok {
                run("ROLLBACK TO write")?;
            }
            run("RELEASE write")
        } else {
            let before = tx.total_changes();
            let (ok, report) = (work.run)(Ok(tx));
            done.push(report);
            if ok || tx.total_changes() == before {
                Ok(())
            } else {
                Err(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ABORT),
                    Some("a write failed after changing rows, so its group was rolled back".into()),
                ))
            }
        }
    });
    if let Err(e) = &outcome {
        done.extend(works.map(|work| (work.run)(Err(e)).1));
    }
    outcome
}

#[cfg(test)]
mod tests;
