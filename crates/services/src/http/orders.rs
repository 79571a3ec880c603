//! Order commands and queries.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use orderflow_core::codec::to_json;
use orderflow_core::store::StreamQuery;
use orderflow_core::views::OrderView;
use orderflow_domain::order::{Order, OrderCommand, OrderState};
use orderflow_domain::{Aggregate, CustomerId, Event, OrderId, Timestamp, streams};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::extract::{JsonObject, Params, PathParams};
use super::{ApiError, AppState};
use crate::context::{Cause, ServiceError, retry_on_conflict};

mod request;

use request::NewOrder;

/// How long `min_position` waits for the read model at most.
pub const READ_YOUR_WRITES_WAIT: Duration = Duration::from_secs(5);

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Placed {
    order_id: String,
    status: &'static str,
    position: u64,
}

/// The order id for a request: derived from the customer and the `Idempotency-Key` when
/// there is one, so a retried request names the same order.
fn order_id_for(headers: &HeaderMap, customer: &CustomerId) -> Result<(OrderId, bool), ApiError> {
    let Some(key) = headers.get("idempotency-key") else {
        // Time-ordered, so an order's streams and correlation id sort near the other
        // recent orders': the indexes by stream and by correlation are written at a
        // few hot pages rather than at random ones.
        return Ok((OrderId::parse(Uuid::now_v7().to_string())?, false));
    };
    let key = key
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= 255)
        .ok_or_else(|| {
            ApiError::BadRequest("Idempotency-Key must be 1 to 255 visible ASCII characters".into())
        })?;
    let id = Uuid::new_v5(
        &Uuid::NAMESPACE_URL,
        format!("orderflow:{customer}:{key}").as_bytes(),
    );
    Ok((OrderId::parse(id.to_string())?, true))
}

/// `POST /orders`: records `OrderCreated` and returns; nothing downstream is called.
pub async fn place(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: JsonObject,
) -> Result<(StatusCode, Json<Placed>), ApiError> {
    let order = NewOrder::read(&body, &app.limits)?;
    let (order_id, idempotent) = order_id_for(&headers, order.customer_id())?;
    let now = Utc::now();
    let (customer_id, lines, currency, shipping_address) = order.clone().into_parts();
    let events = Order::default().decide(OrderCommand::Place {
        order_id: order_id.clone(),
        customer_id,
        lines,
        currency,
        shipping_address,
        now: Timestamp(now.timestamp_millis()),
    })?;
    let stream = streams::order(&order_id);
    let cause = Cause {
        causation_id: None,
        actor: "api",
        now,
    };
    let position = match app.recorder.record(&events, &[(&stream, 0)], cause).await {
        Ok(position) => position,
        Err(ServiceError::Store(e)) if e.is_conflict() && idempotent => {
            return placed_before(&app, &order_id, &order).await;
        }
        Err(e) => return Err(e.into()),
    };
    tracing::debug!(%order_id, position, "order accepted");
    Ok((
        StatusCode::ACCEPTED,
        Json(Placed {
            order_id: order_id.to_string(),
            status: "PENDING",
            position,
        }),
    ))
}

/// The answer to a request whose `Idempotency-Key` already placed `order_id`: that
/// order, if the request is the same in every member; else `422` naming the member.
async fn placed_before(
    app: &AppState,
    order_id: &OrderId,
    order: &NewOrder,
) -> Result<(StatusCode, Json<Placed>), ApiError> {
    let existing = app
        .recorder
        .load::<Order>(&streams::order(order_id))
        .await?;
    let created = existing
        .events
        .iter()
        .find_map(|(stored, event)| match event {
            Event::OrderCreated(created) => Some((stored.position, created)),
            _ => None,
        });
    let Some((position, created)) = created else {
        return Err(ApiError::Conflict(format!(
            "order {order_id} exists without being created; retry later"
        )));
    };
    if let Some(member) = order.difference(created) {
        return Err(ApiError::Unprocessable(format!(
            "this Idempotency-Key was already used for a different order ({member} differs)"
        )));
    }
    let status = existing.state.status().map_or("PENDING", |s| s.as_str());
    Ok((
        StatusCode::ACCEPTED,
        Json(Placed {
            order_id: order_id.to_string(),
            status,
            position,
        }),
    ))
}

#[derive(Debug, Deserialize)]
pub struct OrderQuery {
    min_position: Option<u64>,
    as_of: Option<String>,
}

fn money(cents: i64) -> f64 {
    cents as f64 / 100.0
}

fn view_json(view: &OrderView) -> Value {
    json!({
        "orderId": view.order_id,
        "customerId": view.customer_id,
        "status": view.status,
        "items": view.items.iter().map(|i| json!({
            "sku": i.sku, "quantity": i.quantity, "unitPrice": money(i.unit_price_cents),
        })).collect::<Vec<_>>(),
        "totalAmount": money(view.total_cents),
        "currency": view.currency,
        "shippingAddress": view.shipping_address,
        "createdAt": view.created_at,
        "updatedAt": view.updated_at,
        "cancelReason": view.cancel_reason,
        "trackingNumber": view.tracking_number,
        "failures": view.failures,
    })
}

