//! Inventory: set a SKU's stock on hand (a command, recorded as an event) and read it.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use orderflow_core::store::{ExpectedVersion, StreamQuery};
use orderflow_domain::inventory::{SetLevel, SkuStock};
use orderflow_domain::{Aggregate, Sku, streams};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ErrorBody;
use super::extract::{Body, Params, PathParams};
use super::read_your_writes::{self, ReadQuery, wait_for};
use super::routes::Routes;
use super::{ApiError, AppState};
use crate::context::Cause;

/// The routes of inventory.
pub fn routes(routes: Routes<AppState>) -> Routes<AppState> {
    routes
        .get("/inventory/{sku}", get_stock)
        .put("/inventory/{sku}", set_stock)
}

/// The body of `PUT /inventory/{sku}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockLevel {
    /// The units on hand (at most 2^63 - 1).
    available: u64,
}

/// The answer to `PUT /inventory/{sku}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StockSet {
    sku: String,
    available: u64,
    /// The global position of the recorded event.
    position: u64,
}

/// A SKU's stock, from the read model.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Stock {
    sku: String,
    /// Units on hand and not reserved.
    available: u64,
    /// Units reserved for orders not yet shipped.
    reserved: u64,
    /// The global position the read model reflects (with `asOf`: the position of the
    /// SKU's last event until then).
    position: u64,
    /// The moment asked for, when the stock is as it was then (from the event store).
    #[serde(skip_serializing_if = "Option::is_none")]
    as_of: Option<DateTime<Utc>>,
}

/// `PUT /inventory/{sku}`: sets the stock on hand, as an event.
#[utoipa::path(
    put,
    path = "/inventory/{sku}",
    tag = "inventory",
    summary = "Set a SKU's stock",
    description = "Records the units on hand (`StockLevelSet`); reservations of orders not \
        yet shipped are kept.",
    params(("sku" = String, Path, description = "The product.")),
    request_body = StockLevel,
    responses(
        (status = 200, description = "Recorded.", body = StockSet),
        (status = 400, description = "The body is not JSON.", body = ErrorBody),
        (status = 413, description = "The body is larger than the API takes.", body = ErrorBody),
        (status = 415, description = "The body is not declared JSON.", body = ErrorBody),
        (status = 422, description = "The SKU or `available` is invalid, or a member is \
            missing or unknown.", body = ErrorBody),
        (status = 503, description = "The event store is unavailable; retry.", body = ErrorBody),
    ),
)]
pub async fn set_stock(
    State(app): State<AppState>,
    PathParams(sku): PathParams<String>,
    Body(body): Body<StockLevel>,
) -> Result<Json<StockSet>, ApiError> {
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
    // Setting a level replaces what was there: no version to expect.
    let position = app
        .recorder
        .append(&streams::sku(&sku), ExpectedVersion::Any, &events, cause)
        .await?;
    Ok(Json(StockSet {
        sku: sku.as_str().to_owned(),
        available: body.available,
        position,
    }))
}

/// `GET /inventory/{sku}`.
#[utoipa::path(
    get,
    path = "/inventory/{sku}",
    tag = "inventory",
    summary = "Read a SKU's stock",
    description = "From the read model, or with `as_of` as it was at that moment, folded \
        from the SKU's events until then.",
    params(("sku" = String, Path, description = "The product."), ReadQuery),
    responses(
        (status = 200, description = "The stock, from the read model or as of a moment.",
            body = Stock),
        (status = 400, description = "A query parameter is bad.", body = ErrorBody),
        (status = 404, description = "No stock was ever set for this SKU (by `as_of`).",
            body = ErrorBody),
        (status = 503, description = "The read models are unavailable.", body = ErrorBody),
    ),
)]
pub async fn get_stock(
    State(app): State<AppState>,
    PathParams(sku): PathParams<String>,
    Params(query): Params<ReadQuery>,
) -> Result<Json<Stock>, ApiError> {
    if let Some(as_of) = query.as_of {
        return stock_as_of(&app, sku, &as_of).await.map(Json);
    }
    let read_at = wait_for(&app, query.min_position).await?;
    let stock = app
        .read_model
        .stock(&sku)
        .await
        .map_err(ApiError::read_models)?
        .ok_or_else(|| ApiError::NotFound(format!("unknown SKU {sku}")))?;
    Ok(Json(Stock {
        sku: stock.sku,
        available: stock.available,
        reserved: stock.reserved,
        position: read_at.position,
        as_of: None,
    }))
}

/// The SKU's stock as it was at `as_of`, folded from its events that occurred by then.
async fn stock_as_of(app: &AppState, sku: String, as_of: &str) -> Result<Stock, ApiError> {
    let at = read_your_writes::as_of(as_of)?;
    let sku = Sku::parse(sku)?;
    let query = StreamQuery {
        until: Some(at),
        ..StreamQuery::all()
    };
    let events = app.recorder.read(&streams::sku(&sku), query).await?;
    let stock = SkuStock::from_events(events.iter().map(|(_, e)| e));
    let Some((last, _)) = events.last().filter(|_| stock.known) else {
        return Err(ApiError::NotFound(format!(
            "no stock was set for SKU {sku} by {as_of}"
        )));
    };
    Ok(Stock {
        sku: sku.as_str().to_owned(),
        available: stock.available,
        reserved: stock.reserved,
        position: last.position,
        as_of: Some(at),
    })
}
