//! `/ui`: the pipeline as a flow of stages, each with the orders waiting there and the
//! group that moves them on, then every group with its members, lag and parked records;
//! what `GET /pipeline` says, loaded again every five seconds. A stage or group whose
//! group has no live member, or whose oldest unhandled record is older than
//! [`BEHIND_SECONDS`], is shown red.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::html;

use super::layout::{page as frame, problem};
use crate::http::AppState;
use crate::http::operations::pipeline::{GroupBody, view};

/// A group this far behind (its oldest unhandled record's age) is shown red.
pub const BEHIND_SECONDS: f64 = 10.0;

fn in_trouble(group: Option<&GroupBody>) -> bool {
    group.is_some_and(|g| !g.live || g.lag_seconds > BEHIND_SECONDS)
}

/// `GET /ui`.
pub async fn page(State(app): State<AppState>) -> Response {
    let pipeline = match view(&app).await {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = ?e, "the console could not read the pipeline");
            return problem(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "the pipeline cannot be read now: try again in a moment",
            );
        }
    };
    let group = |name: &str| pipeline.groups.iter().find(|g| g.group == name);
    let body = html! {
        p.muted {
            "API → event store → relay → payment and inventory → orders → shipping → \
             notification; analytics and the projections read along. Loaded again every \
             5 s."
        }
        h2 { "Stages" }
        table #stages {
            thead { tr {
                th { "waiting for" } th { "group" } th.n { "orders" }
                th { "oldest" } th.n { "age (s)" } th.n { "passed in the last minute" }
            } }
            tbody {
                @for stage in &pipeline.stages {
                    tr class=[in_trouble(group(&stage.group)).then_some("bad")]
                        data-step=(stage.step) {
                        td { (stage.step) }
                        td { (stage.group) }
                        td.n { (stage.orders) }
                        td { @if let Some(id) = &stage.oldest_order_id {
                            a href=(format!("/ui/orders/{id}")) { (id) }
                        } @else { span.muted { "none" } } }
                        td.n { @if let Some(age) = stage.oldest_age_seconds {
                            (format!("{age:.1}"))
                        } }
                        td.n { (stage.last_minute) }
                    }
                }
            }
        }
        @if !pipeline.complete {
            p.muted { "Not every open order could be examined: the counts are lower bounds." }
        }
        h2 { "Consumer groups" }
        table #groups {
            thead { tr {
                th { "group" } th { "live members" } th.n { "lag (records)" }
                th.n { "lag (s)" } th.n { "parked" }
            } }
            tbody {
                @for g in &pipeline.groups {
                    tr class=[in_trouble(Some(g)).then_some("bad")] data-group=(g.group) {
                        td { (g.group) }
                        td { @if g.live {
                            span.ok { (g.members.iter().filter(|m| m.alive).count()) }
                        } @else { "none" } }
                        td.n { (g.lag) }
                        td.n { (format!("{:.1}", g.lag_seconds)) }
                        td.n { (g.parked) }
                    }
                }
            }
        }
        @if let Some(rebuild) = &pipeline.rebuild {
            h2 { "Read-model rebuild" }
            p {
                (rebuild.done) " of " (rebuild.total) " events, started "
                (rebuild.started_at.to_rfc3339()) ": "
                (rebuild.outcome.clone().unwrap_or_else(|| "running".into()))
            }
        }
    };
    frame("Pipeline", "/ui", Some(5), body).into_response()
}
