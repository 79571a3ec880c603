//! Traces: the services' spans exported with OTLP when the standard variables ask for
//! it, and nothing exported when they do not.
//!
//! Export is on when `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT`
//! is set (and neither `OTEL_TRACES_EXPORTER=none` nor `OTEL_SDK_DISABLED=true` says
//! otherwise), over `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` / `OTEL_EXPORTER_OTLP_PROTOCOL`
//! (`http/protobuf`, the default; `http/json`; `grpc`). The exporter reads the other
//! `OTEL_EXPORTER_OTLP_*` variables (headers, timeout) itself, the resource
//! `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES` (service name `orderflow` when
//! neither names one), the batch processor `OTEL_BSP_*`. Spans queued when the process
//! stops are flushed before it exits ([`Traces::shutdown`]).

use std::time::Duration;

use anyhow::Context as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};

/// How long the spans still queued at exit may take to leave.
const FLUSH_AT_EXIT: Duration = Duration::from_secs(5);

/// What the `OTEL_*` variables ask for: where spans go, if anywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Export {
    Off,
    Otlp(Protocol),
}

impl Export {
    /// Reads the variables through `var` (the environment, or a test's map).
    pub fn asked(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let set = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let disabled = set("OTEL_SDK_DISABLED").is_some_and(|v| v.trim() == "true");
        let exporter = set("OTEL_TRACES_EXPORTER");
        let none = exporter.as_deref().is_some_and(|e| e.trim() == "none");
        let endpoint = set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .or_else(|| set("OTEL_EXPORTER_OTLP_ENDPOINT"));
        if disabled || none || endpoint.is_none() {
            return Ok(Export::Off);
        }
        if let Some(other) = exporter.filter(|e| e.trim() != "otlp") {
            anyhow::bail!("OTEL_TRACES_EXPORTER={other} is not supported; use otlp or none");
        }
        let (name, protocol) = [
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ]
        .into_iter()
        .find_map(|name| set(name).map(|v| (name, v)))
        .unwrap_or(("", "http/protobuf".into()));
        let protocol = match protocol.trim() {
            "http/protobuf" => Protocol::HttpBinary,
            "http/json" => Protocol::HttpJson,
            "grpc" => Protocol::Grpc,
            other => anyhow::bail!(
                "{name}={other} is not a protocol; use http/protobuf, http/json or grpc"
            ),
        };
        Ok(Export::Otlp(protocol))
    }
}

/// The process's tracer provider, when spans are exported.
pub struct Traces {
    provider: Option<SdkTracerProvider>,
}

impl Traces {
    /// Starts what the environment asks for. Must run inside the Tokio runtime (the gRPC
    /// exporter's connection lives there).
    pub fn from_env() -> anyhow::Result<Self> {
        let export = Export::asked(|name| std::env::var(name).ok())?;
        let Export::Otlp(protocol) = export else {
            return Ok(Traces { provider: None });
        };
        let exporter = match protocol {
            Protocol::Grpc => opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .build(),
            http => opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_protocol(http)
                .build(),
        }
        .context("cannot set up the OTLP trace exporter")?;
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource())
            .build();
        Ok(Traces {
            provider: Some(provider),
        })
    }

    /// The tracer the services' spans go to, when spans are exported.
    pub fn tracer(&self) -> Option<SdkTracer> {
        self.provider.as_ref().map(|p| p.tracer("orderflow"))
    }

    /// Exports the spans still queued, within [`FLUSH_AT_EXIT`]. Must run inside the
    /// Tokio runtime.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(e) = provider.shutdown_with_timeout(FLUSH_AT_EXIT)
        {
            tracing::warn!(error = %e, "spans still queued at exit may be lost");
        }
    }
}

/// The resource the standard variables describe, named `orderflow` when they name no
/// service.
fn resource() -> Resource {
    let named = std::env::var("OTEL_SERVICE_NAME").is_ok_and(|v| !v.trim().is_empty())
        || std::env::var("OTEL_RESOURCE_ATTRIBUTES").is_ok_and(|v| v.contains("service.name="));
    let resource = Resource::builder();
    if named {
        resource.build()
    } else {
        resource.with_service_name("orderflow").build()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn asked(vars: &[(&str, &str)]) -> anyhow::Result<Export> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Export::asked(|name| vars.get(name).cloned())
    }

    #[test]
    fn nothing_is_exported_when_no_endpoint_is_set() -> anyhow::Result<()> {
        assert_eq!(asked(&[])?, Export::Off);
        assert_eq!(asked(&[("OTEL_SERVICE_NAME", "payment")])?, Export::Off);
        assert_eq!(
            asked(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")])?,
            Export::Off
        );
        assert_eq!(asked(&[("OTEL_EXPORTER_OTLP_ENDPOINT", " ")])?, Export::Off);
        Ok(())
    }

    #[test]
    fn an_endpoint_turns_export_on_over_http_protobuf_by_default() -> anyhow::Result<()> {
        let endpoint = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318");
        assert_eq!(asked(&[endpoint])?, Export::Otlp(Protocol::HttpBinary));
        let traces = (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "http://c:4318/v1/traces",
        );
        assert_eq!(asked(&[traces])?, Export::Otlp(Protocol::HttpBinary));
        Ok(())
    }

    #[test]
    fn the_protocol_variables_choose_grpc_or_json_the_traces_one_first() -> anyhow::Result<()> {
        let endpoint = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317");
        let grpc = ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc");
        assert_eq!(asked(&[endpoint, grpc])?, Export::Otlp(Protocol::Grpc));
        let json = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json");
        assert_eq!(
            asked(&[endpoint, grpc, json])?,
            Export::Otlp(Protocol::HttpJson)
        );
        Ok(())
    }

    #[test]
    fn export_can_be_turned_off_with_an_endpoint_set() -> anyhow::Result<()> {
        let endpoint = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318");
        assert_eq!(
            asked(&[endpoint, ("OTEL_TRACES_EXPORTER", "none")])?,
            Export::Off
        );
        assert_eq!(
            asked(&[endpoint, ("OTEL_SDK_DISABLED", "true")])?,
            Export::Off
        );
        Ok(())
    }

    #[test]
    fn an_unknown_protocol_or_exporter_is_refused_by_name() {
        let endpoint = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318");
        let error = asked(&[endpoint, ("OTEL_EXPORTER_OTLP_PROTOCOL", "thrift")]);
        let message = format!(
            "{:#}",
            error.err().map(|e| e.to_string()).unwrap_or_default()
        );
        assert!(
            message.contains("OTEL_EXPORTER_OTLP_PROTOCOL=thrift"),
            "{message}"
        );
        let error = asked(&[endpoint, ("OTEL_TRACES_EXPORTER", "zipkin")]);
        assert!(error.is_err());
    }
}
