//! `/ui/orders/{id}`: one order's story. Every event about it, from every service, in
//! the order they were recorded, one lane per service, each with the step that caused
//! it and how long after that cause it came; the emails it sent, rendered as the
//! customer got them; its trace id; what it still waits for; and a slider that shows
//! the order as it was after any step (`?step=N`, folded from its events up to there).

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use orderflow_core::store::StoredEvent;
use orderflow_domain::events::NotificationKind;
use orderflow_domain::order::{Order, OrderState};
use orderflow_domain::{Aggregate, Event, OrderId, streams};
use serde::Deserialize;

use super::layout::{page as frame, problem};
use crate::handlers::notification::compose;
use crate::http::AppState;
use crate::http::extract::{Params, PathParams};
use crate::pipeline::order_waiting_for;

/// The services, as the timeline's lanes, in the order an order meets them.
const LANES: [&str; 6] = [
    "api",
    "payment",
    "inventory",
    "orders",
    "shipping",
    "notification",
];

#[derive(Debug, Default, Deserialize)]
pub struct At {
    /// Show the order as it was after this step (1 is the first event).
    step: Option<usize>,
}

fn lane_of(actor: &str) -> &str {
    LANES
        .iter()
        .find(|lane| actor == **lane || actor.starts_with(&format!("{lane}:")))
        .copied()
        .unwrap_or(actor)
}

fn money(minor: i64, currency: &str) -> String {
    format!("{}.{:02} {currency}", minor / 100, minor % 100)
}

/// The order's facts; `which` (`now`, `then`) names them in the page.
fn summary(state: &OrderState, which: &str) -> Markup {
    let currency = state.currency.as_str();
    html! {
        dl id=(format!("{which}-order")) {
            dt { "status" } dd.status id=(format!("{which}-status")) { (state.status.as_str()) }
            dt { "customer" } dd { (state.customer_id) }
            dt { "total" } dd { (money(state.lines.total().minor(), currency)) }
            @if let Some(address) = &state.shipping_address {
                dt { "ship to" } dd id=(format!("{which}-ship-to")) { (address) }
            }
            @if let Some(reason) = &state.cancel_reason { dt { "cancelled" } dd { (reason) } }
        }
    }
}

/// The emails the order's `NotificationSent` events record, as the customer got them:
/// subject, text part, HTML part.
fn emails(history: &[(StoredEvent, Event)], state: &OrderState) -> Vec<(String, String, String)> {
    let tracking = history.iter().find_map(|(_, e)| match e {
        Event::OrderShipped(s) => Some(s.tracking_number.clone()),
        _ => None,
    });
    history
        .iter()
        .filter_map(|(_, e)| match e {
            Event::NotificationSent(sent) => {
                let detail = match sent.kind {
                    NotificationKind::OrderShipped => tracking.clone().unwrap_or_default(),
                    NotificationKind::OrderCancelled => {
                        state.cancel_reason.clone().unwrap_or_default()
                    }
                    NotificationKind::OrderReceived => String::new(),
                };
                let email = compose(sent.kind, state, sent.recipient.clone(), &detail);
                Some((email.subject, email.text, email.html))
            }
            _ => None,
        })
        .collect()
}

