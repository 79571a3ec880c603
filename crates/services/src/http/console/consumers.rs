//! `/ui/consumers`: every consumer group with its members and lag, each group's
//! partitions (committed offset, end, lag, the oldest unhandled record's age) behind a
//! click (a `details` element: no script).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use maud::html;

use super::layout::{page as frame, problem};
use crate::http::AppState;

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
        p.muted { "To replay a stopped group from a time: " code { "orderflow replay --group G --from TIME" } "." }
    };
    frame("Consumers", "/ui/consumers", None, body).into_response()
}
