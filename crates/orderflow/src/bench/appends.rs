//! Durable appends through the SQLite event store, against raw rusqlite inserts: the
//! 1-row and 1000-row baselines into a lean table with the same row-id rule as the
//! store's events table (`INTEGER PRIMARY KEY` without `AUTOINCREMENT`, which would cost
//! a page write per commit) and none of its other indexes; the 64 writers' like-for-like
//! baseline into a table of the events table's own shape ([`raw_events`]).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use orderflow_core::commit_stats::GroupCommitStats;
use orderflow_core::store::{AppendRequest, EventStore, ExpectedVersion, NewEvent};
use orderflow_sqlite::SqliteEventStore;
use uuid::Uuid;

use super::groups::{self, Tally, describe, verdict};
use super::scratch::Scratch;
use super::{BenchArgs, MANY_WRITERS, ROUNDS};

pub(super) mod raw_events;

/// The baseline: plain inserts into a one-table file, `synchronous=FULL`.
struct RawInserts {
    conn: rusqlite::Connection,
    chunks: usize,
}

impl RawInserts {
    fn open(path: &Path) -> anyhow::Result<Self> {
        let conn = rusqlite::Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, stream TEXT, version INTEGER, payload BLOB)",
        )?;
        Ok(Self { conn, chunks: 0 })
    }

    /// Inserts `n` rows, `per_tx` to a transaction; returns how many and the time taken.
    fn insert(&mut self, n: usize, per_tx: usize) -> anyhow::Result<(usize, Duration)> {
        let payload = vec![7u8; 64];
        let start = Instant::now();
        for first in (0..n).step_by(per_tx) {
            self.chunks += 1;
            let tx = self.conn.transaction()?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO t (stream, version, payload) VALUES (?1, ?2, ?3)",
                )?;
                for i in 0..per_tx.min(n - first) {
                    let stream = format!("s-{}", self.chunks);
                    stmt.execute(rusqlite::params![stream, i as i64, payload])?;
                }
            }
            tx.commit()?;
        }
        Ok((n, start.elapsed()))
    }
}

fn new_event(stream: &str) -> NewEvent {
    NewEvent {
        event_id: Uuid::now_v7(),
        event_type: "Bench".into(),
        schema_id: 1,
        payload: vec![7u8; 64],
        occurred_at: Utc::now(),
        correlation_id: stream.into(),
        causation_id: None,
        actor: "bench".into(),
        trace_context: None,
    }
}

/// How the bench names the new streams it appends to.
#[derive(Debug, Clone, Copy)]
enum StreamIds {
    /// As orderflow names an order's streams: `order-<UUIDv7>`, time-ordered, so the
    /// appends committed together land next to each other in the stream and
    /// correlation indexes.
    TimeOrdered,
    /// `bench-<round>-<writer>-<i>`: each writer has its own region of those indexes,
    /// so one group commit of 64 writers touches about 64 leaf pages of each (a worst
    /// case, kept to show what id order costs).
    Scattered,
}

