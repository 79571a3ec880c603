//! Analytics: orders per status and revenue per day.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use orderflow_core::read_model::AnalyticsSummary;
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ErrorBody;
use super::routes::Routes;
use super::{ApiError, AppState};

/// The routes of analytics.
pub fn routes(routes: Routes<AppState>) -> Routes<AppState> {
    routes.get("/analytics", analytics)
}

/// The answer to `GET /analytics`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Analytics {
    /// How many orders have each status (`PENDING`, `PAID`, …).
    orders_by_status: BTreeMap<String, u64>,
    /// Revenue in cents per UTC day (`2026-12-06`); refunds count negative.
    revenue_cents_by_day: BTreeMap<String, i64>,
}

impl From<AnalyticsSummary> for Analytics {
    fn from(summary: AnalyticsSummary) -> Self {
        Self {
            orders_by_status: summary.orders_by_status,
            revenue_cents_by_day: summary.revenue_cents_by_day,
        }
    }
}

/// `GET /analytics`: orders per status and revenue per day.
#[utoipa::path(
    get,
    path = "/analytics",
    tag = "analytics",
    summary = "Orders per status and revenue per day",
    responses(
        (status = 200, description = "The counts so far.", body = Analytics),
        (status = 503, description = "The read models are unavailable.", body = ErrorBody),
    ),
)]
pub async fn analytics(State(app): State<AppState>) -> Result<Json<Analytics>, ApiError> {
    let summary = app
        .analytics
        .summary()
        .await
        .map_err(ApiError::read_models)?;
    Ok(Json(summary.into()))
}
