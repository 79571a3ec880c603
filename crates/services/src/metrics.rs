//! What the services record through the `metrics` facade: orders accepted and finished,
//! events appended, what each consumer group handles, lag, HTTP requests, and the
//! pipeline's end-to-end figure. Without a recorder (tests, tools) recording is a no-op;
//! the binary installs the Prometheus one and serves it at `/metrics`. Names follow
//! Prometheus's conventions: the `orderflow_` prefix, base units, `_total` counters.
//! Every label takes few values (types, groups, topics, route templates; never an id).
//!
//! # Layout
//!
//! - `metrics/http.rs`: the middleware counting requests by route template and status.
//! - `metrics/sampler.rs`: the task that samples lag (consumer groups, relay,
//!   projections) into gauges.

use std::time::Duration;

use chrono::{DateTime, Utc};
use orderflow_domain::Event;
use orderflow_domain::order::OrderStatus;

pub mod http;
pub mod sampler;

/// Counter: orders accepted (`OrderCreated` appended).
pub const ORDERS_ACCEPTED: &str = "orderflow_orders_accepted_total";
/// Counter, by `status` and `reason`: orders reaching a final status.
pub const ORDERS_FINISHED: &str = "orderflow_orders_finished_total";
/// Counter, by `type`: events appended to the event store.
pub const EVENTS_APPENDED: &str = "orderflow_events_appended_total";
/// Histogram: seconds one append (of one or more streams, atomically) took.
pub const APPEND_SECONDS: &str = "orderflow_event_store_append_seconds";
/// Counter, by `group` and `topic`: records a consumer handled.
pub const RECORDS_HANDLED: &str = "orderflow_consumer_records_handled_total";
/// Histogram, by `group` and `topic`: seconds one handler call took, failed ones
/// included.
pub const HANDLER_SECONDS: &str = "orderflow_consumer_handler_seconds";
/// Counter, by `group`, `topic` and `kind` (`transient` or `permanent`): handler
/// failures.
pub const HANDLER_ERRORS: &str = "orderflow_consumer_errors_total";
/// Counter, by `group` and `topic`: handler calls tried again after a transient failure.
pub const RETRIES: &str = "orderflow_consumer_retries_total";
/// Counter, by `group` and `topic`: records set aside on the dead-letter topic.
pub const RECORDS_PARKED: &str = "orderflow_consumer_records_parked_total";
/// Gauge, by `group` and `topic`: records not yet handled.
pub const LAG_RECORDS: &str = "orderflow_consumer_lag_records";
/// Gauge, by `group` and `topic`: the age of the oldest record not yet handled.
pub const LAG_SECONDS: &str = "orderflow_consumer_lag_seconds";
/// Gauge, by `reader` (`relay`, `projections`): events of the store not yet handled.
pub const READER_LAG_EVENTS: &str = "orderflow_store_reader_lag_events";
/// Gauge, by `reader`: the age of the oldest event it has not handled.
pub const READER_LAG_SECONDS: &str = "orderflow_store_reader_lag_seconds";
/// Counter, by `method`, `route` (the template) and `status`: HTTP requests answered.
pub const HTTP_REQUESTS: &str = "orderflow_http_requests_total";
/// Histogram, by `method`, `route` and `status`: seconds to answer a request.
pub const HTTP_SECONDS: &str = "orderflow_http_request_duration_seconds";
/// Histogram: seconds from an order's `OrderCreated` to its `OrderShipped`.
pub const ACCEPTED_TO_SHIPPED_SECONDS: &str = "orderflow_order_accepted_to_shipped_seconds";

/// Upper bounds of the buckets of every `_seconds` histogram of the services: from half
/// a millisecond (an append, a handler) to an hour (an order waiting for its shipment).
pub const SECONDS_BUCKETS: [f64; 19] = [
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0, 300.0, 900.0, 3600.0,
];

