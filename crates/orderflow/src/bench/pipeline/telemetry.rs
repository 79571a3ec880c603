//! What tracing costs the pipeline: CPU per order of the whole pipeline (a child process)
//! with spans off, with spans but no exporter, and exporting every span with OTLP to a
//! receiver in the bench's own process, in alternating rounds of the same run, so that a
//! shared machine's drift weighs on every setting alike. Metrics are recorded in every
//! setting (they have no off switch).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::child::{self, Ids, per_order};
use super::{CATCH_UP, done};
use crate::bench::BenchArgs;
use crate::bench::scratch::Scratch;
use crate::service::Service;

/// Rounds of each setting, alternating with the others'.
const ROUNDS: usize = 3;

/// Every target that holds one of orderflow's spans, at `info`, with log lines kept at
/// `warn` (the start and stop lines, the only ones at `info`, stay out of the output).
const SPANS_AT_INFO: &str = "warn,orderflow_services::consumer::attempt=info,\
    orderflow_services::context=info,orderflow_services::handlers=info,\
    orderflow_services::trace=info";

/// One way of running the pipeline.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Setting {
    /// No span is created (the log filter disables them, no exporter enables them).
    NoSpans,
    /// Spans as a process logging at `info` has them, no exporter (the default).
    Spans,
    /// Every span exported with OTLP (http/protobuf).
    Exported,
}

impl Setting {
    const ALL: [Setting; 3] = [Setting::NoSpans, Setting::Spans, Setting::Exported];

    fn label(self) -> &'static str {
        match self {
            Setting::NoSpans => "no spans (baseline)",
            Setting::Spans => "spans, no exporter (default)",
            Setting::Exported => "spans exported (OTLP http/protobuf)",
        }
    }

    fn env(self, endpoint: &str) -> Vec<(String, String)> {
        let pairs: &[(&str, &str)] = match self {
            Setting::NoSpans => &[("ORDERFLOW_LOG", "warn")],
            Setting::Spans => &[("ORDERFLOW_LOG", SPANS_AT_INFO)],
            Setting::Exported => &[
                ("ORDERFLOW_LOG", "warn"),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
                ("OTEL_SERVICE_NAME", "orderflow-bench"),
            ],
        };
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }
}

pub async fn telemetry(
    args: &BenchArgs,
    scratch: &Scratch,
    data_dirs: &mut Vec<tempfile::TempDir>,
) -> anyhow::Result<()> {
    out!(
        "\ntracing ({} orders a run, {ROUNDS} rounds of each setting alternating; pipeline CPU \
         per order, median of the rounds; metrics recorded throughout)",
        args.orders
    );
    let receiver = Receiver::start().await?;
    let mut cpu: [Vec<Duration>; 3] = Default::default();
    let mut exported = 0;
    for _ in 0..ROUNDS {
        for (i, setting) in Setting::ALL.into_iter().enumerate() {
            let before = receiver.bytes();
            let env = setting.env(&receiver.endpoint);
            let running = Arc::new(child::start(&Service::ALL, &env, scratch).await?);
            let cpu_before = running.cpu_time();
            running
                .place_many(args.orders, 64, Ids::TimeOrdered)
                .await?;
            done::wait_all_done(&running, CATCH_UP).await?;
            let cpu_after = running.cpu_time();
            // Stopping flushes the spans the exporter still holds.
            data_dirs.push(child::stop(running).await?);
            if let Some(per) = per_order(cpu_before, cpu_after, args.orders) {
                cpu[i].push(per);
            }
            if setting == Setting::Exported {
                exported += receiver.bytes() - before;
            }
        }
    }
    for runs in &mut cpu {
        runs.sort();
    }
    let median = |runs: &Vec<Duration>| runs.get(runs.len() / 2).copied();
    let Some(base) = median(&cpu[0]) else {
        out!("  (no CPU figures: /proc is not readable here)");
        return Ok(());
    };
    let ms = |d: Option<&Duration>| d.map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    for (setting, runs) in Setting::ALL.into_iter().zip(&cpu) {
        let Some(m) = median(runs) else { continue };
        let against = if setting == Setting::NoSpans {
            String::new()
        } else {
            format!(
                "  {:+.1} % against the baseline",
                (m.as_secs_f64() / base.as_secs_f64() - 1.0) * 100.0
            )
        };
        out!(
            "  {:<38} {:>7.3} ms per order (rounds {:.3}-{:.3}){against}",
            setting.label(),
            m.as_secs_f64() * 1000.0,
            ms(runs.first()),
            ms(runs.last()),
        );
    }
    let runs = (ROUNDS * args.orders) as f64;
    out!(
        "  OTLP received: {:.0} bytes per order ({} requests in all)",
        exported as f64 / runs,
        receiver.requests()
    );
    Ok(())
}

/// An OTLP/HTTP receiver that takes every export, counts it and keeps nothing.
struct Receiver {
    endpoint: String,
    counts: Arc<(AtomicU64, AtomicU64)>,
    _stop: tokio_util::sync::DropGuard,
}

impl Receiver {
    async fn start() -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let counts = Arc::new((AtomicU64::new(0), AtomicU64::new(0)));
        let counted = counts.clone();
        let app = axum::Router::new().route(
            "/v1/traces",
            axum::routing::post(move |body: axum::body::Bytes| {
                let counted = counted.clone();
                async move {
                    counted.0.fetch_add(body.len() as u64, Ordering::Relaxed);
                    counted.1.fetch_add(1, Ordering::Relaxed);
                    // An empty ExportTraceServiceResponse: every span accepted.
                    (
                        [("content-type", "application/x-protobuf")],
                        Vec::<u8>::new(),
                    )
                }
            }),
        );
        let stop = tokio_util::sync::CancellationToken::new();
        let stopped = stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(stopped.cancelled_owned())
                .await;
        });
        Ok(Self {
            endpoint,
            counts,
            _stop: stop.drop_guard(),
        })
    }

    fn bytes(&self) -> u64 {
        self.counts.0.load(Ordering::Relaxed)
    }

    fn requests(&self) -> u64 {
        self.counts.1.load(Ordering::Relaxed)
    }
}
