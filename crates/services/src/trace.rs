//! The W3C trace context (`traceparent`) of the work at hand: set for each HTTP request
//! (the client's `traceparent`, or a new trace) and for each record a handler handles
//! (its record's `traceparent` header), and stamped by [`crate::context::Recorder`] on
//! every event appended meanwhile. The relay carries it in the record's headers, so every
//! event about an order, whichever service records it, is in the trace of the request
//! that placed it.

use std::future::Future;

use orderflow_core::trace_context;

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

/// HTTP middleware: runs the request within its trace context (see [`for_request`]).
pub async fn request_layer(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let incoming = request
        .headers()
        .get(trace_context::HEADER)
        .and_then(|v| v.to_str().ok());
    within(Some(for_request(incoming)), next.run(request)).await
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