/// Appends about `n` events, one per request to a new stream, from `writers` concurrent
/// writers; returns how many were appended and the time taken.
async fn store_appends(
    store: &Arc<SqliteEventStore>,
    round: usize,
    n: usize,
    writers: usize,
    ids: StreamIds,
) -> anyhow::Result<(usize, Duration)> {
    let per_writer = n / writers;
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..writers {
        let store = store.clone();
        tasks.spawn(async move {
            for i in 0..per_writer {
                let stream = match ids {
                    StreamIds::TimeOrdered => format!("order-{}", Uuid::now_v7()),
                    StreamIds::Scattered => format!("bench-{round}-{w}-{i}"),
                };
                store
                    .append(vec![AppendRequest {
                        stream_id: stream.clone(),
                        expected: ExpectedVersion::NoStream,
                        events: vec![new_event(&stream)],
                    }])
                    .await?;
            }
            Ok::<_, orderflow_core::StoreError>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok((per_writer * writers, start.elapsed()))
}

/// The 64-writer runs of one store: their tally, and what its group commits did.
#[derive(Default)]
struct GroupedRuns {
    tally: Tally,
    groups: Option<GroupCommitStats>,
}

impl GroupedRuns {
    /// Runs `n` appends from [`MANY_WRITERS`] writers; returns that run's groups.
    async fn run(
        &mut self,
        store: &Arc<SqliteEventStore>,
        round: usize,
        n: usize,
        ids: StreamIds,
    ) -> anyhow::Result<GroupCommitStats> {
        let before = store.commit_stats();
        self.tally
            .add(store_appends(store, round, n, MANY_WRITERS, ids).await?);
        let groups = store.commit_stats().since(&before);
        self.groups = Some(match self.groups {
            None => groups,
            Some(earlier) => groups::sum(&earlier, &groups),
        });
        Ok(groups)
    }

    fn describe(&self) -> String {
        describe(&self.groups.unwrap_or_default(), self.tally.took)
    }
}

pub async fn appends(args: &BenchArgs, scratch: &Scratch) -> anyhow::Result<()> {
    let dir = scratch.path();
    let per_round = args.appends / ROUNDS;
    let many = per_round * 4;
    let mut raw_single = RawInserts::open(&dir.join("raw1.db"))?;
    let mut raw_batched = RawInserts::open(&dir.join("raw1000.db"))?;
    let mut raw_grouped = raw_events::RawEvents::open(&dir.join("raw-groups.db"))?;
    let one_writer = Arc::new(SqliteEventStore::open(&dir.join("s1.db"))?);
    let many_writers = Arc::new(SqliteEventStore::open(&dir.join("s64.db"))?);
    let scattered = Arc::new(SqliteEventStore::open(&dir.join("s64x.db"))?);
    let [mut single, mut one, mut batched, mut grouped] = [Tally::default(); 4];
    let (mut ordered_runs, mut scattered_runs) = (GroupedRuns::default(), GroupedRuns::default());
    let mut group_rows = Vec::new();
    for round in 0..ROUNDS {
        single.add(raw_single.insert(per_round, 1)?);
        one.add(store_appends(&one_writer, round, per_round, 1, StreamIds::TimeOrdered).await?);
        batched.add(raw_batched.insert(per_round * 10, 1000)?);
        let groups = ordered_runs
            .run(&many_writers, round, many, StreamIds::TimeOrdered)
            .await?;
        // Like for like: the same rows in transactions as large as this round's groups.
        let rows = groups::like_for_like(&groups);
        group_rows.push(rows);
        grouped.add(raw_grouped.insert(groups.writes_total as usize, rows)?);
        scattered_runs
            .run(&scattered, round, many, StreamIds::Scattered)
            .await?;
    }
    let rows = group_rows
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let (raw1, raw1000, raw_g) = (single.rate(), batched.rate(), grouped.rate());
    let (one, many, many_scattered) = (
        one.rate(),
        ordered_runs.tally.rate(),
        scattered_runs.tally.rate(),
    );
    out!("durable appends (SQLite, synchronous=FULL; {ROUNDS} rounds, each next to its baselines)");
    out!("  baseline raw insert, 1 row/tx          {raw1:>10.0} rows/s");
    out!("  baseline raw insert, 1000 rows/tx      {raw1000:>10.0} rows/s");
    out!(
        "  baseline raw insert, group-sized txs   {raw_g:>10.0} rows/s   (into the events table's shape; rows/tx = the 64 writers' mean group size in each round: {rows})"
    );
    out!(
        "  event store, 1 writer                  {one:>10.0} events/s = {}",
        verdict(one / raw1, "raw 1 row/tx", 0.8)
    );
    out!(
        "  event store, {MANY_WRITERS} writers                {many:>10.0} events/s = {}; {:.2}x raw 1000 rows/tx",
        verdict(many / raw_g, "raw group-sized txs", 0.5),
        many / raw1000
    );
    out!("    its group commits: {}", ordered_runs.describe());
    out!(
        "    same, scattered stream ids           {many_scattered:>10.0} events/s = {:.2}x raw group-sized txs; {:.2}x raw 1000 rows/tx",
        many_scattered / raw_g,
        many_scattered / raw1000
    );
    out!("    its group commits: {}\n", scattered_runs.describe());
    Ok(())
}
