use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use chrono::{TimeZone, Utc};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use orderflow_core::bus::{GroupLag, PartitionLag};
use orderflow_domain::Event;
use orderflow_domain::events::{OrderCancelled, OrderShipped};
use orderflow_domain::testing::{sample_created, sample_order_id};
use tower::ServiceExt;

use super::*;

type TestResult = Result<(), Box<dyn std::error::Error>>;

type Series = (String, Vec<(String, String)>, DebugValue);

/// Every series recorded (a snapshot drains the recorder: take one per test), each as
/// its name, its labels (sorted) and its value.
fn taken(snapshotter: &Snapshotter) -> Vec<Series> {
    let mut found: Vec<_> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let mut labels: Vec<_> = key
                .key()
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect();
            labels.sort();
            (key.key().name().to_owned(), labels, value)
        })
        .collect();
    found.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    found
}

/// The series of `name` among `taken`, as their labels and values.
fn series<'a>(taken: &'a [Series], name: &str) -> Vec<(Vec<(String, String)>, &'a DebugValue)> {
    taken
        .iter()
        .filter(|(n, ..)| n == name)
        .map(|(_, labels, value)| (labels.clone(), value))
        .collect()
}

fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn appends_count_orders_accepted_finished_and_events_by_type() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let cancelled = |reason: &str| -> Event {
        OrderCancelled {
            order_id: sample_order_id(),
            reason: reason.into(),
        }
        .into()
    };
    let shipped: Event = OrderShipped {
        order_id: sample_order_id(),
        tracking_number: "T-1".into(),
    }
    .into();
    let events = [
        sample_created(),
        sample_created(),
        shipped,
        cancelled("payment declined: over limit"),
        cancelled("something an operator wrote"),
    ];
    metrics::with_local_recorder(&recorder, || {
        appended(events.iter(), Duration::from_millis(3));
    });
    let snapshot = taken(&snapshotter);
    assert_eq!(
        series(&snapshot, ORDERS_ACCEPTED),
        vec![(vec![], &DebugValue::Counter(2))]
    );
    assert_eq!(
        series(&snapshot, ORDERS_FINISHED),
        vec![
            (
                labels(&[("reason", "none"), ("status", "SHIPPED")]),
                &DebugValue::Counter(1)
            ),
            (
                labels(&[("reason", "other"), ("status", "CANCELLED")]),
                &DebugValue::Counter(1)
            ),
            (
                labels(&[("reason", "payment_declined"), ("status", "CANCELLED")]),
                &DebugValue::Counter(1)
            ),
        ]
    );
    let by_type = series(&snapshot, EVENTS_APPENDED);
    assert_eq!(
        by_type.first(),
        Some(&(
            labels(&[("type", "OrderCancelled")]),
            &DebugValue::Counter(2)
        ))
    );
    assert_eq!(by_type.len(), 3, "{by_type:?}");
    assert_eq!(series(&snapshot, APPEND_SECONDS).len(), 1);
}

#[test]
fn lag_is_summed_per_topic_and_aged_from_its_oldest_unhandled_record() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let at = |s: i64| Utc.timestamp_opt(1_700_000_000 + s, 0).single();
    let partition = |topic: &str, partition, lag, oldest| PartitionLag {
        topic: topic.into(),
        partition,
        committed: Some(1),
        end: 1 + lag,
        lag,
        oldest_unhandled: oldest,
    };
    let groups = [GroupLag {
        group: "payment".into(),
        partitions: vec![
            partition("orders", 0, 3, at(10)),
            partition("orders", 1, 2, at(4)),
            partition("orders.dlq", 0, 0, at(0)),
        ],
        members: vec![],
    }];
    metrics::with_local_recorder(&recorder, || {
        sampler::record_groups(&groups, at(30).unwrap_or_default());
    });
    let snapshot = taken(&snapshotter);
    let of = |topic| labels(&[("group", "payment"), ("topic", topic)]);
    assert_eq!(
        series(&snapshot, LAG_RECORDS),
        vec![
            (of("orders"), &DebugValue::Gauge(5.0.into())),
            (of("orders.dlq"), &DebugValue::Gauge(0.0.into())),
        ]
    );
    assert_eq!(
        series(&snapshot, LAG_SECONDS),
        vec![
            (of("orders"), &DebugValue::Gauge(26.0.into())),
            (of("orders.dlq"), &DebugValue::Gauge(0.0.into())),
        ]
    );
}

#[tokio::test]
async fn requests_are_counted_by_their_route_template_never_their_path() -> TestResult {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let app = axum::Router::new()
        .route(
            "/orders/{order_id}",
            axum::routing::get(|| async { "an order" }),
        )
        .route_layer(axum::middleware::from_fn(http::track));
    for id in ["a", "b"] {
        let request = Request::get(format!("/orders/{id}")).body(Body::empty())?;
        app.clone().oneshot(request).await?;
    }
    let snapshot = taken(&snapshotter);
    let route = labels(&[
        ("method", "GET"),
        ("route", "/orders/{order_id}"),
        ("status", "200"),
    ]);
    assert_eq!(
        series(&snapshot, HTTP_REQUESTS),
        vec![(route.clone(), &DebugValue::Counter(2))]
    );
    let timed = series(&snapshot, HTTP_SECONDS);
    assert!(
        matches!(&timed[..], [(l, DebugValue::Histogram(v))] if *l == route && v.len() == 2),
        "{timed:?}"
    );
    Ok(())
}
