//! Analytics: orders per status and revenue per day, now or as of a past moment.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use orderflow_core::read_model::AnalyticsSummary;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::ErrorBody;
use super::extract::Params;
use super::routes::Routes;
use super::{ApiError, AppState};
use crate::handlers::analytics::as_of::summary_as_of;

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
    /// The moment asked for, when the counts are as they were then (from the event
    /// store).
    #[serde(skip_serializing_if = "Option::is_none")]
    as_of: Option<DateTime<Utc>>,
    /// With `asOf`: the position of the last event counted.
    #[serde(skip_serializing_if = "Option::is_none")]
    position: Option<u64>,
}

impl From<AnalyticsSummary> for Analytics {
    fn from(summary: AnalyticsSummary) -> Self {
        Self {
            orders_by_status: summary.orders_by_status,
            revenue_cents_by_day: summary.revenue_cents_by_day,
            as_of: None,
            position: None,
        }
    }
}

/// The query of `GET /analytics`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AnalyticsQuery {
    /// An RFC 3339 moment: the counts as they were then, from every event that occurred
    /// by then in the event store (a scan of history up to it), not the analytics store.
    as_of: Option<String>,
}

/// `GET /analytics`: orders per status and revenue per day.
#[utoipa::path(
    get,
    path = "/analytics",
    tag = "analytics",
    summary = "Orders per status and revenue per day",
    params(AnalyticsQuery),
    responses(
        (status = 200, description = "The counts so far, or as of a moment.", body = Analytics),
        (status = 400, description = "`as_of` is not an RFC 3339 time.", body = ErrorBody),
        (status = 503, description = "The read models are unavailable.", body = ErrorBody),
    ),
)]
pub async fn analytics(
    State(app): State<AppState>,
    Params(query): Params<AnalyticsQuery>,
) -> Result<Json<Analytics>, ApiError> {
    if let Some(as_of) = query.as_of {
        let at = super::read_your_writes::as_of(&as_of)?;
        let (summary, position) = summary_as_of(&app.recorder, at).await?;
        return Ok(Json(Analytics {
            as_of: Some(at),
            position: Some(position),
            ..summary.into()
        }));
    }
    let summary = app
        .analytics
        .summary()
        .await
        .map_err(ApiError::read_models)?;
    Ok(Json(summary.into()))
}
