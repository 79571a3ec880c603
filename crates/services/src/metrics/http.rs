//! The middleware that counts HTTP requests by method, route template and status, and
//! how long each took. It runs as a route layer: after routing, so that the route is
//! axum's [`MatchedPath`] (`/orders/{order_id}`), never the raw path; requests that no
//! route matched, or that the access guard refused before routing, are not counted.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

use super::{HTTP_REQUESTS, HTTP_SECONDS};

/// Counts the request and times its answer.
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let start = Instant::now();
    let response = next.run(request).await;
    if let Some(route) = route {
        let labels = [
            ("method", method),
            ("route", route),
            ("status", response.status().as_u16().to_string()),
        ];
        metrics::counter!(HTTP_REQUESTS, &labels).increment(1);
        metrics::histogram!(HTTP_SECONDS, &labels).record(start.elapsed().as_secs_f64());
    }
    response
}
