//! Orders: place and cancel (commands, answered at once), and read one, its history,
//! or a customer's (queries).
//!
//! - `orders/request.rs`: the body of `POST /orders`, read member by member.
//! - `orders/idempotency.rs`: the order id an `Idempotency-Key` derives, and retries.
//! - `orders/list.rs`: `GET /orders`, filtered and paged, and the paging of a customer's.
//! - `orders/render.rs`: the order as the API shows it, and the other answers.
//! - `orders/waiting.rs`: `waitingFor`, the steps an order still misses.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use orderflow_core::store::{ExpectedVersion, StreamQuery};
use orderflow_domain::order::{Order, OrderCommand};
use orderflow_domain::{Aggregate, OrderId, Timestamp, streams};
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::ErrorBody;
use super::extract::{JsonObject, Params, PathParams};
use super::read_your_writes::{ReadQuery, wait_for};
use super::routes::Routes;
use super::{ApiError, AppState};
use crate::context::{Cause, Loaded, ServiceError};
use crate::pipeline::order_waiting_for;

pub(super) mod idempotency;
pub mod list;
mod render;
pub(super) mod request;
mod waiting;

use render::{
    Accepted, CustomerOrders, CustomerOrdersAnswer, CustomerOrdersAsOf, History, HistoryEvent,
    OrderAnswer, OrderAsOf, OrderBody, OrderRead,
};
use request::{NewOrder, OrderRequest};

