//! The process's metrics recorder: `metrics-exporter-prometheus`, installed once per
//! process by `run` and `serve`, rendered at `GET /metrics` by our own router (no
//! listener or push gateway of the exporter's). Every histogram gets buckets, so that
//! it renders as a Prometheus histogram rather than a summary: the services' `_seconds`
//! ones [`SECONDS_BUCKETS`], the group commits' own (see `orderflow_core::commit_stats`).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use orderflow_core::commit_stats::{
    COMMIT_SECONDS_BUCKETS, GROUP_COMMIT_SECONDS, GROUP_COMMIT_WRITES, GROUP_WRITES_BUCKETS,
};
use orderflow_services::http::RenderMetrics;
use orderflow_services::metrics::SECONDS_BUCKETS;
use tokio_util::sync::CancellationToken;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder, installed on the first call.
pub fn handle() -> anyhow::Result<PrometheusHandle> {
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &SECONDS_BUCKETS)?
        .set_buckets_for_metric(
            Matcher::Full(GROUP_COMMIT_SECONDS.into()),
            &COMMIT_SECONDS_BUCKETS,
        )?
        .set_buckets_for_metric(
            Matcher::Full(GROUP_COMMIT_WRITES.into()),
            &GROUP_WRITES_BUCKETS,
        )?
        .install_recorder()
        .context("installing the metrics recorder")?;
    orderflow_services::metrics::describe();
    Ok(HANDLE.get_or_init(|| handle).clone())
}

/// What `/metrics` answers with.
pub fn render(handle: PrometheusHandle) -> RenderMetrics {
    Arc::new(move || handle.render())
}

/// Keeps the recorder's histograms small between scrapes, until `shutdown`.
pub async fn upkeep(handle: PrometheusHandle, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(5)) => handle.run_upkeep(),
        }
    }
}
