//! The common case of a group commit in one statement under the lock.
//!
//! When no stream appears in two requests of the group, each request's expectation can
//! be checked in SQL against the stream's stored version, and the unique index on event
//! ids catches a duplicate, so nothing needs reading before the insert. If a row fails
//! its expectation or an id is a duplicate, the transaction is rolled back and the
//! group goes the careful way, which tells each job what went wrong.

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

const INSERT: &str = "\
WITH input AS (
  SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::uuid[], $4::text[], $5::int[],
    $6::bytea[], $7::timestamptz[], $8::text[], $9::uuid[], $10::text[], $11::bigint[])
    WITH ORDINALITY AS u(stream_id, ordinal, event_id, event_type, schema_id, payload,
      occurred_at, correlation_id, causation_id, actor, expected, n)
), current AS (
  SELECT s.stream_id,
    COALESCE((SELECT MAX(e.version) FROM events e WHERE e.stream_id = s.stream_id), 0) AS version
  FROM (SELECT DISTINCT stream_id FROM input) s
)
INSERT INTO events (stream_id, version, event_id, event_type, schema_id, payload,
  occurred_at, correlation_id, causation_id, actor)
SELECT i.stream_id, c.version + i.ordinal, i.event_id, i.event_type, i.schema_id, i.payload,
  i.occurred_at, i.correlation_id, i.causation_id, i.actor
FROM input i JOIN current c USING (stream_id)
WHERE i.expected < 0 OR i.expected = c.version
ORDER BY i.n
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
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(APPEND_LOCK)
        .execute(&mut *tx)
        .await?;
    // The insert is a statement of its own, after the lock: a statement's snapshot is
    // taken before a lock it waits for, and would miss appends committed meanwhile.
    let inserted = rows
        .bind(sqlx::query(INSERT))
        .bind(&expected)
        .fetch_all(&mut *tx)
        .await;
    let inserted = match inserted {
        Ok(rows) => rows,
        // A duplicate event id: the careful way says whose.
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Ok(None),
        Err(e) => return Err(e),
    };
    if inserted.len() != rows.stream_id.len() {
        // An expectation failed: dropping the transaction rolls it back.
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
    tx.commit().await?;
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
