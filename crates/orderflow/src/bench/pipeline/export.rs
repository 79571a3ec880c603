//! Export and import speed: the history of a pipeline run (`--orders` orders in a child
//! process, SQLite) exported to an Avro container file, and the file imported into a
//! fresh SQLite store; each next to its baseline from the same run: reading the same
//! events from the store alone (what an export cannot beat), and plain SQL inserts of as
//! many events-shaped rows, 1000 per transaction as the import writes them. Then the
//! same history's read models are rebuilt ([`super::rebuild`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::child::{self, Ids};
use super::{CATCH_UP, done};
use crate::bench::BenchArgs;
use crate::bench::appends::raw_events::RawEvents;
use crate::bench::scratch::Scratch;
use crate::events::export::{Chosen, write};
use crate::events::import::load;
use crate::service::Service;
use crate::settings::StoreArgs;
use crate::wiring;

/// Events read from the store at a time, as the export reads them.
const PAGE: usize = 1000;
/// Rows per transaction of the import's baseline, as the import writes them.
const PER_TX: usize = 1000;

fn per_second(n: u64, took: Duration) -> f64 {
    n as f64 / took.as_secs_f64().max(1e-9)
}

pub async fn export_import(
    args: &BenchArgs,
    scratch: &Scratch,
    data_dirs: &mut Vec<tempfile::TempDir>,
) -> anyhow::Result<()> {
    let running = Arc::new(child::start(&Service::ALL, &[], scratch).await?);
    running
        .place_many(args.orders, 64, Ids::TimeOrdered)
        .await?;
    done::wait_all_done(&running, CATCH_UP).await?;
    let data_dir = running.data_dir().to_path_buf();
    let run = child::stop(running).await?;
    let sqlite = StoreArgs {
        store_url: None,
        db_acquire_timeout_ms: 10_000,
    };
    let (store, registry) = wiring::open_for_reading(&data_dir, &sqlite).await?;

    let start = Instant::now();
    let (mut read, mut after) = (0u64, 0);
    loop {
        let page = store.read_all(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.position;
        read += page.len() as u64;
    }
    let reading = start.elapsed();

    let file = run.path().join("history.avro");
    let start = Instant::now();
    let (exported, _) = write(store.as_ref(), &registry, &Chosen::default(), &file).await?;
    let exporting = start.elapsed();
    let size = std::fs::metadata(&file)?.len();

    let target = wiring::open_for_import(&run.path().join("imported"), &sqlite).await?;
    let start = Instant::now();
    let loaded = load(&file, &target, None).await?;
    let importing = start.elapsed();
    let mut raw = RawEvents::open(&run.path().join("raw-import.db"))?;
    let (rows, inserting) = raw.insert(loaded.events as usize, PER_TX)?;

    out!(
        "\nexport and import ({} orders' history: {exported} events, SQLite, files in the \
         pipeline runs' directory)",
        args.orders
    );
    let (export_rate, read_rate) = (per_second(exported, exporting), per_second(read, reading));
    out!(
        "  export   {export_rate:>9.0} events/s ({:.0} bytes per event in the file)   the \
         store read alone: {read_rate:.0} events/s (ceiling) = {:.2}x",
        size as f64 / exported.max(1) as f64,
        export_rate / read_rate
    );
    let (import_rate, raw_rate) = (
        per_second(loaded.events, importing),
        per_second(rows as u64, inserting),
    );
    out!(
        "  import   {import_rate:>9.0} events/s   plain inserts of as many rows, {PER_TX} a \
         transaction: {raw_rate:.0} rows/s = {:.2}x",
        import_rate / raw_rate
    );
    super::rebuild::rebuild(&data_dir, &run.path().join("rebuild")).await?;
    data_dirs.push(run);
    Ok(())
}
