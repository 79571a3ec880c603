//! The frame of every console page: the navigation between views, the title, and the
//! stylesheet (light and dark after the reader's setting).

use axum::http::header;
use axum::response::{Html, IntoResponse};
use maud::{DOCTYPE, Markup, html};

const STYLESHEET: &str = include_str!("console.css");

/// `GET /ui/console.css`.
pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        STYLESHEET,
    )
}

/// The views, as the navigation lists them.
const VIEWS: [(&str, &str); 6] = [
    ("/ui", "Pipeline"),
    ("/ui/orders", "Orders"),
    ("/ui/dlq", "Dead letters"),
    ("/ui/consumers", "Consumers"),
    ("/ui/schemas", "Schemas"),
    ("/ui/events", "Events"),
];

/// A whole page: `title`, the view it belongs to (for the navigation), and `body`.
/// `refresh`: seconds after which a browser without script loads it again (one with
/// script is kept up to date by the page itself).
pub fn page(title: &str, view: &str, refresh: Option<u32>, body: Markup) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    @if let Some(seconds) = refresh {
                        noscript { meta http-equiv="refresh" content=(seconds); }
                    }
                    title { (title) " · orderflow" }
                    link rel="stylesheet" href="/ui/console.css";
                }
                body {
                    header {
                        nav aria-label="views" {
                            span.brand { "orderflow" }
                            @for (href, name) in VIEWS {
                                @if href == view {
                                    a href=(href) aria-current="page" { (name) }
                                } @else {
                                    a href=(href) { (name) }
                                }
                            }
                        }
                    }
                    main { h1 { (title) } (body) }
                }
            }
        }
        .into_string(),
    )
}

/// An error page: what went wrong, in the frame, with the status.
pub fn problem(status: axum::http::StatusCode, what: &str) -> axum::response::Response {
    let body = html! { p.problem { (what) } };
    (status, page("Not here", "", None, body)).into_response()
}
