//! Group commit: appends waiting at the same moment share one transaction and one
//! multi-row insert. Groups from different processes commit side by side (the append
//! lock is shared); within a process one group is in flight while the next gathers. Each request is still all-or-nothing on its own, and a refused
//! request does not hold up the others. The common case, where no stream appears twice
//! in the group and every expectation holds, is one statement (`fast`); when it cannot
//! commit everything, it writes nothing and the group is decided request by request
//! here. Appends racing from other groups or processes meet the unique indexes on
//! (stream, version) and event id; the loser decides again against what the winner
//! wrote.
//!
//! The writer counts its own group commits ([`GroupCommitCounters`]): groups, the
//! append calls they carried, and how long each took, from the group's first statement
//! to its commit's return (retries after a lost race included).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use orderflow_core::commit_stats::{GroupCommitCounters, GroupCommitStats};
use orderflow_core::store::{AppendRequest, Appended, NewEvent, StoreError};
use sqlx::{PgPool, Row};
use tokio::sync::{Semaphore, mpsc, oneshot};
use uuid::Uuid;

use super::APPEND_LOCK;

mod fast;
#[cfg(test)]
mod tests;

/// Groups one process commits at once. One, measured: with `orderflow bench --store`
/// on 2 cores (then planning each execution afresh), 8 writers made 0.68-0.71x the
/// single-row baseline with one group in flight, 0.51-0.53x with two and 0.39-0.40x
/// with four, and 64 writers did best with one too: the statement's cost is mostly
/// CPU, so fewer, larger groups win. Measured again once a group waited for the writers
/// just answered (below): one in flight 0.96-1.17x, two 0.61-1.08x.
pub(super) const IN_FLIGHT: usize = 1;

/// Largest number of append calls committed together.
const MAX_GROUP: usize = 256;

pub(super) struct Job {
    pub requests: Vec<AppendRequest>,
    pub reply: oneshot::Sender<Result<Vec<Appended>, StoreError>>,
}

/// The handle to the writer task: queues appends, and reads the task's counters.
#[derive(Debug, Clone)]
pub(super) struct Writer {
    jobs: mpsc::UnboundedSender<Job>,
    counters: Arc<GroupCommitCounters>,
}

impl Writer {
    /// Queues `job`; fails if the writer task has stopped.
    pub fn send(&self, job: Job) -> Result<(), mpsc::error::SendError<Job>> {
        self.jobs.send(job)
    }

    pub fn stats(&self) -> GroupCommitStats {
        self.counters.snapshot()
    }
}

/// Starts the task that gathers queued appends into groups and commits up to
/// `concurrency` groups at once, counting each group.
pub(super) fn spawn_writer(pool: PgPool, concurrency: usize) -> Writer {
    let counters = Arc::new(GroupCommitCounters::default());
    let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
    let slots = Arc::new(Semaphore::new(concurrency.max(1)));
    let task_counters = counters.clone();
    tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            // Waiting for a slot lets the next group grow meanwhile.
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            let mut jobs = vec![first];
            // The writers the last group answered are runnable now, and most append
            // again at once: let them queue before gathering. Without this, a group
            // took whoever had queued by the instant the slot came free, and 8 writers
            // split into alternating groups of about 4, each paying a statement and a
            // WAL flush (half the single-row baseline on a slow machine).
            tokio::task::yield_now().await;
            while jobs.len() < MAX_GROUP {
                match rx.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
            let pool = pool.clone();
            let counters = task_counters.clone();
            tokio::spawn(async move {
                let start = Instant::now();
                let outcome = commit_group(&pool, &jobs).await;
                // Counted before anyone is answered: an answered append's group is in.
                counters.record(jobs.len(), start.elapsed(), outcome.is_ok());
                // Answer before freeing the slot, so the answered writers are runnable
                // before the next group gathers.
                reply(jobs, outcome);
                drop(slot);
            });
        }
    });
    Writer { jobs: tx, counters }
}

fn reply(jobs: Vec<Job>, outcome: Result<Results, sqlx::Error>) {
    match outcome {
        Ok(results) => {
            for (job, result) in jobs.into_iter().zip(results) {
                let _ = job.reply.send(result);
            }
        }
        Err(e) => {
            let message = e.to_string();
            for job in jobs {
                let _ = job
                    .reply
                    .send(Err(StoreError::Unavailable(message.clone().into())));
            }
        }
    }
}

/// Rows to insert, column by column (for `UNNEST`).
#[derive(Default)]
struct Rows {
    stream_id: Vec<String>,
    version: Vec<i64>,
    event_id: Vec<Uuid>,
    event_type: Vec<String>,
    schema_id: Vec<i32>,
    payload: Vec<Vec<u8>>,
    occurred_at: Vec<DateTime<Utc>>,
    correlation_id: Vec<String>,
    causation_id: Vec<Option<Uuid>>,
    actor: Vec<String>,
    trace_context: Vec<Option<String>>,
}

impl Rows {
    /// Binds the columns as the query's parameters `$1` to `$11`, in field order.
    fn bind<'q>(&'q self, query: PgQuery<'q>) -> PgQuery<'q> {
        query
            .bind(&self.stream_id)
            .bind(&self.version)
            .bind(&self.event_id)
            .bind(&self.event_type)
            .bind(&self.schema_id)
            .bind(&self.payload)
            .bind(&self.occurred_at)
            .bind(&self.correlation_id)
            .bind(&self.causation_id)
            .bind(&self.actor)
            .bind(&self.trace_context)
    }

