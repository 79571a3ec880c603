//! `/ui`: the pipeline as a flow of stages, each with the orders waiting there and the
//! group that moves them on, then every group with its members, lag and parked records;
//! what `GET /pipeline` says, kept up to date by server-sent events every two seconds
//! (`/ui/pipeline/updates`), with a chart of the last two minutes. A stage or group whose
//! group has no live member, or whose oldest unhandled record is older than
//! [`BEHIND_SECONDS`], is shown red.

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use maud::{Markup, PreEscaped, html};

use super::layout::{page as frame, problem};
use crate::http::AppState;
use crate::http::operations::pipeline::{GroupBody, Pipeline, view};

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
    let body = html! {
        p.muted {
            "API → event store → relay → payment and inventory → orders → shipping → \
             notification; analytics and the projections read along. Updated live."
        }
        figure #chart aria-label="orders waiting and records lagging, the last minutes" {
            svg viewBox="0 0 600 120" width="100%" height="120" role="img" {
                polyline #waiting-line fill="none" stroke="currentColor" stroke-width="2" points="" {}
                polyline #lag-line fill="none" stroke="#cf222e" stroke-width="2" stroke-dasharray="4 3" points="" {}
            }
            figcaption.muted { "— orders waiting   - - records lagging (the last 2 minutes)" }
        }
        div #live { (fragment(&pipeline)) }
        script { (PreEscaped(LIVE)) }
    };
    // Without script, the page loads itself again instead.
    frame("Pipeline", "/ui", Some(5), body).into_response()
}

/// Replaces the tables with each update and draws the last two minutes.
const LIVE: &str = r#"
const samples = [];
const draw = (id, key) => {
  const max = Math.max(1, ...samples.map((s) => s[key]));
  const points = samples.map((s, i) =>
    (i * 600 / 59).toFixed(1) + ',' + (115 - s[key] * 110 / max).toFixed(1));
  document.getElementById(id).setAttribute('points', points.join(' '));
};
const updates = new EventSource('/ui/pipeline/updates');
updates.addEventListener('pipeline', (e) => { document.getElementById('live').innerHTML = e.data; });
updates.addEventListener('sample', (e) => {
  samples.push(JSON.parse(e.data));
  if (samples.length > 60) samples.shift();
  draw('waiting-line', 'waiting');
  draw('lag-line', 'lag');
});
"#;

/// How often the live page is told what changed.
const EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// `GET /ui/pipeline/updates`: server-sent events, every 2 s: `pipeline` (the tables,
/// as HTML) and `sample` (`{"waiting", "lag"}`: orders waiting over every stage, records
/// lagging over every group). Ends when the process stops.
pub async fn updates(
    State(app): State<AppState>,
) -> Sse<impl futures::Stream<Item = Result<Event, std::convert::Infallible>>> {
    let ticks = tokio::time::interval(EVERY);
    let stopping = app.shutdown.clone().cancelled_owned();
    let stream = futures::stream::unfold((app, ticks), |(app, mut ticks)| async move {
        ticks.tick().await;
        let events = match view(&app).await {
            Ok(pipeline) => {
                let waiting: u64 = pipeline.stages.iter().map(|s| s.orders).sum();
                let lag: u64 = pipeline.groups.iter().map(|g| g.lag).sum();
                vec![
                    Event::default()
                        .event("pipeline")
                        .data(fragment(&pipeline).into_string()),
                    Event::default()
                        .event("sample")
                        .data(format!("{{\"waiting\":{waiting},\"lag\":{lag}}}")),
                ]
            }
            Err(e) => {
                tracing::warn!(error = ?e, "the console could not read the pipeline");
                vec![
                    Event::default()
                        .event("problem")
                        .data("the pipeline cannot be read now"),
                ]
            }
        };
        Some((
            futures::stream::iter(events.into_iter().map(Ok)),
            (app, ticks),
        ))
    })
    .flatten()
    .take_until(stopping);
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// The stages and groups tables.
fn fragment(pipeline: &Pipeline) -> Markup {
    let group = |name: &str| pipeline.groups.iter().find(|g| g.group == name);
    html! {
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
    }
}
