//! The HTTP API: commands append events and return at once; queries read the read
//! models (or, for `as_of` and the history, the event store itself).

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use orderflow_core::bus::EventBus;
use orderflow_core::registry::Registry;
use orderflow_core::store::Checkpoints;
use orderflow_core::views::{AnalyticsStore, ReadModel};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::context::Recorder;

mod admin;
pub mod auth;
mod error;
mod extract;
mod limits;
mod orders;
mod registry;

pub use auth::{Access, Role, Tokens};
pub use error::ApiError;
pub use limits::Limits;
pub use registry::routes as schema_registry;

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    pub recorder: Recorder,
    /// The embedded schema registry, served under `/schema-registry` (none when an
    /// external registry is configured).
    pub registry: Option<Arc<Registry>>,
    pub read_model: Arc<dyn ReadModel>,
    pub analytics: Arc<dyn AnalyticsStore>,
    pub bus: Arc<dyn EventBus>,
    pub checkpoints: Arc<dyn Checkpoints>,
    /// How much one request may carry.
    pub limits: Limits,
    /// Where the data lives, named by `/health` when it is damaged.
    pub locations: Locations,
}

/// Where the event store and the read models live, as an operator finds them (a file,
/// or a database), so that `/health` can say which one to restore or make again.
#[derive(Debug, Clone)]
pub struct Locations {
    pub event_store: String,
    pub read_models: String,
}

impl Default for Locations {
    fn default() -> Self {
        Self {
            event_store: "the event store's database".into(),
            read_models: "the read models' tables".into(),
        }
    }
}

/// The API's routes without tokens ([`Access::Open`]): see [`guarded_router`].
pub fn router(state: AppState) -> Router {
    guarded_router(state, Access::Open)
}

/// The API's routes (and the embedded registry's under `/schema-registry`), every one
/// behind the access guard of [`auth`]: tokens and roles when `access` has tokens, and
/// always the refusal of cross-site simple requests.
pub fn guarded_router(state: AppState, access: Access) -> Router {
    let guard = auth::Guard {
        access,
        surface: auth::Surface::Api,
    };
    let mut router = Router::new();
    if let Some(registry) = &state.registry {
        router = router.nest("/schema-registry", registry::routes(registry.clone()));
    }
    router
        .route("/orders", post(orders::place))
        .route("/orders/{order_id}", get(orders::get))
        .route("/orders/{order_id}/history", get(orders::history))
        .route("/orders/{order_id}/cancel", post(orders::cancel))
        .route("/customers/{customer_id}/orders", get(orders::of_customer))
        .route(
            "/inventory/{sku}",
            get(admin::get_stock).put(admin::set_stock),
        )
        .route("/consumers", get(admin::consumers))
        .route("/analytics", get(admin::analytics))
        .route("/health", get(admin::health))
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .with_state(state)
        .layer(axum::middleware::from_fn_with_state(guard, auth::guard))
}

/// The registry's routes alone, at the root, behind the access guard (as [`router`]
/// serves them under `/schema-registry`).
pub fn guarded_schema_registry(registry: Arc<Registry>, access: Access) -> Router {
    let guard = auth::Guard {
        access,
        surface: auth::Surface::Registry,
    };
    registry::routes(registry).layer(axum::middleware::from_fn_with_state(guard, auth::guard))
}

/// Serves the API on `listener` until `shutdown` is cancelled, then finishes the
/// requests in flight.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    access: Access,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, guarded_router(state, access))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}
