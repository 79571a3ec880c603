//! Inventory, consumer lag, analytics and health.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use orderflow_core::store::StoreError;
use orderflow_domain::inventory::{SetLevel, SkuStock};
use orderflow_domain::{Aggregate, Sku};
use serde::Deserialize;
use serde_json::{Value, json};

use super::extract::{Body, Params, PathParams};
use super::orders::wait_for;
use super::{ApiError, AppState};
use crate::context::Cause;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StockLevel {
    available: u64,
}

#[derive(Debug, Deserialize)]
pub struct MinPosition {
    min_position: Option<u64>,
}

/// `PUT /inventory/{sku}`: sets the stock on hand, as an event.
pub async fn set_stock(
    State(app): State<AppState>,
    PathParams(sku): PathParams<String>,
    Body(body): Body<StockLevel>,
) -> Result<Json<Value>, ApiError> {
    let sku = Sku::parse(sku)?;
    if body.available > i64::MAX as u64 {
        return Err(ApiError::Unprocessable("available is too large".into()));
    }
    let events = SkuStock::default().decide(SetLevel {
        sku: sku.clone(),
        available: body.available,
    })?;
    let cause = Cause {
        causation_id: None,
        actor: "api",
        now: Utc::now(),
    };
    let position = app.recorder.record(&events, &[], cause).await?;
    Ok(Json(
        json!({ "sku": sku.as_str(), "available": body.available, "position": position }),
    ))
}

/// `GET /inventory/{sku}`.
pub async fn get_stock(
    State(app): State<AppState>,
    PathParams(sku): PathParams<String>,
    Params(query): Params<MinPosition>,
) -> Result<Json<Value>, ApiError> {
    let (position, _) = wait_for(&app, query.min_position).await?;
    let stock = app
        .read_model
        .stock(&sku)
        .await
        .map_err(ApiError::read_models)?
        .ok_or_else(|| ApiError::NotFound(format!("unknown SKU {sku}")))?;
    Ok(Json(json!({
        "sku": stock.sku, "available": stock.available, "reserved": stock.reserved, "position": position,
    })))
}

/// `GET /consumers`: every consumer group with committed offsets and lag, and the
/// readers that follow the event store by position.
pub async fn consumers(State(app): State<AppState>) -> Result<Json<Value>, ApiError> {
    let groups = app
        .bus
        .groups()
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    let head = app.recorder.store.head_position().await?;
    let relay = app
        .checkpoints
        .load(crate::relay::CHECKPOINT)
        .await?
        .unwrap_or(0);
    let projections = app
        .read_model
        .position()
        .await
        .map_err(ApiError::read_models)?;
    let groups: Vec<Value> = groups
        .iter()
        .map(|g| {
            json!({
                "group": g.group,
                "lag": g.total_lag(),
                "partitions": g.partitions.iter().map(|p| json!({
                    "topic": p.topic, "partition": p.partition, "committed": p.committed,
                    "end": p.end, "lag": p.lag,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut dead_letters = Vec::new();
    for topic in orderflow_core::bus::TOPICS {
        let dlq = orderflow_core::bus::dead_letter_topic(topic);
        let ends = app
            .bus
            .end_offsets(&dlq)
            .await
            .map_err(|e| ApiError::Internal(e.into()))?;
        let records: u64 = ends.iter().map(|(_, end)| end).sum();
        dead_letters.push(json!({ "topic": dlq, "records": records }));
    }
    Ok(Json(json!({
        "groups": groups,
        "deadLetters": dead_letters,
        "storeReaders": [
            { "name": "relay", "position": relay, "head": head, "lag": head.saturating_sub(relay) },
            { "name": "projections", "position": projections, "head": head, "lag": head.saturating_sub(projections) },
        ],
    })))
}

/// `GET /analytics`: orders per status and revenue per day.
pub async fn analytics(State(app): State<AppState>) -> Result<Json<Value>, ApiError> {
    let summary = app
        .analytics
        .summary()
        .await
        .map_err(ApiError::read_models)?;
    Ok(Json(json!(summary)))
}

/// `GET /health`: 200 when the event store answers.
pub async fn health(State(app): State<AppState>) -> (StatusCode, Json<Value>) {
    let unhealthy = |status: &str, reason: String| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": status, "reason": reason })),
        )
    };
    let places = &app.locations;
    let store_damaged = |e: &StoreError| {
        format!(
            "{e}; stop orderflow and restore {} from a backup",
            places.event_store
        )
    };
    let read_models_damaged = |e: &StoreError| {
        format!(
            "{e}; stop orderflow and delete {}: the read models are made again from the \
             event store at the next start",
            places.read_models
        )
    };
    let head = match app.recorder.store.head_position().await {
        Ok(head) => head,
        Err(e @ StoreError::Corrupt(_)) => return unhealthy("damaged", store_damaged(&e)),
        Err(e) => {
            tracing::warn!(error = %e, "health check failed");
            return unhealthy("unavailable", "event store unavailable".into());
        }
    };
    match app.read_model.position().await {
        Err(e @ StoreError::Corrupt(_)) => unhealthy("damaged", read_models_damaged(&e)),
        Err(e) => {
            tracing::warn!(error = %e, "health check failed");
            unhealthy("unavailable", "read models unavailable".into())
        }
        Ok(_) => (
            StatusCode::OK,
            Json(json!({ "status": "ok", "head": head })),
        ),
    }
}
