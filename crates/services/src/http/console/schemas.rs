//! `/ui/schemas`: the embedded registry's subjects with their compatibility level and
//! versions; one subject's versions, a diff between any two of them; and "check this
//! schema" against the subject (the registry's own compatibility check, asked from the
//! page).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, PreEscaped, html};
use orderflow_core::registry::SubjectVersion;
use serde::Deserialize;
use similar::{ChangeTag, TextDiff};

use super::layout::{page as frame, problem};
use super::orders::urlencoding;
use crate::http::AppState;
use crate::http::extract::Params;

#[derive(Debug, Default, Deserialize)]
pub struct Chosen {
    subject: Option<String>,
    /// The two versions to compare.
    from: Option<u32>,
    to: Option<u32>,
}

/// The check asks the registry's `POST /compatibility/...` and shows its answer.
const CHECK: &str = r#"
document.getElementById('check').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.target;
  const answer = await fetch(
    '/schema-registry/compatibility/subjects/' + encodeURIComponent(form.dataset.subject) +
      '/versions/latest?verbose=true',
    { method: 'POST', headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ schema: form.schema.value }) });
  const said = await answer.json();
  document.getElementById('verdict').textContent = answer.ok
    ? (said.is_compatible ? 'compatible' : 'not compatible: ' + (said.messages || []).join('; '))
    : 'refused: ' + (said.message || answer.status);
});
"#;

fn pretty(schema: &str) -> String {
    serde_json::from_str::<serde_json::Value>(schema)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_else(|_| schema.to_owned())
}

fn diff(old: &SubjectVersion, new: &SubjectVersion) -> Markup {
    let (a, b) = (pretty(&old.schema), pretty(&new.schema));
    let lines = TextDiff::from_lines(&a, &b);
    html! {
        pre.diff #diff {
            @for change in lines.iter_all_changes() {
                @match change.tag() {
                    ChangeTag::Delete => del { "- " (change.value()) },
                    ChangeTag::Insert => ins { "+ " (change.value()) },
                    ChangeTag::Equal => span { "  " (change.value()) },
                }
            }
        }
    }
}

/// `GET /ui/schemas`.
pub async fn page(State(app): State<AppState>, Params(chosen): Params<Chosen>) -> Response {
    let Some(registry) = app.registry.clone() else {
        let body = html! { p.muted { "This deployment uses an external schema registry: see its own console." } };
        return frame("Schemas", "/ui/schemas", None, body).into_response();
    };
    let failed = |e: orderflow_core::registry::RegistryError| {
        tracing::warn!(error = %e, "the console could not read the registry");
        problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "the schema registry cannot be read now: try again in a moment",
        )
    };
    let Some(subject) = chosen.subject else {
        let subjects = match registry.subjects(false).await {
            Ok(s) => s,
            Err(e) => return failed(e),
        };
        let mut rows = Vec::new();
        for s in subjects {
            let versions = registry.versions(&s, false).await.unwrap_or_default();
            let level = match registry.level(&s).await {
                Ok(l) => l.to_string(),
                Err(e) => return failed(e),
            };
            rows.push((s, versions, level));
        }
        let body = html! {
            table #subjects {
                thead { tr { th { "subject" } th.n { "versions" } th.n { "latest id" } th { "compatibility" } } }
                tbody { @for (s, versions, level) in &rows {
                    tr data-subject=(s) {
                        td { a href=(format!("/ui/schemas?subject={}", urlencoding(s))) { (s) } }
                        td.n { (versions.len()) }
                        td.n { @if let Some(v) = versions.last() { (v.id) } }
                        td { (level) }
                    }
                } }
            }
        };
        return frame("Schemas", "/ui/schemas", None, body).into_response();
    };
    let versions = match registry.versions(&subject, false).await {
        Ok(v) => v,
        Err(orderflow_core::registry::RegistryError::SubjectNotFound(_)) => {
            return problem(StatusCode::NOT_FOUND, &format!("no subject {subject}"));
        }
        Err(e) => return failed(e),
    };
    let level = match registry.level(&subject).await {
        Ok(l) => l.to_string(),
        Err(e) => return failed(e),
    };
    let latest = versions.last().map(|v| v.version).unwrap_or(1);
    let to = chosen.to.unwrap_or(latest);
    let from = chosen.from.unwrap_or(to.saturating_sub(1).max(1));
    let find = |n: u32| versions.iter().find(|v| v.version == n);
    let compared = match (find(from), find(to)) {
        (Some(a), Some(b)) => diff(a, b),
        _ => html! { p.problem { "No version " (from) " or " (to) " of " (subject) "." } },
    };
    let body = html! {
        p { "Compatibility: " strong #level { (level) } }
        table #versions {
            thead { tr { th.n { "version" } th.n { "id" } th { "" } } }
            tbody { @for v in &versions {
                tr { td.n { (v.version) } td.n { (v.id) }
                    td { @if v.version > 1 {
                        a href=(format!("/ui/schemas?subject={}&from={}&to={}", urlencoding(&subject), v.version - 1, v.version)) {
                            "changes from " (v.version - 1)
                        }
                    } }
                }
            } }
        }
        h2 { "Version " (from) " → " (to) }
        form.filters method="get" action="/ui/schemas" {
            input type="hidden" name="subject" value=(subject);
            label { "From" select name="from" { @for v in &versions { option value=(v.version) selected[v.version == from] { (v.version) } } } }
            label { "To" select name="to" { @for v in &versions { option value=(v.version) selected[v.version == to] { (v.version) } } } }
            button type="submit" { "Compare" }
        }
        (compared)
        h2 { "Check a schema against " (subject) }
        form #check data-subject=(subject) {
            textarea name="schema" rows="8" cols="80" aria-label="schema" {
                (find(latest).map(|v| pretty(&v.schema)).unwrap_or_default())
            }
            br;
            button type="submit" { "Check" }
            " " output #verdict {}
        }
        script { (PreEscaped(CHECK)) }
    };
    frame(&format!("Schema {subject}"), "/ui/schemas", None, body).into_response()
}