    fn push(&mut self, stream_id: &str, version: i64, event: &NewEvent) {
        self.stream_id.push(stream_id.to_owned());
        self.version.push(version);
        self.event_id.push(event.event_id);
        self.event_type.push(event.event_type.clone());
        self.schema_id.push(event.schema_id as i32);
        self.payload.push(event.payload.clone());
        self.occurred_at.push(event.occurred_at);
        self.correlation_id.push(event.correlation_id.clone());
        self.causation_id.push(event.causation_id);
        self.actor.push(event.actor.clone());
        self.trace_context.push(event.trace_context.clone());
    }
}

type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

type Outcome = Result<Vec<(String, u64)>, StoreError>;

/// Decides each job against the stored versions and ids (and the jobs before it).
fn decide(
    jobs: &[Job],
    versions: &mut HashMap<String, u64>,
    ids: &mut HashSet<Uuid>,
    rows: &mut Rows,
) -> Vec<Outcome> {
    jobs.iter()
        .map(|job| {
            let mut local: HashMap<&str, u64> = HashMap::new();
            let mut new_ids = HashSet::new();
            for request in &job.requests {
                let actual = local
                    .get(request.stream_id.as_str())
                    .or_else(|| versions.get(&request.stream_id))
                    .copied()
                    .unwrap_or(0);
                if !request.expected.matches(actual) {
                    return Err(StoreError::WrongExpectedVersion {
                        stream_id: request.stream_id.clone(),
                        expected: request.expected,
                        actual,
                    });
                }
                for event in &request.events {
                    if ids.contains(&event.event_id) || !new_ids.insert(event.event_id) {
                        return Err(StoreError::DuplicateEvent(event.event_id));
                    }
                }
                local.insert(&request.stream_id, actual + request.events.len() as u64);
            }
            let mut last = Vec::new();
            for request in &job.requests {
                let mut version = local[request.stream_id.as_str()] - request.events.len() as u64;
                for event in &request.events {
                    version += 1;
                    rows.push(&request.stream_id, version as i64, event);
                }
                last.push((request.stream_id.clone(), version));
            }
            for (stream, version) in local {
                versions.insert(stream.to_owned(), version);
            }
            ids.extend(new_ids);
            Ok(last)
        })
        .collect()
}

type Results = Vec<Result<Vec<Appended>, StoreError>>;

/// How often the careful path decides again after losing a race to another writer.
const RACES: usize = 16;

async fn commit_group(pool: &PgPool, jobs: &[Job]) -> Result<Results, sqlx::Error> {
    if let Some(results) = fast::try_commit(pool, jobs).await? {
        return Ok(results);
    }
    let mut races = 0;
    loop {
        match commit_checked(pool, jobs).await {
            // Another writer committed a version or an id this group read as free: decide
            // again against what it wrote.
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() && races < RACES => {
                races += 1;
            }
            outcome => return outcome,
        }
    }
}

/// The careful path: reads every stream's version and every known event id, and decides
/// each job on its own. A writer that commits in between makes the insert fail on a
/// unique index, and the caller decides again.
async fn commit_checked(pool: &PgPool, jobs: &[Job]) -> Result<Results, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock_shared($1)")
        .bind(APPEND_LOCK)
        .execute(&mut *tx)
        .await?;
    let streams: Vec<String> = jobs
        .iter()
        .flat_map(|j| j.requests.iter().map(|r| r.stream_id.clone()))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut versions: HashMap<String, u64> = sqlx::query(
        "SELECT stream_id, MAX(version) AS version FROM events WHERE stream_id = ANY($1) GROUP BY stream_id",
    )
    .bind(&streams)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(|r| Ok((r.try_get("stream_id")?, r.try_get::<i64, _>("version")? as u64)))
    .collect::<Result<_, sqlx::Error>>()?;
    let event_ids: Vec<Uuid> = jobs
        .iter()
        .flat_map(|j| {
            j.requests
                .iter()
                .flat_map(|r| r.events.iter().map(|e| e.event_id))
        })
        .collect();
    let mut ids: HashSet<Uuid> =
        sqlx::query_scalar("SELECT event_id FROM events WHERE event_id = ANY($1)")
            .bind(&event_ids)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
    let mut rows = Rows::default();
    let outcomes = decide(jobs, &mut versions, &mut ids, &mut rows);
    let mut positions: HashMap<(String, u64), u64> = HashMap::new();
    if !rows.stream_id.is_empty() {
        let inserted = rows
            .bind(sqlx::query(
                "INSERT INTO events (stream_id, version, event_id, event_type, schema_id, payload, \
                 occurred_at, correlation_id, causation_id, actor, trace_context) \
                 SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::uuid[], $4::text[], $5::int[], \
                 $6::bytea[], $7::timestamptz[], $8::text[], $9::uuid[], $10::text[], \
                 $11::text[]) \
                 RETURNING stream_id, version, position",
            ))
            .fetch_all(&mut *tx)
            .await?;
        for r in inserted {
            positions.insert(
                (
                    r.try_get("stream_id")?,
                    r.try_get::<i64, _>("version")? as u64,
                ),
                r.try_get::<i64, _>("position")? as u64,
            );
        }
    }
    tx.commit().await?;
    Ok(outcomes
        .into_iter()
        .map(|outcome| {
            outcome.map(|last| {
                last.into_iter()
                    .map(|(stream, version)| Appended {
                        version,
                        position: positions.get(&(stream, version)).copied().unwrap_or(0),
                    })
                    .collect()
            })
        })
        .collect())
}
