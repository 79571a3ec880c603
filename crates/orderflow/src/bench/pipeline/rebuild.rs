//! Rebuild speed: a pipeline run's read models made again from its event store (views
//! alone, then views and analytics), each next to the live projections' own speed in
//! the same run: the projections following the store from position 0 into an empty
//! read model, the most the rebuild's views could do (both fold with the same code).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use orderflow_core::codec::{EventCodec, SCHEMA_FILES};
use orderflow_core::read_model::ReadModel;
use orderflow_core::read_model::generations::Rebuilt;
use orderflow_services::projections;
use orderflow_services::rebuild::Rebuild;
use orderflow_sqlite::{SqliteGenerations, SqliteReadModel};
use tokio_util::sync::CancellationToken;

use crate::settings::StoreArgs;
use crate::wiring;

fn per_second(n: u64, took: Duration) -> f64 {
    n as f64 / took.as_secs_f64().max(1e-9)
}

/// Measures on the stopped run in `data_dir`; scratch files go in `scratch`.
pub async fn rebuild(data_dir: &Path, scratch: &Path) -> anyhow::Result<()> {
    let sqlite = StoreArgs {
        store_url: None,
        db_acquire_timeout_ms: 10_000,
    };
    let (store, registry) = wiring::open_for_reading(data_dir, &sqlite).await?;
    let schemas: Vec<(String, String)> = SCHEMA_FILES
        .iter()
        .map(|(t, text)| (t.name().to_owned(), (*text).to_owned()))
        .collect();
    let codec = Arc::new(EventCodec::reader(Arc::new(registry), &schemas)?);
    let head = store.head_position().await?;

    // The live projections, from position 0 into an empty read model.
    std::fs::create_dir_all(scratch)?;
    let fresh = Arc::new(SqliteReadModel::open(&scratch.join("fresh-read.db"))?);
    let shutdown = CancellationToken::new();
    let start = Instant::now();
    let following = tokio::spawn(projections::run(
        store.clone(),
        codec.clone(),
        fresh.clone(),
        shutdown.clone(),
    ));
    while fresh.position().await? < head {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let live = start.elapsed();
    shutdown.cancel();
    following.await?.context("the projections failed")?;
    let live_rate = per_second(head, live);

    let read_path = data_dir.join("read.db");
    let generations = Arc::new(SqliteGenerations::new(
        SqliteReadModel::open(&read_path)?,
        &read_path,
    ));
    let rebuild = Rebuild {
        store,
        codec,
        generations,
    };
    out!("\nread-model rebuild ({head} events, SQLite; beside the run's live read models)");
    out!("  live projections from position 0: {live_rate:>9.0} events/s (ceiling for the views)");
    for models in [
        vec![Rebuilt::Views],
        vec![Rebuilt::Views, Rebuilt::Analytics],
    ] {
        let report = rebuild
            .run(&models, |_| {}, &CancellationToken::new())
            .await?;
        let rate = per_second(report.events, report.elapsed);
        let names: Vec<&str> = models.iter().map(|m| m.as_str()).collect();
        out!(
            "  rebuild {:<48} {rate:>9.0} events/s = {:.2}x live, swap {} ms",
            names.join(" + "),
            rate / live_rate,
            report.swap.as_millis()
        );
    }
    Ok(())
}