/// Waits until the read model reflects `min_position` (bounded); returns its position and
/// whether it caught up.
pub async fn wait_for(app: &AppState, min_position: Option<u64>) -> Result<(u64, bool), ApiError> {
    let deadline = tokio::time::Instant::now() + READ_YOUR_WRITES_WAIT;
    loop {
        let position = app
            .read_model
            .position()
            .await
            .map_err(ApiError::read_models)?;
        let wanted = min_position.unwrap_or(0);
        if position >= wanted {
            return Ok((position, true));
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok((position, false));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// `GET /orders/{id}`: from the read model, or as of a past moment from the event store.
pub async fn get(
    State(app): State<AppState>,
    PathParams(order_id): PathParams<String>,
    Params(query): Params<OrderQuery>,
) -> Result<Json<Value>, ApiError> {
    let order_id = OrderId::parse(order_id).map_err(|e| ApiError::NotFound(e.to_string()))?;
    if let Some(as_of) = query.as_of {
        return as_of_time(&app, &order_id, &as_of).await;
    }
    let (position, caught_up) = wait_for(&app, query.min_position).await?;
    let view = app
        .read_model
        .order(order_id.as_str())
        .await
        .map_err(ApiError::read_models)?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "order {order_id} not found (read model at position {position})"
            ))
        })?;
    let mut body = view_json(&view);
    body["position"] = json!(position);
    body["caughtUp"] = json!(caught_up);
    Ok(Json(body))
}

async fn as_of_time(
    app: &AppState,
    order_id: &OrderId,
    as_of: &str,
) -> Result<Json<Value>, ApiError> {
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
    let Some(state) = loaded.state.state else {
        return Err(ApiError::NotFound(format!(
            "order {order_id} did not exist at {as_of}"
        )));
    };
    let (last, _) = loaded.events.last().expect("an order has events");
    let first = &loaded.events[0].0;
    Ok(Json(state_json(
        &state,
        first.occurred_at,
        last.occurred_at,
        last.position,
        at,
    )))
}

fn state_json(
    s: &OrderState,
    created: DateTime<Utc>,
    updated: DateTime<Utc>,
    position: u64,
    at: DateTime<Utc>,
) -> Value {
    json!({
        "orderId": s.order_id.as_str(),
        "customerId": s.customer_id.as_str(),
        "status": s.status.as_str(),
        "items": s.lines.lines().iter().map(|l| json!({
            "sku": l.sku.as_str(), "quantity": l.quantity.get(), "unitPrice": l.unit_price.to_major(),
        })).collect::<Vec<_>>(),
        "totalAmount": s.lines.total().to_major(),
        "currency": s.currency.as_str(),
        "shippingAddress": s.shipping_address,
        "createdAt": created,
        "updatedAt": updated,
        "cancelReason": s.cancel_reason,
        "trackingNumber": s.tracking_number,
        "asOf": at,
        "position": position,
    })
}

/// `GET /orders/{id}/history`: every event of every service about the order.
pub async fn history(
    State(app): State<AppState>,
    PathParams(order_id): PathParams<String>,
) -> Result<Json<Value>, ApiError> {
    let stored = app.recorder.store.read_correlated(&order_id).await?;
    if stored.is_empty() {
        return Err(ApiError::NotFound(format!("order {order_id} not found")));
    }
    let mut events = Vec::with_capacity(stored.len());
    for e in stored {
        let data = match app.recorder.codec.decode(e.schema_id, &e.payload).await {
            Ok(event) => to_json(&event),
            Err(err) => json!({ "undecodable": err.to_string() }),
        };
        events.push(json!({
            "eventId": e.event_id,
            "type": e.event_type,
            "stream": e.stream_id,
            "version": e.version,
            "position": e.position,
            "occurredAt": e.occurred_at,
            "recordedAt": e.recorded_at,
            "causationId": e.causation_id,
            "actor": e.actor,
            "schemaId": e.schema_id,
            "data": data,
        }));
    }
    Ok(Json(json!({ "orderId": order_id, "events": events })))
}

/// `POST /orders/{id}/cancel`: 202, or 409 once shipped.
pub async fn cancel(
    State(app): State<AppState>,
    PathParams(order_id): PathParams<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let order_id = OrderId::parse(order_id).map_err(|e| ApiError::NotFound(e.to_string()))?;
    let stream = streams::order(&order_id);
    let position = retry_on_conflict(|| async {
        let order = app.recorder.load::<Order>(&stream).await?;
        let events = order.state.decide(OrderCommand::Cancel {
            reason: "cancelled by the customer".into(),
        })?;
        let cause = Cause {
            causation_id: None,
            actor: "api",
            now: Utc::now(),
        };
        let appended = app
            .recorder
            .record(&events, &[(&stream, order.version)], cause)
            .await?;
        Ok(appended.max(order.events.last().map_or(0, |(s, _)| s.position)))
    })
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "orderId": order_id.as_str(), "status": "CANCELLED", "position": position })),
    ))
}

/// `GET /customers/{id}/orders`.
pub async fn of_customer(
    State(app): State<AppState>,
    PathParams(customer_id): PathParams<String>,
    Params(query): Params<OrderQuery>,
) -> Result<Json<Value>, ApiError> {
    let (position, caught_up) = wait_for(&app, query.min_position).await?;
    let orders = app
        .read_model
        .customer_orders(&customer_id)
        .await
        .map_err(ApiError::read_models)?;
    Ok(Json(json!({
        "customerId": customer_id,
        "orders": orders.iter().map(view_json).collect::<Vec<_>>(),
        "position": position,
        "caughtUp": caught_up,
    })))
}
