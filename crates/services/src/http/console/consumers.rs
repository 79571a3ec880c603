//! `/ui/consumers`: every consumer group with its members and lag, each group's
//! partitions (committed offset, end, lag, the oldest unhandled record's age) behind a
//! click (a `details` element: no script), and a form to replay a stopped group from the
//! beginning or a moment.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use maud::{PreEscaped, html};

use super::layout::{page as frame, problem};
use crate::http::AppState;

/// A replay form posts JSON to `POST /consumers/{group}/replay` and says what came of it.
const REPLAY: &str = r#"
for (const form of document.querySelectorAll('form.replay')) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const group = form.dataset.group;
    const answer = await fetch('/consumers/' + encodeURIComponent(group) + '/replay', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ from: form.from.value }) });
    const said = await answer.json();
    document.getElementById('outcome').textContent = answer.ok
      ? group + ': moved back on ' + said.partitions + ' partitions; it replays when it starts'
      : group + ': ' + said.error;
  });
}
"#;

/// `GET /ui/consumers`.
pub async fn page(State(app): State<AppState>) -> Response {
    let groups = match app.groups.groups(app.bus.as_ref()).await {
        Ok(groups) => groups,
        Err(e) => {
            tracing::warn!(error = %e, "the console could not list the consumer groups");
            return problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "the bus cannot be read now: try again in a moment",
            );
        }
    };
    let now = Utc::now();
    let body = html! {
        @if groups.is_empty() { p.muted { "No consumer group yet." } }
        div #consumer-groups { @for g in groups.iter() {
            section.group data-group=(g.group) {
                h2 { (g.group) }
                p {
                    @let live = g.members.iter().filter(|m| m.alive).count();
                    @if live == 0 { span.problem { "no live member" } }
                    @else { span.ok { (live) " live member(s)" } }
                    " · lag " (g.total_lag()) " records, "
                    (format!("{:.1}", g.lag_seconds(now))) " s"
                }
                @if !g.members.is_empty() {
                    ul { @for m in &g.members {
                        li { (m.client) " on " (m.host)
                            @if !m.alive { span.muted { " (gone)" } }
                            @if let Some(seen) = m.last_seen { span.muted { " · last seen " (seen.to_rfc3339()) } }
                        }
                    } }
                }
                form.filters.replay data-group=(g.group) {
                    label { "Replay from (RFC 3339, or beginning)"
                        input type="text" name="from" value="beginning"; }
                    button type="submit" { "Replay (group stopped)" }
                }
                details {
                    summary { (g.partitions.len()) " partitions" }
                    table {
                        thead { tr {
                            th { "topic" } th.n { "partition" } th.n { "committed" }
                            th.n { "end" } th.n { "lag" } th.n { "oldest unhandled (s)" }
                        } }
                        tbody { @for p in &g.partitions {
                            tr {
                                td { (p.topic) } td.n { (p.partition) }
                                td.n { @if let Some(c) = p.committed { (c) } @else { span.muted { "none" } } }
                                td.n { (p.end) } td.n { (p.lag) }
                                td.n { @if let Some(t) = p.oldest_unhandled {
                                    (format!("{:.1}", (now - t).num_milliseconds().max(0) as f64 / 1000.0))
                                } }
                            }
                        } }
                    }
                }
            }
        }
        }
        p #outcome role="status" {}
        script { (PreEscaped(REPLAY)) }
    };
    frame("Consumers", "/ui/consumers", None, body).into_response()
}
