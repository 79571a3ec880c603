//! Durable appends through the SQLite event store, against raw rusqlite inserts.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use orderflow_core::store::{AppendRequest, EventStore, ExpectedVersion, NewEvent};
use orderflow_sqlite::SqliteEventStore;
use uuid::Uuid;

use super::BenchArgs;

/// Each append scenario runs in this many rounds, alternating with its baseline, so
/// that a shared machine whose speed drifts during the run slows both alike.
const ROUNDS: usize = 4;

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
            "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, stream TEXT, version INTEGER, payload BLOB)",
        )?;
        Ok(Self { conn, chunks: 0 })
    }

    /// Inserts `n` rows, `per_tx` to a transaction; returns the time taken.
    fn insert(&mut self, n: usize, per_tx: usize) -> anyhow::Result<Duration> {
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
        Ok(start.elapsed())
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

pub async fn appends(args: &BenchArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let n = args.appends;
    let mut raw_single = RawInserts::open(&dir.path().join("raw1.db"))?;
    let mut raw_batched = RawInserts::open(&dir.path().join("raw1000.db"))?;
    let one_writer = Arc::new(SqliteEventStore::open(&dir.path().join("s1.db"))?);
    let many_writers = Arc::new(SqliteEventStore::open(&dir.path().join("s64.db"))?);
    let scattered = Arc::new(SqliteEventStore::open(&dir.path().join("s64x.db"))?);
    let mut took = [Duration::ZERO; 5];
    let mut counts = [0usize; 5];
    let mut add = |i: usize, (count, t): (usize, Duration)| {
        counts[i] += count;
        took[i] += t;
    };
    for round in 0..ROUNDS {
        let per_round = n / ROUNDS;
        add(0, (per_round, raw_single.insert(per_round, 1)?));
        add(
            1,
            store_appends(&one_writer, round, per_round, 1, StreamIds::TimeOrdered).await?,
        );
        add(
            2,
            (per_round * 10, raw_batched.insert(per_round * 10, 1000)?),
        );
        let many = per_round * 4;
        add(
            3,
            store_appends(&many_writers, round, many, 64, StreamIds::TimeOrdered).await?,
        );
        add(
            4,
            store_appends(&scattered, round, many, 64, StreamIds::Scattered).await?,
        );
    }
    let [raw_single, one, raw_batched, many, many_scattered] =
        [0, 1, 2, 3, 4].map(|i| counts[i] as f64 / took[i].as_secs_f64());
    out!("durable appends (SQLite, synchronous=FULL; {ROUNDS} rounds, each next to its baseline)");
    out!("  baseline raw insert, 1 row/tx       {raw_single:>10.0} rows/s");
    out!("  baseline raw insert, 1000 rows/tx   {raw_batched:>10.0} rows/s");
    out!(
        "  event store, 1 writer               {one:>10.0} events/s  = {:.2}x raw 1 row/tx (target >= 0.8x)",
        one / raw_single
    );
    out!(
        "  event store, 64 writers             {many:>10.0} events/s  = {:.2}x raw 1000 rows/tx (target >= 0.5x)",
        many / raw_batched
    );
    out!(
        "    same, scattered stream ids        {many_scattered:>10.0} events/s  = {:.2}x raw 1000 rows/tx",
        many_scattered / raw_batched
    );
    // Little's law: 64 writers that each wait for their append to be durable have at
    // most 64 appends in flight, so even if a commit of 64 appends cost no more than a
    // raw 1-row commit, they could make at most 64 times the raw 1-row rate.
    let ceiling = 64.0 * raw_single;
    out!(
        "    ceiling for 64 waiting writers    {ceiling:>10.0} events/s  = {:.2}x raw 1000 rows/tx (64 x raw 1 row/tx)\n",
        ceiling / raw_batched
    );
    Ok(())
}