/// The routes of orders.
pub fn routes(routes: Routes<AppState>) -> Routes<AppState> {
    routes
        .post("/orders", place)
        .get("/orders", list::list)
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
#[utoipa::path(
    post,
    path = "/orders",
    operation_id = "place_order",
    tag = "orders",
    summary = "Place an order",
    description = "Records the order (`OrderCreated`) and answers at once; payment, stock, \
        shipping and mail follow at their own pace. Read it back with `min_position` set to \
        the answer's `position`.",
    request_body = OrderRequest,
    params(
        ("Idempotency-Key" = Option<String>, Header,
            description = "1 to 255 visible ASCII characters. The same key from the same \
                customer names the same order: a retry with the same body is answered as \
                the first time; one with another body is `422`."),
    ),
    responses(
        (status = 202, description = "Placed (or placed before with this Idempotency-Key).",
            body = Accepted),
        (status = 400, description = "The body is not JSON, or the Idempotency-Key is bad.",
            body = ErrorBody),
        (status = 409, description = "The order exists without being created yet; retry.",
            body = ErrorBody),
        (status = 413, description = "The body is larger than the API takes.", body = ErrorBody),
        (status = 415, description = "The body is not declared JSON.", body = ErrorBody),
        (status = 422, description = "A member is missing, unknown or invalid (the message \
            names it), or the Idempotency-Key was used for another order.", body = ErrorBody),
        (status = 503, description = "The event store is unavailable; retry.", body = ErrorBody),
    ),
)]
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
    let appended = app
        .recorder
        .append(&stream, ExpectedVersion::NoStream, &events, cause)
        .await;
    let accepted = match appended {
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
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrderQuery {
    /// Wait (at most 5 s) until the read model reflects this global position (a
    /// command's `position`); `caughtUp` says whether it did.
    min_position: Option<u64>,
    /// An RFC 3339 moment: the order as it was then, folded from its events (not the
    /// read model).
    as_of: Option<String>,
}

/// `GET /orders/{order_id}`: from the read model, or as of a past moment from the
/// event store.
#[utoipa::path(
    get,
    path = "/orders/{order_id}",
    operation_id = "get_order",
    tag = "orders",
    summary = "Read an order",
    description = "From the read model (with its `position` and `caughtUp`, and \
        `waitingFor`: the steps it still misses, from the event store, each with its \
        consumer group's liveness, lag and what it parked of the order), or with `as_of` \
        as it was at that moment, from the event store (with `asOf` and the `position` \
        of its last event until then, without `failures` and `waitingFor`).",
    params(("order_id" = String, Path, description = "The order's id."), OrderQuery),
    responses(
        (status = 200, description = "The order.", body = OrderAnswer),
        (status = 400, description = "A query parameter is bad (`as_of` not RFC 3339).",
            body = ErrorBody),
        (status = 404, description = "No such order (yet, or at `as_of`).", body = ErrorBody),
        (status = 503, description = "The read models or the event store are unavailable.",
            body = ErrorBody),
    ),
)]
pub async fn get(
    State(app): State<AppState>,
    PathParams(order_id): PathParams<String>,
    Params(query): Params<OrderQuery>,
) -> Result<Json<OrderAnswer>, ApiError> {
    let order_id = self::order_id(order_id)?;
    if let Some(as_of) = query.as_of {
        let at = super::read_your_writes::as_of(&as_of)?;
        let order = as_of_time(&app, &order_id, at).await?;
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
    let waiting =
        order_waiting_for(&app.recorder, app.bus.as_ref(), &app.groups, &order_id).await?;
    Ok(Json(OrderAnswer::Read(OrderRead {
        order: OrderBody::opened(app.keys.as_ref(), std::slice::from_ref(&view))
            .await?
            .remove(0),
        read_at,
        waiting_for: waiting.iter().map(Into::into).collect(),
    })))
}

/// The order as it was at `at`, folded from its events that occurred by then.
async fn as_of_time(
    app: &AppState,
    order_id: &OrderId,
    at: DateTime<Utc>,
) -> Result<OrderAsOf, ApiError> {
    let query = StreamQuery {
        until: Some(at),
        ..StreamQuery::all()
    };
    let events = app.recorder.read(&streams::order(order_id), query).await?;
    let order = Order::from_events(events.iter().map(|(_, e)| e));
    let (Some(state), Some((first, _)), Some((last, _))) =
        (order.state, events.first(), events.last())
    else {
        return Err(ApiError::NotFound(format!(
            "order {order_id} did not exist at {}",
            at.to_rfc3339()
        )));
    };
    Ok(OrderAsOf {
        order: OrderBody::from_state(&state, first.occurred_at, last.occurred_at),
        as_of: at,
        position: last.position,
    })
}

/// `GET /orders/{order_id}/history`: every event of every service about the order.
#[utoipa::path(
    get,
    path = "/orders/{order_id}/history",
    operation_id = "order_history",
    tag = "orders",
    summary = "An order's history",
    description = "Every event of every service about the order, in the order recorded.",
    params(("order_id" = String, Path, description = "The order's id.")),
    responses(
        (status = 200, description = "The events.", body = History),
        (status = 404, description = "No event about this order.", body = ErrorBody),
        (status = 503, description = "The event store is unavailable.", body = ErrorBody),
    ),
)]
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
#[utoipa::path(
    post,
    path = "/orders/{order_id}/cancel",
    operation_id = "cancel_order",
    tag = "orders",
    summary = "Cancel an order",
    description = "Records the cancellation; a paid order is refunded and its stock \
        released downstream. Takes no body; without a token it must say \
        `content-type: application/json`.",
    params(("order_id" = String, Path, description = "The order's id.")),
    responses(
        (status = 202, description = "Cancelled.", body = Accepted),
        (status = 404, description = "No such order.", body = ErrorBody),
        (status = 409, description = "Already shipped, cancelled or failed.", body = ErrorBody),
        (status = 503, description = "The event store is unavailable; retry.", body = ErrorBody),
    ),
)]
pub async fn cancel(
    State(app): State<AppState>,
    PathParams(order_id): PathParams<String>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let order_id = self::order_id(order_id)?;
    let stream = streams::order(&order_id);
    let position = app
        .recorder
        .execute(
            order_id.as_str(),
            &stream,
            cause(),
            |order: Loaded<Order>, _| async move {
                Ok(order.aggregate.decide(OrderCommand::Cancel {
                    reason: "cancelled by the customer".into(),
                })?)
            },
        )
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
#[utoipa::path(
    get,
    path = "/customers/{customer_id}/orders",
    operation_id = "customer_orders",
    tag = "orders",
    summary = "A customer's orders",
    description = "From the read model, newest first, a page at a time (`next` is the \
        `cursor` of the page after; null on the last), or with `as_of` as they were at that \
        moment: each order of the page folded from its events until then (orders created \
        later left out).",
    params(
        ("customer_id" = String, Path, description = "The customer's id."),
        ReadQuery,
        list::PageQuery,
    ),
    responses(
        (status = 200, description = "The customer's orders, from the read model (none: an \
            empty list), or as of a moment.", body = CustomerOrdersAnswer),
        (status = 400, description = "A query parameter is bad.", body = ErrorBody),
        (status = 503, description = "The read models are unavailable.", body = ErrorBody),
    ),
)]
pub async fn of_customer(
    State(app): State<AppState>,
    PathParams(customer_id): PathParams<String>,
    Params(query): Params<ReadQuery>,
    Params(page): Params<list::PageQuery>,
) -> Result<Json<CustomerOrdersAnswer>, ApiError> {
    let wanted = list::paged(
        page,
        orderflow_core::read_model::OrderQuery {
            customer_id: Some(customer_id.clone()),
            ..Default::default()
        },
    )?;
    let read_at = wait_for(&app, query.min_position).await?;
    let (orders, next) = list::page(&app, &wanted).await?;
    if let Some(as_of) = query.as_of {
        let at = super::read_your_writes::as_of(&as_of)?;
        let mut then = Vec::new();
        for order in &orders {
            let order_id = self::order_id(order.order_id.clone())?;
            match as_of_time(&app, &order_id, at).await {
                Ok(order) => then.push(order.order),
                Err(ApiError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        return Ok(Json(CustomerOrdersAnswer::AsOf(CustomerOrdersAsOf {
            customer_id,
            orders: then,
            next,
            as_of: at,
        })));
    }
    Ok(Json(CustomerOrdersAnswer::Read(CustomerOrders {
        customer_id,
        orders: OrderBody::opened(app.keys.as_ref(), &orders).await?,
        next,
        read_at,
    })))
}
