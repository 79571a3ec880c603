//! `GET /orders`: every order, newest first, filtered and paged with a cursor (an
//! operator's view); and the paging `GET /customers/{id}/orders` shares.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use orderflow_core::read_model::{OrderCursor, OrderQuery, OrderSummary};
use orderflow_domain::order::OrderStatus;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::render::OrderBody;
use crate::http::error::ErrorBody;
use crate::http::extract::Params;
use crate::http::read_your_writes::{ReadAt, wait_for};
use crate::http::{ApiError, AppState};

/// Orders per page unless `limit` says otherwise, and the most it may say.
pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 500;

/// A page of a list of orders: how many, and where the page before ended.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// At most this many orders (1 to 500; 50 by default).
    pub limit: Option<usize>,
    /// The `next` of the page before: this page starts after it.
    pub cursor: Option<String>,
}

/// Which orders `GET /orders` lists.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `PENDING`, `CONFIRMED`, `SHIPPED` or `CANCELLED`.
    status: Option<String>,
    /// Only this customer's.
    customer: Option<String>,
    /// Created at or after this RFC 3339 time.
    from: Option<String>,
    /// Created before this RFC 3339 time.
    to: Option<String>,
    /// Not shipped or cancelled, and unchanged for more than this many seconds.
    stuck: Option<u64>,
    /// At most this many orders (1 to 500; 50 by default).
    limit: Option<usize>,
    /// The `next` of the page before: this page starts after it.
    cursor: Option<String>,
    /// Wait (at most 5 s) until the read models reflect this global position.
    min_position: Option<u64>,
}

/// `GET /orders`: one page.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderList {
    pub orders: Vec<OrderBody>,
    /// The cursor of the next page; null on the last one.
    pub next: Option<String>,
    #[serde(flatten)]
    pub read_at: ReadAt,
}

/// A cursor as the API hands it out: the order's creation time (microseconds) and id.
fn cursor_text(order: &OrderSummary) -> String {
    format!("{}.{}", order.created_at.timestamp_micros(), order.order_id)
}

fn parse_cursor(text: &str) -> Result<OrderCursor, ApiError> {
    let bad = || {
        ApiError::BadRequest(format!(
            "cursor {text:?} is not one this API gave: pass a page's `next` as it is"
        ))
    };
    let (micros, order_id) = text.split_once('.').ok_or_else(bad)?;
    let micros: i64 = micros.parse().map_err(|_| bad())?;
    Ok(OrderCursor {
        created_at: DateTime::from_timestamp_micros(micros).ok_or_else(bad)?,
        order_id: order_id.to_owned(),
    })
}

fn time(name: &str, text: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| ApiError::BadRequest(format!("{name} must be an RFC 3339 time: {e}")))
}

/// The query of one page: `limit` checked, `cursor` read.
pub fn paged(page: PageQuery, mut query: OrderQuery) -> Result<OrderQuery, ApiError> {
    let limit = page.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be from 1 to {MAX_LIMIT}, not {limit}"
        )));
    }
    query.limit = limit;
    query.after = page.cursor.as_deref().map(parse_cursor).transpose()?;
    Ok(query)
}

/// One page of the orders `query` selects, and the cursor of the next one (none when
/// this is the last).
pub async fn page(
    app: &AppState,
    query: &OrderQuery,
) -> Result<(Vec<OrderSummary>, Option<String>), ApiError> {
    let one_more = OrderQuery {
        limit: query.limit + 1,
        ..query.clone()
    };
    let mut orders = app
        .read_model
        .list_orders(&one_more)
        .await
        .map_err(ApiError::read_models)?;
    let next = if orders.len() > query.limit {
        orders.truncate(query.limit);
        orders.last().map(cursor_text)
    } else {
        None
    };
    Ok((orders, next))
}

/// `GET /orders`.
#[utoipa::path(
    get,
    path = "/orders",
    operation_id = "list_orders",
    tag = "orders",
    summary = "Every order, filtered and paged",
    description = "From the read model, newest first (by creation). Filters combine; \
        `stuck` finds orders waiting too long. A page ends with `next`: pass it as \
        `cursor` for the page after (null on the last page).",
    params(ListQuery),
    responses(
        (status = 200, description = "One page of orders.", body = OrderList),
        (status = 400, description = "A bad status, time, limit or cursor.", body = ErrorBody),
        (status = 503, description = "The read models are unavailable.", body = ErrorBody),
    ),
)]
pub async fn list(
    State(app): State<AppState>,
    Params(query): Params<ListQuery>,
) -> Result<Json<OrderList>, ApiError> {
    if let Some(status) = &query.status {
        let known = [
            OrderStatus::Pending,
            OrderStatus::Confirmed,
            OrderStatus::Shipped,
            OrderStatus::Cancelled,
        ];
        if !known.iter().any(|s| s.as_str() == status) {
            return Err(ApiError::BadRequest(format!(
                "status must be PENDING, CONFIRMED, SHIPPED or CANCELLED, not {status:?}"
            )));
        }
    }
    let filter = OrderQuery {
        status: query.status,
        customer_id: query.customer,
        created_from: query.from.as_deref().map(|t| time("from", t)).transpose()?,
        created_to: query.to.as_deref().map(|t| time("to", t)).transpose()?,
        unchanged_since: query
            .stuck
            .map(|s| Utc::now() - chrono::Duration::seconds(s.min(i64::MAX as u64) as i64)),
        ..OrderQuery::default()
    };
    let page_query = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    };
    let filter = paged(page_query, filter)?;
    let read_at = wait_for(&app, query.min_position).await?;
    let (orders, next) = page(&app, &filter).await?;
    Ok(Json(OrderList {
        orders: OrderBody::opened(app.keys.as_ref(), &orders).await?,
        next,
        read_at,
    }))
}
