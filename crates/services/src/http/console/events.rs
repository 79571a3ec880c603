//! `/ui/events`: the event store's global log, oldest first from a position, a page at a
//! time, filtered by type, stream and time; each event decoded, with its envelope.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use maud::html;
use serde::Deserialize;

use super::layout::{page as frame, problem};
use super::orders::urlencoding;
use crate::http::AppState;
use crate::http::extract::Params;

/// Events per page.
const PAGE: usize = 50;
/// Events read to fill one page, at most (a filter that matches little stops there,
/// with a link to read on).
const SCAN: usize = 5_000;

#[derive(Debug, Default, Deserialize)]
pub struct Browse {
    /// Events after this global position.
    #[serde(default)]
    after: u64,
    #[serde(default, rename = "type")]
    event_type: String,
    #[serde(default)]
    stream: String,
    /// Occurred at or after this RFC 3339 time.
    #[serde(default)]
    from: String,
}

/// `GET /ui/events`.
pub async fn page(State(app): State<AppState>, Params(browse): Params<Browse>) -> Response {
    let from: Option<DateTime<Utc>> = match browse.from.trim() {
        "" => None,
        text => match DateTime::parse_from_rfc3339(text) {
            Ok(t) => Some(t.with_timezone(&Utc)),
            Err(_) => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    &format!("{text:?} is not an RFC 3339 time"),
                );
            }
        },
    };
    let wanted = |e: &orderflow_core::store::StoredEvent| {
        (browse.event_type.is_empty() || e.event_type == browse.event_type)
            && (browse.stream.is_empty() || e.stream_id == browse.stream)
            && from.is_none_or(|t| e.occurred_at >= t)
    };
    let store = &app.recorder.store;
    let (mut found, mut after, mut scanned) = (Vec::new(), browse.after, 0);
    while found.len() < PAGE && scanned < SCAN {
        let events = match store.read_all(after, 1000).await {
            Ok(events) => events,
            Err(e) => {
                tracing::warn!(error = %e, "the console could not read the event store");
                return problem(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the event store cannot be read now: try again in a moment",
                );
            }
        };
        let Some(last) = events.last().map(|e| e.position) else {
            break;
        };
        for event in events {
            scanned += 1;
            after = event.position;
            if wanted(&event) {
                found.push(event);
                if found.len() == PAGE {
                    break;
                }
            }
        }
        if found.len() < PAGE {
            after = last;
        }
    }
    let mut decoded = Vec::with_capacity(found.len());
    for stored in found {
        let value = match app
            .recorder
            .codec()
            .decode(stored.schema_id, &stored.payload)
            .await
        {
            Ok(event) => serde_json::to_string_pretty(&orderflow_core::codec::to_json(&event))
                .unwrap_or_default(),
            Err(e) => format!("cannot be decoded: {e}"),
        };
        decoded.push((stored, value));
    }
    let next = format!(
        "/ui/events?after={after}&type={}&stream={}&from={}",
        urlencoding(&browse.event_type),
        urlencoding(&browse.stream),
        urlencoding(&browse.from)
    );
    let body = html! {
        form.filters method="get" action="/ui/events" {
            label { "After position" input type="number" min="0" name="after" value=(browse.after); }
            label { "Type" input type="text" name="type" placeholder="OrderCreated" value=(browse.event_type); }
            label { "Stream" input type="text" name="stream" value=(browse.stream); }
            label { "From (RFC 3339)" input type="text" name="from" value=(browse.from); }
            button type="submit" { "Show" }
        }
        table #events {
            thead { tr {
                th.n { "position" } th { "type" } th { "stream" } th { "occurred" }
                th { "envelope" } th { "event" }
            } }
            tbody { @for (e, value) in &decoded {
                tr data-type=(e.event_type) {
                    td.n { (e.position) }
                    td { (e.event_type) }
                    td { (e.stream_id) " v" (e.version) }
                    td { (e.occurred_at.to_rfc3339()) }
                    td.muted {
                        "id " (e.event_id) br;
                        "correlation " (e.correlation_id) br;
                        "actor " (e.actor) br;
                        "schema " (e.schema_id)
                        @if let Some(c) = e.causation_id { br; "caused by " (c) }
                    }
                    td { pre { (value) } }
                }
            } }
        }
        @if decoded.is_empty() { p.muted { "No event matches after position " (browse.after) "." } }
        p { a href=(next) rel="next" { "Later events →" } }
    };
    frame("Events", "/ui/events", None, body).into_response()
}
