//! What an `Idempotency-Key` makes of a request to place an order: the order id is
//! derived from the customer and the key, so a retried request names the same order;
//! a retry that asks for the same order gets that order, one that asks for another is
//! `422`.

use axum::http::HeaderMap;
use orderflow_core::store::StreamQuery;
use orderflow_domain::order::Order;
use orderflow_domain::{Aggregate, CustomerId, Event, OrderId, streams};
use uuid::Uuid;

use super::render::Accepted;
use super::request::NewOrder;
use crate::http::{ApiError, AppState};

/// The order id for a request, and whether an `Idempotency-Key` chose it.
pub fn order_id_for(
    headers: &HeaderMap,
    customer: &CustomerId,
) -> Result<(OrderId, bool), ApiError> {
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
    Ok((order_id_from_key(customer, key)?, true))
}

/// The order id a customer's `Idempotency-Key` derives (UUIDv5): the same key from the
/// same customer is always the same order.
pub fn order_id_from_key(customer: &CustomerId, key: &str) -> Result<OrderId, ApiError> {
    let id = Uuid::new_v5(
        &Uuid::NAMESPACE_URL,
        format!("orderflow:{customer}:{key}").as_bytes(),
    );
    Ok(OrderId::parse(id.to_string())?)
}

/// The answer to a request whose `Idempotency-Key` already placed `order_id`: that
/// order, if the request is the same in every member; else `422` naming the member.
pub async fn placed_before(
    app: &AppState,
    order_id: &OrderId,
    order: &NewOrder,
) -> Result<Accepted, ApiError> {
    let events = app
        .recorder
        .read(&streams::order(order_id), StreamQuery::all())
        .await?;
    let existing = Order::from_events(events.iter().map(|(_, e)| e));
    let created = events.iter().find_map(|(stored, event)| match event {
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
    let status = existing.status().map_or("PENDING", |s| s.as_str());
    Ok(Accepted {
        order_id: order_id.to_string(),
        status: status.to_owned(),
        position,
    })
}
