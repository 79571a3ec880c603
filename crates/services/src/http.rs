//! The HTTP API: commands append events and return at once; queries read the read
//! models (or, for `as_of` and the history, the event store itself).
//!
//! # Layout
//!
//! One module per resource, each with its routes, handlers and typed answers:
//!
//! - `orders`: place, cancel, read an order (now or as of a moment), its history, a
//!   customer's orders; the order rendered in one place (`orders/render.rs`).
//! - `inventory`: set and read a SKU's stock.
//! - `operations`: health, the lag of consumer groups and event-store readers, and
//!   `/metrics` (added by the binary, which renders them: [`serve_with`]).
//! - `analytics`: orders per status and revenue per day.
//! - `registry`: the embedded schema registry (Confluent's REST API).
//! - `openapi`: the OpenAPI document of all of them, at `GET /openapi.json`.
//! - `console`: the operator console at `/ui`, pages over the same state (not in the
//!   OpenAPI document).
//!
//! And what they share:
//!
//! - `routes`: the router builder that keeps the table of routes it serves.
//! - `read_your_writes`: `min_position`, waiting for the read models to catch up.
//! - `extract`: extractors whose refusals are the API's own JSON errors.
//! - `error`: the one error type and its statuses.
//! - `limits`: how much one request may carry.
//! - `auth`: tokens, roles and the guard in front of every route.

use std::sync::Arc;

use axum::Router;
use orderflow_core::bus::EventBus;
use orderflow_core::read_model::{AnalyticsStore, ReadModel};
use orderflow_core::registry::Registry;
use orderflow_core::store::Checkpoints;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::context::Recorder;

mod analytics;
pub mod auth;
mod console;
mod error;
mod extract;
mod inventory;
mod limits;
mod openapi;
mod operations;
mod orders;
mod read_your_writes;
mod registry;
mod routes;

pub use auth::{Access, Role, Tokens};
pub use error::ApiError;
pub use extract::JsonObject;
pub use limits::Limits;
pub use openapi::document as openapi_document;
pub use operations::metrics::{Render as RenderMetrics, route as metrics_route};
pub use orders::idempotency::order_id_from_key;
pub use orders::request::NewOrder;
pub use read_your_writes::READ_YOUR_WRITES_WAIT;
pub use routes::Route;
use routes::Routes;

/// The embedded schema registry's routes alone, at the root, without a guard.
pub fn schema_registry<S: Clone + Send + Sync + 'static>(registry: Arc<Registry>) -> Router<S> {
    registry::routes(registry).router()
}

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    pub recorder: Recorder,
    /// The embedded schema registry, served under `/schema-registry` (none when an
    /// external registry is configured).
    pub registry: Option<Arc<Registry>>,
    pub read_model: Arc<dyn ReadModel>,
    pub analytics: Arc<dyn AnalyticsStore>,
    /// The read models' generations: rebuilds and their progress.
    pub generations: Arc<dyn orderflow_core::read_model::generations::ReadModelGenerations>,
    pub bus: Arc<dyn EventBus>,
    pub checkpoints: Arc<dyn Checkpoints>,
    /// The bus's consumer groups, as last read (see [`crate::pipeline::GroupsView`]).
    pub groups: Arc<crate::pipeline::GroupsView>,
    /// How much one request may carry.
    pub limits: Limits,
    /// Where the data lives, named by `/health` when it is damaged.
    pub locations: Locations,
    /// Cancelled when the process stops: answers that would go on (the console's live
    /// updates) end, so that the server's graceful shutdown is not held up by them.
    pub shutdown: tokio_util::sync::CancellationToken,
    /// The keys of personal data: forgetting a customer destroys theirs.
    pub keys: Arc<dyn orderflow_core::keys::KeyStore>,
}

/// Where the event store, the read models and the bus live, as an operator finds them
/// (a file, or a database), so that `/health` can say which one to restore or make
/// again.
#[derive(Debug, Clone)]
pub struct Locations {
    pub event_store: String,
    pub read_models: String,
    /// The embedded bus's file (a bus elsewhere, Kafka, has no storage here to damage).
    pub bus: String,
}

