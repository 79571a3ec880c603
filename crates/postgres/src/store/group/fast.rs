//! The common case of a group commit: one statement, one round trip, its own
//! transaction.
//!
//! When no stream appears in two requests of the group, each request's expectation can
//! be checked in SQL against the stream's stored version, and the unique indexes catch a
//! duplicate event id or a writer that committed the same version meanwhile, so nothing
//! needs reading before the insert. The statement inserts every row or none: if an
//! expectation fails or an index refuses a row, nothing is written and the group goes
//! the careful way, which tells each job what went wrong.

use std::collections::{HashMap, HashSet};

use orderflow_core::store::{Appended, ExpectedVersion};
use sqlx::{PgPool, Row};

use super::{APPEND_LOCK, Job, Results, Rows};

/// The group's rows (their `version` column holds each event's place in its request,
/// from 1: the stored version is added in SQL) and each row's expectation.
#[derive(Default)]
struct FastRows {
    rows: Rows,
    /// The version the stream must be at, or -1 for any.
    expected: Vec<i64>,
}

// The shared append lock is taken in the first CTE: no row reaches the insert (and takes
// a position) before the lock is held, and the statement's transaction holds it until it
// commits (see the store's gap safety). The uncorrelated `NOT EXISTS` is checked once,
// before any row is inserted.
const INSERT: &str = "\
WITH locked AS MATERIALIZED (
  SELECT pg_advisory_xact_lock_shared($13)
), input AS (
  SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::uuid[], $4::text[], $5::int[],
    $6::bytea[], $7::timestamptz[], $8::text[], $9::uuid[], $10::text[], $11::text[],
    $12::bigint[])
    WITH ORDINALITY AS u(stream_id, ordinal, event_id, event_type, schema_id, payload,
      occurred_at, correlation_id, causation_id, actor, trace_context, expected, n)
), checked AS (
  SELECT i.*,
    COALESCE((SELECT MAX(e.version) FROM events e WHERE e.stream_id = i.stream_id), 0) AS stored
  FROM input i
)
INSERT INTO events (stream_id, version, event_id, event_type, schema_id, payload,
  occurred_at, correlation_id, causation_id, actor, trace_context)
SELECT c.stream_id, c.stored + c.ordinal, c.event_id, c.event_type, c.schema_id, c.payload,
  c.occurred_at, c.correlation_id, c.causation_id, c.actor, c.trace_context
FROM checked c CROSS JOIN locked
WHERE NOT EXISTS (SELECT 1 FROM checked f WHERE f.expected >= 0 AND f.expected <> f.stored)
ORDER BY c.n
RETURNING stream_id, version, position";

/// Commits the group in one statement if it can; `None` means it must go the careful
/// way (nothing was written).
pub(super) async fn try_commit(
    pool: &PgPool,
    jobs: &[Job],
) -> Result<Option<Results>, sqlx::Error> {
    let Some(FastRows { rows, expected }) = rows_of(jobs) else {
        return Ok(None);
    };
    let inserted = rows
        .bind(sqlx::query(INSERT))
        .bind(&expected)
        .bind(APPEND_LOCK)
        .fetch_all(pool)
        .await;
    let inserted = match inserted {
        Ok(rows) => rows,
        // A duplicate event id, or a version another writer has just committed.
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Ok(None),
        Err(e) => return Err(e),
    };
    if inserted.len() != rows.stream_id.len() {
        // An expectation failed, and nothing was written.
        return Ok(None);
    }
    let mut last: HashMap<String, (u64, u64)> = HashMap::new();
    for r in &inserted {
        let stream: String = r.try_get("stream_id")?;
        let version = r.try_get::<i64, _>("version")? as u64;
        let position = r.try_get::<i64, _>("position")? as u64;
        let entry = last.entry(stream).or_insert((version, position));
        if version > entry.0 {
            *entry = (version, position);
        }
    }
    Ok(Some(
        jobs.iter()
            .map(|job| {
                Ok(job
                    .requests
                    .iter()
                    .map(|r| {
                        let (version, position) = last[&r.stream_id];
                        Appended { version, position }
                    })
                    .collect())
            })
            .collect(),
    ))
}

/// The group's rows, or `None` if a stream appears in more than one request (or a
/// request has no events), which the careful way handles.
fn rows_of(jobs: &[Job]) -> Option<FastRows> {
    let mut seen = HashSet::new();
    let mut out = FastRows::default();
    for request in jobs.iter().flat_map(|j| &j.requests) {
        if request.events.is_empty() || !seen.insert(request.stream_id.as_str()) {
            return None;
        }
        let expected = match request.expected {
            ExpectedVersion::Any => -1,
            ExpectedVersion::NoStream => 0,
            ExpectedVersion::Exact(v) => v as i64,
        };
        for (i, event) in request.events.iter().enumerate() {
            out.rows.push(&request.stream_id, i as i64 + 1, event);
            out.expected.push(expected);
        }
    }
    Some(out)
}
