//! `GET /health`: `200` when the event store and the read models answer and the bus's
//! own storage is sound; `503` saying which is unavailable, or which is damaged and
//! what to do about it.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use orderflow_core::bus::BusError;
use orderflow_core::store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::AppState;

/// The answer to `GET /health`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum Health {
    /// `200`: `{"status": "ok", "head"}`.
    Ok {
        /// Always `ok`.
        #[schema(value_type = String)]
        status: &'static str,
        /// The event store's head position.
        head: u64,
    },
    /// `503`: `{"status": "unavailable" | "damaged", "reason"}`.
    Unhealthy {
        /// `unavailable` (try again later) or `damaged` (the reason says what to do).
        #[schema(value_type = String)]
        status: &'static str,
        /// What failed, and for damage, which file or tables to restore or delete.
        reason: String,
    },
}

fn unhealthy(status: &'static str, reason: String) -> (StatusCode, Json<Health>) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(Health::Unhealthy { status, reason }),
    )
}

/// `GET /health`: 200 when the event store and the read models answer and the bus's
/// own storage is sound.
#[utoipa::path(
    get,
    path = "/health",
    tag = "operations",
    summary = "Health, for probes",
    description = "Open to everyone, also when the API has tokens.",
    security(()),
    responses(
        (status = 200, description = "The event store and the read models answer, and \
            the bus's own storage is sound.",
            body = Health),
        (status = 503, description = "One is unavailable, or damaged (the reason says what \
            to do).", body = Health),
    ),
)]
pub async fn health(State(app): State<AppState>) -> (StatusCode, Json<Health>) {
    let places = &app.locations;
    let head = match app.recorder.head_position().await {
        Ok(head) => head,
        Err(e @ StoreError::Corrupt(_)) => {
            let reason = format!(
                "{e}; stop orderflow and restore {} from a backup",
                places.event_store
            );
            return unhealthy("damaged", reason);
        }
        Err(e) => {
            tracing::warn!(error = %e, "health check failed");
            return unhealthy("unavailable", "event store unavailable".into());
        }
    };
    match app.read_model.position().await {
        Err(e @ StoreError::Corrupt(_)) => {
            let reason = format!(
                "{e}; stop orderflow and delete {}: the read models are made again from the \
                 event store at the next start",
                places.read_models
            );
            return unhealthy("damaged", reason);
        }
        Err(e) => {
            tracing::warn!(error = %e, "health check failed");
            return unhealthy("unavailable", "read models unavailable".into());
        }
        Ok(_) => {}
    }
    match app.bus.check_integrity().await {
        Err(e @ BusError::Corrupt(_)) => {
            let reason = format!(
                "{e}; stop orderflow and delete {} with its -wal and -shm files: the bus is \
                 made again from the event store at the next start",
                places.bus
            );
            unhealthy("damaged", reason)
        }
        Err(e) => {
            tracing::warn!(error = %e, "health check failed");
            unhealthy("unavailable", "event bus unavailable".into())
        }
        Ok(()) => (StatusCode::OK, Json(Health::Ok { status: "ok", head })),
    }
}
