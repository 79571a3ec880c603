//! `POST /projections/rebuild` and `GET /projections/rebuild`: read models made again
//! beside the live ones and swapped in (see [`crate::rebuild`]), started by an operator
//! and followed here or in `/pipeline`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use orderflow_core::read_model::generations::{RebuildProgress, Rebuilt};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;

use crate::http::error::ErrorBody;
use crate::http::{ApiError, AppState};
use crate::rebuild::{Rebuild, is_running};

/// Which read models `POST /projections/rebuild` makes again.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RebuildRequest {
    /// Any of `orders`, `stock`, `customer-orders` (these three share one position and
    /// are made again together) and `analytics`; all of them when absent.
    models: Option<Vec<String>>,
}

/// `POST /projections/rebuild`.
#[utoipa::path(
    post,
    path = "/projections/rebuild",
    operation_id = "start_rebuild",
    tag = "operations",
    summary = "Rebuild read models without downtime",
    description = "Starts making the chosen read models again from the first event, beside \
        the live ones, which keep answering; once caught up, the new ones are swapped in \
        at once. No side effect fires. Follow it with `GET /projections/rebuild` or \
        `/pipeline`.",
    request_body(content = RebuildRequest, description = "Optional."),
    responses(
        (status = 202, description = "Started; its progress so far.", body = Object),
        (status = 409, description = "A rebuild is running.", body = ErrorBody),
        (status = 422, description = "An unknown read model.", body = ErrorBody),
    ),
)]
pub async fn start(
    State(app): State<AppState>,
    body: Bytes,
) -> Result<(StatusCode, Json<RebuildProgress>), ApiError> {
    let request: RebuildRequest = if body.iter().all(u8::is_ascii_whitespace) {
        RebuildRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::Unprocessable(e.to_string()))?
    };
    let models = match request.models {
        None => vec![Rebuilt::Views, Rebuilt::Analytics],
        Some(names) if names.is_empty() => {
            return Err(ApiError::Unprocessable(
                "models is empty: name at least one read model, or leave it out for all".into(),
            ));
        }
        Some(names) => names
            .iter()
            .map(|n| Rebuilt::parse(n))
            .collect::<Result<Vec<_>, _>>()
            .map_err(ApiError::Unprocessable)?,
    };
    let generations = app.generations.clone();
    if let Some(progress) = generations.progress().await.map_err(ApiError::ReadModels)?
        && is_running(&progress, Utc::now())
    {
        return Err(ApiError::Conflict(format!(
            "a rebuild started at {} is running ({} of {} events): wait for it to finish",
            progress.started_at.to_rfc3339(),
            progress.done,
            progress.total
        )));
    }
    let rebuild = Rebuild {
        store: app.recorder.store.clone(),
        codec: app.recorder.codec().clone(),
        generations: generations.clone(),
    };
    let (started, mut heard) = tokio::sync::oneshot::channel();
    let mut started = Some(started);
    tokio::spawn(async move {
        let shutdown = CancellationToken::new();
        let outcome = rebuild
            .run(
                &models,
                |p| {
                    if let Some(tx) = started.take() {
                        let _ = tx.send(p.clone());
                    }
                },
                &shutdown,
            )
            .await;
        match outcome {
            Ok(report) => tracing::info!(
                events = report.events,
                position = report.position,
                seconds = report.elapsed.as_secs_f64(),
                "read models rebuilt and swapped in"
            ),
            Err(e) => tracing::error!(error = %e, "the read models' rebuild was given up"),
        }
    });
    // Answer with the first progress it reports (or what the store has, should it end
    // before reporting).
    let progress = match (&mut heard).await {
        Ok(progress) => progress,
        Err(_) => generations
            .progress()
            .await
            .map_err(ApiError::ReadModels)?
            .ok_or_else(|| {
                ApiError::Internal(
                    orderflow_core::store::StoreError::Unavailable(
                        "the rebuild ended without a word".into(),
                    )
                    .into(),
                )
            })?,
    };
    Ok((StatusCode::ACCEPTED, Json(progress)))
}

/// `GET /projections/rebuild`.
#[utoipa::path(
    get,
    path = "/projections/rebuild",
    operation_id = "rebuild_progress",
    tag = "operations",
    summary = "The last rebuild's progress",
    description = "`models`, `done` and `total` (global positions), `startedAt`, \
        `updatedAt`, and once over `finishedAt` and `outcome` (`swapped`, or why it was \
        given up).",
    responses(
        (status = 200, description = "The last rebuild.", body = Object),
        (status = 404, description = "No rebuild ran.", body = ErrorBody),
    ),
)]
pub async fn progress(State(app): State<AppState>) -> Result<Json<RebuildProgress>, ApiError> {
    app.generations
        .progress()
        .await
        .map_err(ApiError::ReadModels)?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound("no rebuild has run".into()))
}
