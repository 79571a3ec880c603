//! The W3C trace context (`traceparent`) of the work at hand, and the spans that make
//! one order one trace.
//!
//! Each routed HTTP request (the client's `traceparent`, or a new trace) and each record a
//! handler handles (its record's `traceparent` header) runs in a span ([`start`]) whose
//! context becomes the current one ([`within`]); [`crate::context::Recorder`] stamps it
//! on every event appended meanwhile, and the relay carries it in the record's headers.
//! So every event about an order, whichever service records it, is in the trace of the
//! request that placed it, and each handler's span is the child of the span that
//! recorded the event it handles: causation is the spans' parentage.
//!
//! The spans are `tracing` spans. When the binary installs OpenTelemetry's layer (an
//! exporter is configured), they are OpenTelemetry spans too, with the ids the
//! `traceparent`s carry; when it does not, [`start`] still continues the trace with a
//! span id of its own, so history shows trace ids either way.

use std::collections::HashMap;
use std::future::Future;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use orderflow_core::trace_context;
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt;

tokio::task_local! {
    static CURRENT: Option<String>;
}

/// Runs `work` with `traceparent` as the current trace context.
pub async fn within<F: Future>(traceparent: Option<String>, work: F) -> F::Output {
    CURRENT.scope(traceparent, work).await
}

/// The current trace context, if the work at hand has one.
pub fn current() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok().flatten()
}

/// Starts `span` as a child of `parent` (a well-formed `traceparent`, else the root of a
/// new trace) and returns the trace context work inside it passes on: the span's own
/// when it is an OpenTelemetry span, else a new span id in `parent`'s trace.
pub fn start(span: &tracing::Span, parent: Option<&str>) -> String {
    let parent = parent.filter(|p| trace_context::trace_id(p).is_some());
    if let Some(parent) = parent {
        let carrier = HashMap::from([(trace_context::HEADER.to_owned(), parent.to_owned())]);
        // Refused only when the span is not an OpenTelemetry span; then it has no
        // context to give below either.
        let _ = span.set_parent(TraceContextPropagator::new().extract(&carrier));
    }
    own_context(span).unwrap_or_else(|| for_request(parent))
}

/// The `traceparent` of `span`, when it is a valid OpenTelemetry span.
fn own_context(span: &tracing::Span) -> Option<String> {
    let context = span.context();
    if !context.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&context, &mut carrier);
    carrier.remove(trace_context::HEADER)
}

/// The trace context of a request that came with `incoming`: a span of the caller's trace
/// when it sent a well-formed one, else the first span of a new trace.
pub fn for_request(incoming: Option<&str>) -> String {
    let trace = incoming
        .and_then(trace_context::trace_id)
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let span = &uuid::Uuid::new_v4().simple().to_string()[..16];
    format!("00-{trace}-{span}-01")
}

/// The trace context a bus record carries in its `traceparent` header, if well formed.
pub fn of_record(record: &orderflow_core::Record) -> Option<String> {
    let value = std::str::from_utf8(record.header(trace_context::HEADER)?).ok()?;
    trace_context::trace_id(value).map(|_| value.to_owned())
}

/// The trace id of a bus record's trace context, or `""` when it has none (a log field).
pub fn trace_id_of(record: &orderflow_core::Record) -> String {
    of_record(record)
        .and_then(|t| trace_context::trace_id(&t).map(str::to_owned))
        .unwrap_or_default()
}

/// HTTP middleware: runs the request within the trace context its caller sent, if well
/// formed, for [`request_span`] to continue once routing has matched.
pub async fn request_layer(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let incoming = request
        .headers()
        .get(trace_context::HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| trace_context::trace_id(v).is_some())
        .map(str::to_owned);
    within(incoming, next.run(request)).await
}

/// Route middleware: runs a routed request in a server span named after its route
/// template (`POST /orders/{order_id}`, as OpenTelemetry's HTTP conventions name it),
/// the child of the caller's span or the root of a new trace, within its context.
pub async fn request_span(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("", |p| p.as_str())
        .to_owned();
    let span = tracing::info_span!(
        "request",
        otel.name = %format_args!("{method} {route}"),
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        http.request.method = %method,
        http.route = %route,
        http.response.status_code = tracing::field::Empty,
        trace_id = tracing::field::Empty,
    );
    let traceparent = start(&span, current().as_deref());
    if let Some(id) = trace_context::trace_id(&traceparent) {
        span.record("trace_id", id);
    }
    let response = within(Some(traceparent), next.run(request))
        .instrument(span.clone())
        .await;
    let status = response.status();
    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
    response
}

#[cfg(test)]
mod tests {
    use orderflow_core::trace_context::trace_id;

    use super::*;

    #[test]
    fn a_request_continues_its_callers_trace() {
        let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let ours = for_request(Some(incoming));
        assert_eq!(trace_id(&ours), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
        assert_ne!(ours, incoming);
    }

    #[test]
    fn a_request_without_a_valid_trace_starts_a_new_one() {
        let a = for_request(None);
        let b = for_request(Some("garbage"));
        assert!(trace_id(&a).is_some() && trace_id(&b).is_some());
        assert_ne!(trace_id(&a), trace_id(&b));
    }

    #[tokio::test]
    async fn work_sees_the_trace_context_it_runs_within() {
        assert_eq!(current(), None);
        let seen = within(Some("ctx".into()), async { current() }).await;
        assert_eq!(seen.as_deref(), Some("ctx"));
    }
}
