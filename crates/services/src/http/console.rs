//! The operator console at `/ui`: pages rendered on the server (maud) from the same
//! read models, event store and bus as the API, with no JavaScript build and nothing
//! fetched from elsewhere at run time (the stylesheet is compiled in). Every view has a
//! URL of its own that can be shared; the pages read in light and dark (the reader's
//! setting) and are used with the keyboard like any page of links and forms.
//!
//! - `console/layout.rs`: the page frame, navigation, the stylesheet.
//! - `console/login.rs`: signing in with a token (kept in a cookie) when the API has
//!   tokens.
//! - `console/pipeline.rs`: `/ui`, the pipeline: stages and groups, kept up to date by
//!   server-sent events, and a chart of the last minutes.
//! - `console/orders.rs`: `/ui/orders`, filtered and paged, and finding one by id.
//! - `console/story.rs`: `/ui/orders/{id}`, one order's story: a timeline with a lane
//!   per service, what caused each step and how long it took, its emails, and a slider
//!   that shows the order as it was after any step.
//! - `console/consumers.rs`: `/ui/consumers`, the groups, their members, and each
//!   partition's lag behind a click.
//! - `console/dlq.rs`: `/ui/dlq`, the parked records decoded, with replay and discard.
//! - `console/schemas.rs`: `/ui/schemas`, subjects, versions, a diff between two, the
//!   compatibility level, and checking a schema against a subject.
//! - `console/events.rs`: `/ui/events`, the global log, paged and filtered, decoded.

use axum::Router;
use axum::middleware::from_fn;

use super::AppState;

mod consumers;
mod dlq;
mod events;
mod layout;
mod login;
mod orders;
mod pipeline;
mod schemas;
mod story;

/// The console's routes. They are pages, not part of the API's OpenAPI document.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/ui", axum::routing::get(pipeline::page))
        .route(
            "/ui/pipeline/updates",
            axum::routing::get(pipeline::updates),
        )
        .route("/ui/orders", axum::routing::get(orders::page))
        .route("/ui/orders/{order_id}", axum::routing::get(story::page))
        .route("/ui/consumers", axum::routing::get(consumers::page))
        .route("/ui/dlq", axum::routing::get(dlq::page))
        .route("/ui/events", axum::routing::get(events::page))
        .route("/ui/schemas", axum::routing::get(schemas::page))
        .route("/ui/console.css", axum::routing::get(layout::stylesheet))
        .route(
            "/ui/login",
            axum::routing::get(login::page).post(login::sign_in),
        )
        .route("/ui/logout", axum::routing::post(login::sign_out))
        .route_layer(from_fn(crate::metrics::http::track))
        .route_layer(from_fn(crate::trace::request_span))
        .with_state(state)
}
