//! `orderflow projections rebuild [NAME…]`: makes read models again from the first
//! event beside the live ones, which keep answering, and swaps them in once caught up,
//! with a progress bar on the terminal (the same progress shows in `/pipeline`).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use orderflow_core::codec::{EventCodec, SCHEMA_FILES};
use orderflow_core::read_model::generations::Rebuilt;
use orderflow_services::rebuild::{Rebuild, RebuildReport};
use tokio_util::sync::CancellationToken;

use crate::settings::{DataDir, StoreArgs};
use crate::wiring;

#[derive(Debug, Subcommand)]
pub enum ProjectionsCommand {
    /// Make read models again from the first event beside the live ones (which keep
    /// answering), then swap them in at once. Orders, customer-orders and stock share one
    /// position and are made again together; analytics on its own.
    Rebuild(RebuildArgs),
}

#[derive(Debug, Args)]
pub struct RebuildArgs {
    /// The read models to make again: orders, stock, customer-orders, analytics
    /// (default: all of them).
    #[arg(value_parser = Rebuilt::parse)]
    pub names: Vec<Rebuilt>,
    #[command(flatten)]
    pub data_dir: DataDir,
    #[command(flatten)]
    pub store: StoreArgs,
}

pub async fn projections(command: ProjectionsCommand) -> anyhow::Result<()> {
    let ProjectionsCommand::Rebuild(args) = command;
    let target = wiring::open_for_rebuild(&args.data_dir.path, &args.store).await?;
    let schemas: Vec<(String, String)> = SCHEMA_FILES
        .iter()
        .map(|(t, text)| (t.name().to_owned(), (*text).to_owned()))
        .collect();
    // No key store: the read models keep personal data sealed, as the events hold it.
    let codec = EventCodec::reader(Arc::new(target.registry), &schemas)
        .context("reading the event schemas of this build")?;
    let models = if args.names.is_empty() {
        vec![Rebuilt::Views, Rebuilt::Analytics]
    } else {
        args.names
    };
    let rebuild = Rebuild {
        store: target.store,
        codec: Arc::new(codec),
        generations: target.generations,
    };
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template(
            "{spinner} {prefix} [{bar:30}] {pos}/{len} events  {per_sec}  ETA {eta}",
        )?
        .progress_chars("=> "),
    );
    bar.set_prefix("rebuilding");
    bar.enable_steady_tick(Duration::from_millis(200));
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            stop.cancel();
        }
    });
    let report = rebuild
        .run(
            &models,
            |p| {
                bar.set_length(p.total);
                bar.set_position(p.done);
            },
            &shutdown,
        )
        .await;
    bar.finish_and_clear();
    let report = report.context("rebuilding the read models (the live ones are as they were)")?;
    out!("{}", summary(&report));
    Ok(())
}

/// What a rebuild did, in one line.
fn summary(report: &RebuildReport) -> String {
    let names: Vec<&str> = report.models.iter().map(|m| m.as_str()).collect();
    let seconds = report.elapsed.as_secs_f64();
    format!(
        "rebuilt {}: {} events in {:.1} s ({:.0} events/s), swapped in at position {} \
         after {} attempt(s), the swap took {} ms",
        names.join(" and "),
        report.events,
        seconds,
        report.events as f64 / seconds.max(1e-9),
        report.position,
        report.swap_attempts,
        report.swap.as_millis()
    )
}
