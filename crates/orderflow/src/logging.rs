//! Logs: to stderr, filtered by `ORDERFLOW_LOG` (tracing's `EnvFilter` syntax, default
//! `info`), as text or one JSON object per line (`--log-format`). Text carries colour
//! codes only at a terminal. Spans go to OpenTelemetry when an exporter is configured
//! (`telemetry`). sqlx's own notices (PostgreSQL's "relation already
//! exists, skipping" on every start) stay below the output at `warn`, unless
//! `ORDERFLOW_LOG` names `sqlx` itself.

use clap::ValueEnum;
use opentelemetry_sdk::trace::SdkTracer;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

/// The variable that sets what is logged.
pub const FILTER_VAR: &str = "ORDERFLOW_LOG";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum LogFormat {
    /// Lines for people.
    #[default]
    Text,
    /// One JSON object per line, for a log collector.
    Json,
}

/// The filter `ORDERFLOW_LOG` asks for (`info` when unset or unreadable), with sqlx
/// held at `warn` unless the variable names it.
fn filter(var: Option<&str>) -> EnvFilter {
    let asked = var
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .unwrap_or("info");
    let base = EnvFilter::try_new(asked).unwrap_or_else(|_| EnvFilter::new("info"));
    let louder_than_warn = base
        .max_level_hint()
        .is_none_or(|level| level > LevelFilter::WARN);
    if asked.contains("sqlx") || !louder_than_warn {
        return base;
    }
    EnvFilter::try_new(format!("{asked},sqlx=warn")).unwrap_or(base)
}

/// Installs the global subscriber: log lines to stderr as `ORDERFLOW_LOG` filters them
/// and, when `tracer` is given (spans are exported), orderflow's spans to OpenTelemetry
/// at `info` whatever the log filter says.
pub fn init(format: LogFormat, tracer: Option<SdkTracer>) {
    let lines = match format {
        // Colour only for a person at a terminal: in a file, a pipe or a log collector,
        // escape codes are noise around every field.
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .boxed(),
    };
    let spans = tracer.map(|tracer| {
        tracing_opentelemetry::layer()
            .with_tracer(tracer)
            // A task moves between threads and is polled many times: which thread made
            // a span says nothing, and timing every poll (busy/idle) costs each one.
            .with_threads(false)
            .with_tracked_inactivity(false)
            // The spans and lines of orderflow's own crates: not every query of sqlx's
            // or every poll of a client library's.
            .with_filter(Targets::new().with_target("orderflow", LevelFilter::INFO))
    });
    tracing_subscriber::registry()
        .with(lines.with_filter(filter(std::env::var(FILTER_VAR).ok().as_deref())))
        .with(spans)
        .init();
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn shown(var: Option<&str>) -> String {
        filter(var).to_string()
    }

    #[test]
    fn by_default_sqlx_notices_stay_below_the_output() -> TestResult {
        let default = shown(None);
        assert!(default.contains("sqlx=warn"), "{default}");
        assert!(shown(Some("debug")).contains("sqlx=warn"));
        Ok(())
    }

    #[test]
    fn a_filter_that_names_sqlx_or_is_quieter_than_warn_is_taken_as_given() -> TestResult {
        assert!(shown(Some("info,sqlx=debug")).contains("sqlx=debug"));
        // `error` alone must not let sqlx's warnings through.
        assert!(
            !shown(Some("error")).contains("sqlx"),
            "{}",
            shown(Some("error"))
        );
        Ok(())
    }
}
