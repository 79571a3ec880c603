//! Orders: place and cancel (commands, answered at once), and read one, its history,
//! or a customer's (queries).
//!
//! - `orders/request.rs`: the body of `POST /orders`, read member by member.
//! - `orders/idempotency.rs`: the order id an `Idempotency-Key` derives, and retries.
//! - `orders/render.rs`: the order as the API shows it, and the other answers.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use orderflow_core::store::StreamQuery;
use orderflow_domain::order::{Order, OrderCommand};
use orderflow_domain::{Aggregate, OrderId, Timestamp, streams};
use serde::Deserialize;

use super::extract::{JsonObject, Params, PathParams};
use super::read_your_writes::{MinPosition, wait_for};
use super::routes::Routes;
use super::{ApiError, AppState};
use crate::context::{Cause, ServiceError, retry_on_conflict};

mod idempotency;
mod render;
mod request;

use render::{
    Accepted, CustomerOrders, History, HistoryEvent, OrderAnswer, OrderAsOf, OrderBody, OrderRead,
};
use request::NewOrder;

/// The routes of orders.
pub fn routes(routes: Routes<AppState>) -> Routes<AppState> {
    routes
        .post("/orders", place)
        .get("/orders/{order_id}", get)
        .get("/orders/{order_id}/history", history)
        .post("/orders/{order_id}/cancel", cancel)
        .get("/customers/{customer_id}/orders", of_customer)
}

/// Who acted, for the events the API records.
fn cause() -> Cause<'static> {
    Cause {
        causation_id: None,
        actor: "api",
        now: Utc::now(),
    }
}

/// An order id from a path: one that cannot be an order's is not found.
fn order_id(text: String) -> Result<OrderId, ApiError> {
    OrderId::parse(text).map_err(|e| ApiError::NotFound(e.to_string()))
}

/// `POST /orders`: records `OrderCreated` and returns; nothing downstream is called.
pub async fn place(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: JsonObject,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let order = NewOrder::read(&body, &app.limits)?;
    let (order_id, idempotent) = idempotency::order_id_for(&headers, order.customer_id())?;
    let cause = cause();
    let (customer_id, lines, currency, shipping_address) = order.clone().into_parts();
    let events = Order::default().decide(OrderCommand::Place {
        order_id: order_id.clone(),
        customer_id,
        lines,
        currency,
        shipping_address,
        now: Timestamp(cause.now.timestamp_millis()),
    })?;
    let stream = streams::order(&order_id);
    let accepted = match app.recorder.record(&events, &[(&stream, 0)], cause).await {
        Ok(position) => {
            tracing::debug!(%order_id, position, "order accepted");
            Accepted {
                order_id: order_id.to_string(),
                status: "PENDING".into(),
                position,
            }
        }
        Err(ServiceError::Store(e)) if e.is_conflict() && idempotent => {
            idempotency::placed_before(&app, &order_id, &order).await?
        }
        Err(e) => return Err(e.into()),
    };
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}

/// The query of `GET /orders/{order_id}`.
#[derive(Debug, Deserialize)]
pub struct OrderQuery {
    /// Wait until the read model reflects this position.
    min_position: Option<u64>,
    /// Fold the order's events until this RFC 3339 moment instead.
    as_of: Option<String>,
}

/// `GET /orders/{order_id}`: from the read model, or as of a past moment from the
/// event store.
pub async fn get(
    State(app): State<AppState>,
    PathParams(order_id): PathParams<String>,
    Params(query): Params<OrderQuery>,
) -> Result<Json<OrderAnswer>, ApiError> {
    let order_id = self::order_id(order_id)?;
    if let Some(as_of) = query.as_of {
        let order = as_of_time(&app, &order_id, &as_of).await?;
        return Ok(Json(OrderAnswer::AsOf(order)));
    }
    let read_at = wait_for(&app, query.min_position).await?;
    let view = app
        .read_model
        .order(order_id.as_str())
        .await
        .map_err(ApiError::read_models)?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "order {order_id} not found (read model at position {})",
                read_at.position
            ))
        })?;
    Ok(Json(OrderAnswer::Read(OrderRead {
        order: OrderBody::from_view(&view),
        read_at,
    })))
}

async fn as_of_time(
    app: &AppState,
    order_id: &OrderId,
    as_of: &str,
) -> Result<OrderAsOf, ApiError> {
    let at = DateTime::parse_from_rfc3339(as_of)
        .map_err(|e| ApiError::BadRequest(format!("as_of must be an RFC 3339 time: {e}")))?
        .with_timezone(&Utc);
    let query = StreamQuery {
        until: Some(at),
        ..StreamQuery::all()
    };
    let loaded = app
        .recorder
        .load_with::<Order>(&streams::order(order_id), query)
        .await?;
    let (Some(state), Some((first, _)), Some((last, _))) = (
        loaded.state.state,
        loaded.events.first(),
        loaded.events.last(),
    ) else {
        return Err(ApiError::NotFound(format!(
            "order {order_id} did not exist at {as_of}"
        )));
    };
    Ok(OrderAsOf {
        order: OrderBody::from_state(&state, first.occurred_at, last.occurred_at),
        as_of: at,
        position: last.position,
    })
}

/// `GET /orders/{order_id}/history`: every event of every service about the order.
pub async fn history(
    State(app): State<AppState>,
    PathParams(order_id): PathParams<String>,
) -> Result<Json<History>, ApiError> {
    let events = app.recorder.history(&order_id).await?;
    if events.is_empty() {
        return Err(ApiError::NotFound(format!("order {order_id} not found")));
    }
    Ok(Json(History {
        order_id,
        events: events
            .into_iter()
            .map(|(stored, decoded)| HistoryEvent::new(stored, decoded))
            .collect(),
    }))
}

/// `POST /orders/{order_id}/cancel`: 202, or 409 once shipped.
pub async fn cancel(
    State(app): State<AppState>,
    PathParams(order_id): PathParams<String>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let order_id = self::order_id(order_id)?;
    let stream = streams::order(&order_id);
    let position = retry_on_conflict(|| async {
        let order = app.recorder.load::<Order>(&stream).await?;
        let events = order.state.decide(OrderCommand::Cancel {
            reason: "cancelled by the customer".into(),
        })?;
        let appended = app
            .recorder
            .record(&events, &[(&stream, order.version)], cause())
            .await?;
        Ok(appended.max(order.events.last().map_or(0, |(s, _)| s.position)))
    })
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            order_id: order_id.to_string(),
            status: "CANCELLED".into(),
            position,
        }),
    ))
}

/// `GET /customers/{customer_id}/orders`.
pub async fn of_customer(
    State(app): State<AppState>,
    PathParams(customer_id): PathParams<String>,
    Params(query): Params<MinPosition>,
) -> Result<Json<CustomerOrders>, ApiError> {
    let read_at = wait_for(&app, query.min_position).await?;
    let orders = app
        .read_model
        .customer_orders(&customer_id)
        .await
        .map_err(ApiError::read_models)?;
    Ok(Json(CustomerOrders {
        customer_id,
        orders: orders.iter().map(OrderBody::from_view).collect(),
        read_at,
    }))
}