impl Default for Locations {
    fn default() -> Self {
        Self {
            event_store: "the event store's database".into(),
            read_models: "the read models' tables".into(),
            bus: "the event bus's file".into(),
        }
    }
}

/// The API's routes without tokens ([`Access::Open`]): see [`guarded_router`].
pub fn router(state: AppState) -> Router {
    guarded_router(state, Access::Open)
}

/// Every route of the API (and of the embedded registry under `/schema-registry`, when
/// `state` has one), each resource's beside its handlers.
fn routes(state: AppState) -> Routes<()> {
    let mut routes = Routes::new();
    if let Some(registry) = &state.registry {
        routes = routes.nest(openapi::REGISTRY_PREFIX, registry::routes(registry.clone()));
    }
    let routes = orders::routes(routes);
    let routes = inventory::routes(routes);
    let routes = operations::routes(routes);
    let routes = analytics::routes(routes);
    let routes = openapi::routes(routes);
    routes
        .map(|router| {
            router
                .route_layer(axum::middleware::from_fn(crate::metrics::http::track))
                .route_layer(axum::middleware::from_fn(crate::trace::request_span))
                .fallback(|| async { ApiError::NotFound("no such route".into()) })
        })
        .with_state(state)
}

/// The method and path template of every route [`router`] serves over `state`.
pub fn route_table(state: AppState) -> Vec<Route> {
    routes(state).served().to_vec()
}

/// The API's routes (and the embedded registry's under `/schema-registry`), every one
/// behind the access guard of [`auth`]: tokens and roles when `access` has tokens, and
/// always the refusal of cross-site simple requests.
pub fn guarded_router(state: AppState, access: Access) -> Router {
    guarded_router_with(state, access, Router::new())
}

/// [`guarded_router`] with `extra` routes (the binary's `/metrics`) beside the API's,
/// behind the same guard, each request in its trace context.
fn guarded_router_with(state: AppState, access: Access, extra: Router) -> Router {
    let console = console::router(state.clone());
    behind_api_guard(routes(state).router().merge(console).merge(extra), access)
        .layer(axum::middleware::from_fn(crate::trace::request_layer))
}

/// `router` behind the API's access guard.
fn behind_api_guard(router: Router, access: Access) -> Router {
    let guard = auth::Guard {
        access,
        surface: auth::Surface::Api,
    };
    router.layer(axum::middleware::from_fn_with_state(guard, auth::guard))
}

/// The registry's routes alone, at the root, behind the access guard (as [`router`]
/// serves them under `/schema-registry`).
pub fn guarded_schema_registry(registry: Arc<Registry>, access: Access) -> Router {
    let guard = auth::Guard {
        access,
        surface: auth::Surface::Registry,
    };
    schema_registry(registry).layer(axum::middleware::from_fn_with_state(guard, auth::guard))
}

/// Serves the API on `listener` until `shutdown` is cancelled, then finishes the
/// requests in flight.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    access: Access,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    serve_with(listener, state, access, Router::new(), shutdown).await
}

/// [`serve`] with `extra` routes (the binary's `/metrics`) beside the API's, behind the
/// same guard.
pub async fn serve_with(
    listener: TcpListener,
    state: AppState,
    access: Access,
    extra: Router,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let router = guarded_router_with(state, access, extra);
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}

/// What a process that does not run the API serves on its HTTP address: `GET /health`
/// and `extra` (the binary's `/metrics`), behind the API's guard, until `shutdown` is
/// cancelled.
pub async fn serve_operations(
    listener: TcpListener,
    state: AppState,
    access: Access,
    extra: Router,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let router = Router::new()
        .route("/health", axum::routing::get(operations::health::health))
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .with_state(state)
        .merge(extra);
    axum::serve(listener, behind_api_guard(router, access))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}