/// `GET /ui/orders/{id}`.
pub async fn page(
    State(app): State<AppState>,
    PathParams(order_id): PathParams<String>,
    Params(at): Params<At>,
) -> Response {
    let not_found = || problem(StatusCode::NOT_FOUND, &format!("no order {order_id}"));
    let Ok(id) = OrderId::parse(order_id.clone()) else {
        return not_found();
    };
    let read = match app.recorder.history(id.as_str()).await {
        Ok(read) => read,
        Err(e) => {
            tracing::warn!(error = %e, "the console could not read an order's history");
            return problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "the event store cannot be read now: try again in a moment",
            );
        }
    };
    // Events this build cannot read are left out of the story (the API's history shows
    // them with the reason).
    let history: Vec<(StoredEvent, Event)> = read
        .into_iter()
        .filter_map(|(stored, event)| event.ok().map(|e| (stored, e)))
        .collect();
    if history.is_empty() {
        return not_found();
    }
    let last = history.len();
    let step = at.step.unwrap_or(last).clamp(1, last);
    let order_stream = streams::order(&id);
    let fold = |upto: usize| {
        Order::from_events(
            history[..upto]
                .iter()
                .filter(|(s, _)| s.stream_id == order_stream)
                .map(|(_, e)| e),
        )
    };
    let (then, now) = (fold(step), fold(last));
    let Some(current) = now.state.clone() else {
        return not_found();
    };
    let waiting = if matches!(current.status.as_str(), "SHIPPED" | "CANCELLED") {
        vec![]
    } else {
        order_waiting_for(&app.recorder, app.bus.as_ref(), &app.groups, &id)
            .await
            .unwrap_or_default()
    };
    let index: HashMap<uuid::Uuid, usize> = history
        .iter()
        .enumerate()
        .map(|(i, (s, _))| (s.event_id, i))
        .collect();
    let start = history[0].0.occurred_at;
    let trace_id = history[0]
        .0
        .trace_context
        .as_deref()
        .and_then(orderflow_core::trace_context::trace_id);
    let mut lanes: Vec<&str> = LANES.to_vec();
    for (s, _) in &history {
        let lane = lane_of(&s.actor);
        if !lanes.contains(&lane) {
            lanes.push(lane);
        }
    }
    let at_time = history[step - 1].0.occurred_at;
    let body = html! {
        @if let Some(trace) = &trace_id { p.muted { "trace " code #trace { (trace) } } }
        h2 { "Now" }
        (summary(&current, "now"))
        @if !waiting.is_empty() {
            p #waiting { "Waiting for: "
                @for (i, w) in waiting.iter().enumerate() {
                    @if i > 0 { ", " }
                    (w.step.as_str()) " (" (w.group) ")"
                }
            }
        }
        h2 { "As it was" }
        form.slider method="get" {
            label for="step" {
                "After step " output #step-shown { (step) } " of " (last) ", "
                (at_time.to_rfc3339()) " (" (history[step - 1].0.event_type) ")"
            }
            br;
            input #step type="range" name="step" min="1" max=(last) value=(step)
                onchange="this.form.submit()";
            noscript { button type="submit" { "Show" } }
        }
        @match &then.state {
            Some(state) => (summary(state, "then")),
            None => p.muted { "The order did not exist yet." },
        }
        h2 { "Timeline" }
        table.lanes #timeline {
            thead { tr {
                th.n { "#" } th.n { "+ms" } th.n { "took (ms)" }
                @for lane in &lanes { th { (lane) } }
            } }
            tbody {
                @for (i, (stored, _)) in history.iter().enumerate() {
                    @let cause = stored.causation_id.and_then(|c| index.get(&c).copied());
                    @let since = cause.map(|c| history[c].0.occurred_at)
                        .unwrap_or(if i > 0 { history[i - 1].0.occurred_at } else { start });
                    tr data-lane=(lane_of(&stored.actor)) data-type=(stored.event_type) {
                        td.n { (i + 1) }
                        td.n { ((stored.occurred_at - start).num_milliseconds()) }
                        td.n { ((stored.occurred_at - since).num_milliseconds().max(0)) }
                        @for lane in &lanes {
                            @if *lane == lane_of(&stored.actor) {
                                td.lane.step {
                                    a href=(format!("?step={}", i + 1)) { (stored.event_type) }
                                    @if let Some(c) = cause { span.muted { " ← #" (c + 1) } }
                                    br; span.muted { (stored.stream_id) " v" (stored.version) }
                                }
                            } @else { td.lane {} }
                        }
                    }
                }
            }
        }
        h2 { "Emails" }
        @let sent = emails(&history, &current);
        @if sent.is_empty() { p.muted { "None sent yet." } }
        @for (subject, text, html_part) in &sent {
            h3 { (subject) }
            // The HTML part as a mail reader shows it, in a frame that runs nothing.
            iframe.mail sandbox="" title=(subject) srcdoc=(html_part) {}
            details { summary { "the text part" } pre.mail { (text) } }
        }
    };
    frame(&format!("Order {id}"), "/ui/orders", None, body).into_response()
}
