//! `GET /metrics`: the process's metrics in Prometheus's text exposition format. The
//! recorder and its rendering are the binary's (it alone names the exporter); this
//! serves whatever it renders, behind the same guard as every other route (the
//! operator role, when the API has tokens: see `auth.rs`).

use std::sync::Arc;

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;

/// The content type of Prometheus's text exposition format.
pub const CONTENT_TYPE_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Renders the process's metrics in the text exposition format.
pub type Render = Arc<dyn Fn() -> String + Send + Sync>;

/// The `/metrics` route, answered by `render`.
pub fn route<S: Clone + Send + Sync + 'static>(render: Render) -> Router<S> {
    Router::new().route(
        "/metrics",
        get(move || {
            let render = render.clone();
            async move { ([(CONTENT_TYPE, CONTENT_TYPE_TEXT)], render()) }
        }),
    )
}
