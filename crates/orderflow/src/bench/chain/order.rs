//! The chain's order service: `POST /orders` records the order, then calls every
//! service that reacts to what was recorded, one after another, and answers once nothing
//! is left to do: `201` with the order shipped, or `503` once a step failed for good
//! (after the order was cancelled and compensated).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use chrono::Utc;
use orderflow_core::store::ExpectedVersion;
use orderflow_domain::order::{Order, OrderCommand};
use orderflow_domain::{Aggregate, OrderId, Timestamp, streams};
use orderflow_services::consumer::Handler;
use orderflow_services::context::{Cause, Loaded, Recorder, ServiceError};
use orderflow_services::http::{ApiError, JsonObject, Limits, NewOrder, order_id_from_key};
use serde_json::json;

use super::{Call, Events};
use crate::faults::acts_on;

/// The services the order service calls, in the order it calls those that react to one
/// event.
pub const CALLS: [&str; 4] = ["inventory", "payment", "shipping", "notification"];

/// Each call's timeout (Hystrix's default).
const TIMEOUT: Duration = Duration::from_secs(1);
/// Attempts per call: the first and two retries.
const ATTEMPTS: u32 = 3;
/// The wait before the first retry, doubled before each next (with jitter).
const BACKOFF: Duration = Duration::from_millis(100);

pub struct OrderService {
    recorder: Recorder,
    events: Events,
    /// The order process, run in this process.
    process: Arc<dyn Handler>,
    /// Downstream services by name, in [`CALLS`]'s order.
    calls: Vec<(String, String)>,
    client: reqwest::Client,
}

impl OrderService {
    pub fn new(
        recorder: Recorder,
        events: Events,
        process: Arc<dyn Handler>,
        mut calls: Vec<(String, String)>,
    ) -> anyhow::Result<Self> {
        calls.sort_by_key(|(name, _)| CALLS.iter().position(|c| c == name));
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .pool_max_idle_per_host(256)
            .build()?;
        Ok(Self {
            recorder,
            events,
            process,
            calls,
            client,
        })
    }
}

pub fn router(service: OrderService) -> Router {
    Router::new()
        .route("/orders", post(place))
        .with_state(Arc::new(service))
}

/// Why an order was refused.
enum Refused {
    Request(ApiError),
    Step(String),
}

impl From<ServiceError> for Refused {
    fn from(e: ServiceError) -> Self {
        Refused::Step(e.to_string())
    }
}

impl From<ApiError> for Refused {
    fn from(e: ApiError) -> Self {
        Refused::Request(e)
    }
}

async fn place(
    State(service): State<Arc<OrderService>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match service.place(&headers, body).await {
        Ok(order_id) => (
            StatusCode::CREATED,
            Json(json!({"orderId": order_id.to_string(), "status": "SHIPPED"})),
        )
            .into_response(),
        Err(Refused::Request(e)) => e.into_response(),
        Err(Refused::Step(why)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"error": format!("the order could not be completed: {why}")})),
        )
            .into_response(),
    }
}

impl OrderService {
    async fn place(&self, headers: &HeaderMap, body: Bytes) -> Result<OrderId, Refused> {
        let order = NewOrder::read(&JsonObject::from_bytes(body), &Limits::DEFAULT)?;
        let order_id = match headers.get("idempotency-key").and_then(|v| v.to_str().ok()) {
            Some(key) => order_id_from_key(order.customer_id(), key)?,
            None => OrderId::parse(uuid::Uuid::now_v7().to_string())
                .map_err(|e| Refused::Step(e.to_string()))?,
        };
        let (customer_id, lines, currency, shipping_address) = order.into_parts();
        let now = Utc::now();
        let events = Order::default()
            .decide(OrderCommand::Place {
                order_id: order_id.clone(),
                customer_id,
                lines,
                currency,
                shipping_address,
                now: Timestamp(now.timestamp_millis()),
            })
            .map_err(|e| Refused::Request(e.into()))?;
        let cause = Cause {
            causation_id: None,
            actor: "chain",
            now,
        };
        let position = self
            .recorder
            .append(
                &streams::order(&order_id),
                ExpectedVersion::NoStream,
                &events,
                cause,
            )
            .await?;
        self.complete(&order_id, position - 1).await?;
        Ok(order_id)
    }

    /// Calls whoever reacts to each event recorded for the order after `after`, and
    /// runs the order process on what they recorded, until nothing new is recorded.
    async fn complete(&self, order_id: &OrderId, mut after: u64) -> Result<(), Refused> {
        let mut failed = None;
        loop {
            let recorded: Vec<_> = self
                .events
                .store
                .read_correlated_since(order_id.as_str(), after)
                .await
                .map_err(ServiceError::from)?
                .into_iter()
                .filter(|s| s.position > after)
                .collect();
            if recorded.is_empty() {
                break;
            }
            for stored in &recorded {
                after = after.max(stored.position);
                let (event, delivery) = self
                    .events
                    .decode(stored)
                    .await
                    .map_err(ServiceError::from)?;
                for (name, url) in &self.calls {
                    if !acts_on(name, &event) {
                        continue;
                    }
                    let Err(why) = self.call(url, stored.position).await else {
                        continue;
                    };
                    let why = format!("{name}: {why}");
                    if name == "notification" {
                        tracing::warn!(%order_id, %why, "an email was not sent");
                    } else if failed.is_none() && self.cancel(order_id, &why).await {
                        // Compensation (release, refund) follows from `OrderCancelled`.
                        failed = Some(why);
                    }
                }
                if acts_on("orders", &event) {
                    self.process.handle(&event, &delivery).await?;
                }
            }
        }
        match failed {
            Some(why) => Err(Refused::Step(why)),
            None => Ok(()),
        }
    }

    /// Cancels the order for `why`; false if it can no longer be (it shipped).
    async fn cancel(&self, order_id: &OrderId, why: &str) -> bool {
        let cause = Cause {
            causation_id: None,
            actor: "chain",
            now: Utc::now(),
        };
        let cancelled = self
            .recorder
            .execute(
                order_id.as_str(),
                &streams::order(order_id),
                cause,
                |order: Loaded<Order>, _| async move {
                    Ok(order.aggregate.decide(OrderCommand::Cancel {
                        reason: why.to_owned(),
                    })?)
                },
            )
            .await;
        cancelled.is_ok()
    }

    /// Asks the service at `url` to act on the event at `position`, with the timeout and
    /// retries; the last failure's words if it never did.
    async fn call(&self, url: &str, position: u64) -> Result<(), String> {
        let mut backoff = BACKOFF;
        let mut last = String::new();
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                let jitter = rand::random_range(0.5..=1.0);
                tokio::time::sleep(backoff.mul_f64(jitter)).await;
                backoff *= 2;
            }
            let sent = self
                .client
                .post(format!("{url}/handle"))
                .json(&Call { position })
                .send()
                .await;
            match sent {
                Ok(answer) if answer.status().is_success() => return Ok(()),
                Ok(answer) if answer.status() == StatusCode::UNPROCESSABLE_ENTITY => {
                    return Err(answer.text().await.unwrap_or_default());
                }
                Ok(answer) => last = answer.status().to_string(),
                Err(e) if e.is_timeout() => last = format!("no answer in {TIMEOUT:?}"),
                Err(e) => last = e.to_string(),
            }
        }
        Err(format!("{last} (after {ATTEMPTS} attempts)"))
    }
}
