//! The synchronous baseline of `orderflow bench --compare sync`: the order pipeline as
//! the old system ran it, each service its own process, the order endpoint calling
//! inventory, payment, shipping and notification over HTTP one after another inside
//! the request, and answering once all of them are done.
//!
//! It is built from the same code as orderflow, so that only the coupling differs: each
//! service runs orderflow's own handler for the events it reacts to, on the same event
//! store with the same durability, the order service runs the order process in-process,
//! and the faults of `--faults` strike at the same place (before a service acts). What
//! the bus does in orderflow, the order service does inline: after each step it reads
//! what the step recorded and calls whoever reacts to it, until nothing is left to do.
//!
//! The chain gets the defences a good team gives it: a timeout and retries with
//! exponential backoff and jitter on every call (idempotent, as every handler is); a
//! step that still fails cancels the order and compensates through the same calls
//! (release, refund) before the request is refused with `503`; an email that cannot be
//! sent is given up after its retries rather than refusing an order already shipped.
//!
//! Not part of the product: `orderflow bench-chain ROLE` is hidden, and only the bench
//! starts it.
//!
//! # Layout
//!
//! - `chain.rs`: a chain service's process (`POST /handle` for inventory, payment,
//!   shipping and notification) and its arguments;
//! - `chain/order.rs`: the order service, `POST /orders`, and the calls it makes.

use std::sync::Arc;

use anyhow::Context;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use clap::{Args, ValueEnum};
use orderflow_core::EventCodec;
use orderflow_core::store::EventStore;
use orderflow_services::consumer::{Delivery, Handler, Origin};
use serde::{Deserialize, Serialize};

use crate::service::Service;
use crate::settings::Settings;
use crate::{ready, wiring};

mod order;

pub use order::CALLS;

/// A service of the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Role {
    Order,
    Inventory,
    Payment,
    Shipping,
    Notification,
}

impl Role {
    /// orderflow's service whose handler it runs.
    fn service(self) -> Service {
        match self {
            Role::Order => Service::Orders,
            Role::Inventory => Service::Inventory,
            Role::Payment => Service::Payment,
            Role::Shipping => Service::Shipping,
            Role::Notification => Service::Notification,
        }
    }
}

#[derive(Debug, Args)]
pub struct ChainArgs {
    /// Which service this process is.
    #[arg(value_enum)]
    pub role: Role,
    /// The order service's downstream services, `NAME=URL` (`inventory`, `payment`,
    /// `shipping`, `notification`).
    #[arg(long = "call", value_parser = call)]
    pub calls: Vec<(String, String)>,
    #[command(flatten)]
    pub settings: Settings,
}

fn call(arg: &str) -> Result<(String, String), String> {
    let (name, url) = arg
        .split_once('=')
        .ok_or_else(|| format!("{arg:?} is not NAME=URL"))?;
    if !CALLS.contains(&name) {
        return Err(format!("{name:?} is not one of {CALLS:?}"));
    }
    Ok((name.to_owned(), url.trim_end_matches('/').to_owned()))
}

/// What the order service asks of another: act on the event at this store position.
#[derive(Debug, Serialize, Deserialize)]
pub struct Call {
    pub position: u64,
}

/// Runs one service of the chain until SIGTERM or Ctrl-C.
pub async fn serve(args: ChainArgs) -> anyhow::Result<()> {
    let settings = &args.settings;
    if let Some(path) = &settings.ready_file {
        ready::remove(path)?;
    }
    let signal = crate::serve::shutdown_signal()?;
    let adapters = wiring::Adapters::open(settings).await?;
    let handler = wiring::handler(args.role.service(), settings, &adapters)?
        .context("every role of the chain has a handler")?;
    let events = Events {
        store: adapters.store.clone(),
        codec: adapters.codec.clone(),
    };
    let router = match args.role {
        Role::Order => order::router(order::OrderService::new(
            adapters.recorder(),
            events,
            handler,
            args.calls.clone(),
        )?),
        _ => Router::new()
            .route("/handle", post(handle))
            .with_state(Arc::new(Downstream { events, handler })),
    };
    let listener = tokio::net::TcpListener::bind(settings.api.http_addr)
        .await
        .with_context(|| format!("cannot listen on {}", settings.api.http_addr))?;
    let addr = listener.local_addr()?;
    if let Some(path) = &settings.ready_file {
        ready::write(path, &ready::Ready::now(Some(addr)))?;
    }
    axum::serve(listener, router)
        .with_graceful_shutdown(signal)
        .await?;
    Ok(())
}

/// Reading the events the chain's services act on.
#[derive(Debug, Clone)]
pub struct Events {
    store: Arc<dyn EventStore>,
    codec: Arc<EventCodec>,
}

impl Events {
    /// The event at `position`, decoded, with its delivery as a consumer would have it.
    async fn at(
        &self,
        position: u64,
    ) -> Result<(orderflow_domain::Event, Delivery), (StatusCode, String)> {
        let unavailable =
            |e: &dyn std::fmt::Display| (StatusCode::SERVICE_UNAVAILABLE, e.to_string());
        let stored = self
            .store
            .read_all(position.saturating_sub(1), 1)
            .await
            .map_err(|e| unavailable(&e))?
            .into_iter()
            .next()
            .filter(|s| s.position == position)
            .ok_or((
                StatusCode::NOT_FOUND,
                format!("no event at position {position}"),
            ))?;
        self.decode(&stored)
            .await
            .map_err(|e| (StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))
    }

    async fn decode(
        &self,
        stored: &orderflow_core::store::StoredEvent,
    ) -> Result<(orderflow_domain::Event, Delivery), orderflow_core::codec::CodecError> {
        let event = self.codec.decode(stored.schema_id, &stored.payload).await?;
        let delivery = Delivery {
            event_id: Some(stored.event_id),
            occurred_at: stored.occurred_at,
            origin: Origin::default(),
        };
        Ok((event, delivery))
    }
}

struct Downstream {
    events: Events,
    handler: Arc<dyn Handler>,
}

/// `POST /handle`: this service's handler acts on the event at the position; `204` once
/// done, `503` for a failure that may pass (try again), `422` for one that never will.
async fn handle(
    State(service): State<Arc<Downstream>>,
    Json(call): Json<Call>,
) -> Result<StatusCode, (StatusCode, String)> {
    let (event, delivery) = service.events.at(call.position).await?;
    match service.handler.handle(&event, &delivery).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(e) if e.is_transient() => Err((StatusCode::SERVICE_UNAVAILABLE, e.to_string())),
        Err(e) => Err((StatusCode::UNPROCESSABLE_ENTITY, e.to_string())),
    }
}
