//! `POST /customers/{customer_id}/forget`: a customer's personal data forgotten (GDPR
//! Art. 17) by destroying their keys (`customers.rs`).

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use orderflow_domain::CustomerId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dlq::actor;
use crate::customers;
use crate::http::error::ErrorBody;
use crate::http::extract::{Body, PathParams};
use crate::http::{ApiError, AppState};

/// Why a customer is forgotten, and who asks.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Forget {
    /// The request it answers (required): it is kept in the history.
    reason: String,
    /// Who asks, beside the token's name.
    actor: Option<String>,
}

/// What forgetting did.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Forgotten {
    customer_id: String,
    /// Keys destroyed now: 0 when the customer was forgotten before (or never gave any
    /// personal data).
    keys_destroyed: usize,
    /// When, RFC 3339.
    forgotten_at: String,
    /// The store position of `CustomerForgotten`: read models that have reached it
    /// hold no address of the customer any more.
    position: u64,
}

#[utoipa::path(
    post,
    path = "/customers/{customer_id}/forget",
    tag = "operations",
    summary = "Forget a customer's personal data",
    description = "Destroys the customer's keys, so that every copy of their personal \
        data (the shipping addresses in their orders' events, on the bus, in exports and \
        backups) reads as erased from now on, and records `CustomerForgotten` with who, \
        when and why. The read models drop the addresses once they reach `position`, the \
        mail folder its copies of the customer's emails. Every other fact of their \
        orders stays. Forgetting again destroys nothing more and is recorded again.",
    params(("customer_id" = String, Path, description = "The customer's id.")),
    request_body(content = Forget, description = "Why (required), and who asks."),
    responses(
        (status = 200, description = "Forgotten.", body = Forgotten),
        (status = 404, description = "Not a customer id.", body = ErrorBody),
        (status = 422, description = "No reason given.", body = ErrorBody),
        (status = 503, description = "The key store or the event store is unavailable.",
            body = ErrorBody),
    ),
)]
pub async fn forget(
    State(app): State<AppState>,
    headers: HeaderMap,
    PathParams(customer_id): PathParams<String>,
    Body(body): Body<Forget>,
) -> Result<Json<Forgotten>, ApiError> {
    let customer = CustomerId::parse(customer_id).map_err(|e| ApiError::NotFound(e.to_string()))?;
    if body.reason.trim().is_empty() {
        return Err(ApiError::Unprocessable(
            "reason: say which request this answers".into(),
        ));
    }
    let who = actor(&headers, body.actor);
    let done = customers::forget(
        app.keys.as_ref(),
        &app.recorder,
        &customer,
        body.reason.trim(),
        &who,
    )
    .await?;
    Ok(Json(Forgotten {
        customer_id: customer.to_string(),
        keys_destroyed: done.keys_destroyed,
        forgotten_at: done.at.to_rfc3339(),
        position: done.position,
    }))
}
