//! `/ui/orders`: every order, newest first, filtered by status, customer, time range
//! and how long it has been stuck, a page at a time (`GET /orders`'s query); an order
//! id typed in the search box opens that order.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use maud::html;
use orderflow_core::read_model::OrderQuery;
use serde::Deserialize;

use super::layout::{page as frame, problem};
use crate::http::AppState;
use crate::http::extract::Params;
use crate::http::orders::list::{PageQuery, page as one_page, paged};

/// The filter form's fields (empty ones are no filter).
#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    #[serde(default)]
    id: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    customer: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    stuck: String,
    cursor: Option<String>,
}

const STATUSES: [&str; 4] = ["PENDING", "CONFIRMED", "SHIPPED", "CANCELLED"];

fn given(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// A time from the form: RFC 3339, or what a `datetime-local` field sends (taken as UTC).
fn time(text: &str) -> Result<Option<DateTime<Utc>>, String> {
    let Some(text) = given(text) else {
        return Ok(None);
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(&text) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    chrono::NaiveDateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M")
        .map(|t| Some(t.and_utc()))
        .map_err(|_| format!("{text:?} is not a time (2026-12-06T15:00)"))
}

/// `GET /ui/orders`.
pub async fn page(State(app): State<AppState>, Params(filters): Params<Filters>) -> Response {
    if let Some(id) = given(&filters.id) {
        return Redirect::to(&format!("/ui/orders/{}", urlencoding(&id))).into_response();
    }
    let parsed = (|| -> Result<OrderQuery, String> {
        let status = given(&filters.status);
        if let Some(s) = &status
            && !STATUSES.contains(&s.as_str())
        {
            return Err(format!("{s:?} is not a status"));
        }
        let stuck = match given(&filters.stuck) {
            Some(s) => Some(
                s.parse::<u32>()
                    .map_err(|_| format!("stuck must be a number of seconds, not {s:?}"))?,
            ),
            None => None,
        };
        Ok(OrderQuery {
            status,
            customer_id: given(&filters.customer),
            created_from: time(&filters.from)?,
            created_to: time(&filters.to)?,
            unchanged_since: stuck.map(|s| Utc::now() - chrono::Duration::seconds(s.into())),
            ..OrderQuery::default()
        })
    })();
    let query = match parsed.and_then(|q| {
        paged(
            PageQuery {
                limit: Some(50),
                cursor: filters.cursor.clone(),
            },
            q,
        )
        .map_err(|e| match e {
            crate::http::ApiError::BadRequest(why) => why,
            other => format!("{other:?}"),
        })
    }) {
        Ok(q) => q,
        Err(why) => return problem(StatusCode::BAD_REQUEST, &why),
    };
    let (orders, next) = match one_page(&app, &query).await {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(error = ?e, "the console could not list orders");
            return problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "the orders cannot be read now: try again in a moment",
            );
        }
    };
    let next_link = next.map(|cursor| {
        format!(
            "/ui/orders?status={}&customer={}&from={}&to={}&stuck={}&cursor={}",
            urlencoding(&filters.status),
            urlencoding(&filters.customer),
            urlencoding(&filters.from),
            urlencoding(&filters.to),
            urlencoding(&filters.stuck),
            urlencoding(&cursor)
        )
    });
    let body = html! {
        form.filters method="get" action="/ui/orders" role="search" {
            label { "Order id" input type="search" name="id" placeholder="open an order"; }
            label { "Status" select name="status" {
                option value="" { "any" }
                @for s in STATUSES {
                    option value=(s) selected[filters.status == s] { (s) }
                }
            } }
            label { "Customer" input type="text" name="customer" value=(filters.customer); }
            label { "Created from" input type="datetime-local" name="from" value=(filters.from); }
            label { "to" input type="datetime-local" name="to" value=(filters.to); }
            label { "Stuck for more than (s)" input type="number" min="0" name="stuck" value=(filters.stuck); }
            button type="submit" { "Show" }
        }
        table #orders {
            thead { tr {
                th { "order" } th { "customer" } th { "status" } th.n { "total" }
                th { "created" } th { "updated" }
            } }
            tbody {
                @for o in &orders {
                    tr {
                        td { a href=(format!("/ui/orders/{}", o.order_id)) { (o.order_id) } }
                        td { (o.customer_id) }
                        td.status { (o.status) }
                        td.n { (format!("{}.{:02} {}", o.total_cents / 100, o.total_cents % 100, o.currency)) }
                        td { (o.created_at.to_rfc3339()) }
                        td { (o.updated_at.to_rfc3339()) }
                    }
                }
            }
        }
        @if orders.is_empty() { p.muted { "No order matches." } }
        @if let Some(link) = next_link { p { a href=(link) rel="next" { "Older orders →" } } }
    };
    frame("Orders", "/ui/orders", None, body).into_response()
}

/// What a query value or path segment keeps as it is: RFC 3986's unreserved characters.
const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes a query value or a path segment.
pub fn urlencoding(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, UNRESERVED).to_string()
}
