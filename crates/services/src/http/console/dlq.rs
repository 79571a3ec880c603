//! `/ui/dlq`: the records set aside on the dead-letter topics that wait for a decision,
//! a table per topic: the event decoded (or why it cannot be), why it was parked, where from,
//! how often it failed; and, for an operator, replay (back to its group) and discard
//! (with a reason), through the API's own `POST /dlq/{id}/replay` and `/discard`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{PreEscaped, html};
use orderflow_core::bus::dead_letters::{DeadLetters, Filter};

use super::layout::{page as frame, problem};
use crate::dead_letters::detail;
use crate::http::AppState;

/// The buttons post JSON to the API (a form could not: the API refuses cross-site
/// simple requests), then show what it said and load the page again.
const ACTIONS: &str = r#"
document.addEventListener('click', async (event) => {
  const button = event.target.closest('button[data-action]');
  if (!button) return;
  const { id, action } = button.dataset;
  let body = {};
  if (action === 'discard') {
    const reason = prompt('Why is ' + id + ' given up for good?');
    if (!reason) return;
    body = { reason };
  }
  const answer = await fetch('/dlq/' + encodeURIComponent(id) + '/' + action, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const said = document.getElementById('outcome');
  if (answer.ok) { said.textContent = id + ': ' + action + ' done'; location.reload(); }
  else { said.textContent = id + ': ' + ((await answer.json()).error || answer.status); }
});
"#;

/// `GET /ui/dlq`.
pub async fn page(State(app): State<AppState>) -> Response {
    let filter = Filter {
        topic: None,
        all: false,
    };
    let parked = match DeadLetters::new(app.bus.clone()).list(&filter).await {
        Ok(parked) => parked,
        Err(e) => {
            tracing::warn!(error = %e, "the console could not list the parked records");
            return problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "the dead-letter topics cannot be read now: try again in a moment",
            );
        }
    };
    let mut rows = Vec::with_capacity(parked.len());
    for p in &parked {
        let mut row = detail(p, Some(app.recorder.codec())).await;
        // The event as JSON, as the event browser shows events.
        if let Ok(event) = app.recorder.codec().decode_framed(&p.record.value).await {
            row["json"] = orderflow_core::codec::to_json(&event);
        }
        rows.push(row);
    }
    let mut topics: Vec<String> = rows
        .iter()
        .map(|r| r["topic"].as_str().unwrap_or_default().to_owned())
        .collect();
    topics.sort();
    topics.dedup();
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    };
    let body = html! {
        p #outcome role="status" {}
        @if rows.is_empty() { p.muted { "Nothing is parked." } }
        div #parked {
        @for topic in &topics {
        h2 { (topic) }
        table.parked {
            thead { tr {
                th { "record" } th { "order" } th { "group" } th { "why" }
                th { "event" } th.n { "attempts" } th { "" }
            } }
            tbody { @for r in rows.iter().filter(|r| text(&r["topic"]) == *topic) {
                @let id = text(&r["id"]);
                tr data-id=(id) {
                    td { (id) br; span.muted {
                        "from " (text(&r["origin"]["topic"])) " "
                        (text(&r["origin"]["partition"])) ":" (text(&r["origin"]["offset"]))
                    } }
                    td { a href=(format!("/ui/orders/{}", text(&r["key"]))) { (text(&r["key"])) } }
                    td { (text(&r["group"])) }
                    td { (text(&r["reason"])) br; span.muted { (text(&r["kind"])) } }
                    td {
                        @if r["event"].is_object() {
                            (text(&r["event"]["type"]))
                            pre { (serde_json::to_string_pretty(&r["json"]).unwrap_or_default()) }
                        } @else {
                            span.muted { "cannot be decoded: " (text(&r["decodeError"])) }
                            br; code { (text(&r["valueHex"])) }
                        }
                    }
                    td.n { (text(&r["attempts"])) br; span.muted {
                        (text(&r["firstFailure"])) " – " (text(&r["lastFailure"]))
                    } }
                    td {
                        button type="button" data-action="replay" data-id=(id) { "Replay" }
                        " "
                        button type="button" data-action="discard" data-id=(id) { "Discard" }
                    }
                }
            } }
        }
        }
        }
        script { (PreEscaped(ACTIONS)) }
    };
    frame("Dead letters", "/ui/dlq", None, body).into_response()
}