/// Gives every series its help text (Prometheus's `# HELP`) and unit, once the binary
/// has installed a recorder; the group commits' of `orderflow_core::commit_stats` too.
pub fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    use orderflow_core::commit_stats as commits;
    describe_counter!(ORDERS_ACCEPTED, "Orders accepted (OrderCreated appended).");
    describe_counter!(
        ORDERS_FINISHED,
        "Orders reaching a final status, by status and reason (payment_declined, \
         stock_unavailable, customer, other; none for SHIPPED)."
    );
    describe_counter!(
        EVENTS_APPENDED,
        "Events appended to the event store, by type."
    );
    describe_histogram!(
        APPEND_SECONDS,
        Unit::Seconds,
        "Time one append to the event store took."
    );
    describe_histogram!(
        commits::GROUP_COMMIT_WRITES,
        Unit::Count,
        "Writes per group commit of the event store's writer: appends, and the other \
         small writes that share its database (checkpoints, analytics on SQLite)."
    );
    describe_histogram!(
        commits::GROUP_COMMIT_SECONDS,
        Unit::Seconds,
        "Time from beginning a group commit's transaction to its commit returning."
    );
    describe_counter!(
        commits::GROUP_COMMIT_FAILURES,
        "Group commits of the event store that failed."
    );
    describe_counter!(
        RECORDS_HANDLED,
        "Records a consumer group handled, by topic."
    );
    describe_histogram!(
        HANDLER_SECONDS,
        Unit::Seconds,
        "Time one handler call took, failed ones included."
    );
    describe_counter!(
        HANDLER_ERRORS,
        "Handler failures, by kind (transient: tried again; permanent: set aside)."
    );
    describe_counter!(
        RETRIES,
        "Handler calls tried again after a transient failure."
    );
    describe_counter!(
        RECORDS_PARKED,
        "Records set aside on their dead-letter topic."
    );
    describe_gauge!(
        LAG_RECORDS,
        "Records of the topic the group has not handled."
    );
    describe_gauge!(
        LAG_SECONDS,
        Unit::Seconds,
        "Age of the oldest record of the topic the group has not handled."
    );
    describe_gauge!(
        READER_LAG_EVENTS,
        "Events of the store the reader (relay, projections) has not handled."
    );
    describe_gauge!(
        READER_LAG_SECONDS,
        Unit::Seconds,
        "Age of the oldest event of the store the reader has not handled."
    );
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by method, route template and status."
    );
    describe_histogram!(
        HTTP_SECONDS,
        Unit::Seconds,
        "Time to answer an HTTP request, by method, route template and status."
    );
    describe_histogram!(
        ACCEPTED_TO_SHIPPED_SECONDS,
        Unit::Seconds,
        "Time from an order's OrderCreated to its OrderShipped."
    );
}

/// The bounded `reason` label of an order cancelled with `reason`.
fn cancel_reason(reason: &str) -> &'static str {
    if reason.starts_with("payment declined") {
        "payment_declined"
    } else if reason.starts_with("stock unavailable") {
        "stock_unavailable"
    } else if reason.starts_with("cancelled by the customer") {
        "customer"
    } else {
        "other"
    }
}

/// Records events appended in one call that took `took`.
pub(crate) fn appended<'a>(events: impl Iterator<Item = &'a Event>, took: Duration) {
    metrics::histogram!(APPEND_SECONDS).record(took.as_secs_f64());
    for event in events {
        metrics::counter!(EVENTS_APPENDED, "type" => event.type_name()).increment(1);
        match event {
            Event::OrderCreated(_) => metrics::counter!(ORDERS_ACCEPTED).increment(1),
            Event::OrderShipped(_) => metrics::counter!(ORDERS_FINISHED,
                "status" => OrderStatus::Shipped.as_str(), "reason" => "none")
            .increment(1),
            Event::OrderCancelled(e) => metrics::counter!(ORDERS_FINISHED,
                "status" => OrderStatus::Cancelled.as_str(), "reason" => cancel_reason(&e.reason))
            .increment(1),
            _ => {}
        }
    }
}

/// The `group` and `topic` labels of a consumer's series.
pub(crate) fn consumer_labels(group: &str, topic: &str) -> [(&'static str, String); 2] {
    [("group", group.to_owned()), ("topic", topic.to_owned())]
}

/// Records one handler call on a record of `topic` by `group`.
pub(crate) fn handler_call(group: &str, topic: &str, took: Duration, failed: Option<bool>) {
    let labels = consumer_labels(group, topic);
    metrics::histogram!(HANDLER_SECONDS, &labels).record(took.as_secs_f64());
    match failed {
        None => metrics::counter!(RECORDS_HANDLED, &labels).increment(1),
        Some(transient) => {
            let kind = if transient { "transient" } else { "permanent" };
            let [group, topic] = labels;
            metrics::counter!(HANDLER_ERRORS, &[group, topic, ("kind", kind.to_owned())])
                .increment(1);
        }
    }
}

/// Records a handler call tried again.
pub(crate) fn retried(group: &str, topic: &str) {
    metrics::counter!(RETRIES, &consumer_labels(group, topic)).increment(1);
}

/// Records a record set aside.
pub(crate) fn parked(group: &str, topic: &str) {
    metrics::counter!(RECORDS_PARKED, &consumer_labels(group, topic)).increment(1);
}

/// Records an order shipped at `shipped` that was accepted at `created`.
pub(crate) fn shipped(created: DateTime<Utc>, shipped: DateTime<Utc>) {
    let seconds = (shipped - created).num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6;
    metrics::histogram!(ACCEPTED_TO_SHIPPED_SECONDS).record(seconds.max(0.0));
}

#[cfg(test)]
mod tests;
