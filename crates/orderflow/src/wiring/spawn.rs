//! Starting the chosen services on the adapters: a consumer per bus-driven service, from
//! the beginning of history (backfilled from the event store where the bus's retention
//! cut it; analytics once its group agrees with its store's offsets), the relay, the
//! projections and the API, with `/metrics` beside it; a process without the API serves
//! `/health` and `/metrics` alone on its HTTP address. Every process samples lag into
//! its metrics.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use futures::FutureExt;
use orderflow_core::mail::Mailer;
use orderflow_domain::Money;
use orderflow_outbound::{FileMailer, SmtpMailer};
use orderflow_services::consumer::{self, Handler};
use orderflow_services::handlers::{
    analytics::{self, AnalyticsService},
    inventory::InventoryService,
    notification::NotificationService,
    order_process::OrderProcess,
    payment::PaymentService,
    shipping::ShippingService,
};
use orderflow_services::http::{self, AppState};
use orderflow_services::metrics::sampler::Sampler;
use orderflow_services::{projections, relay};
use orderflow_sqlite::{SimulatedProvider, SimulatedSettings};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::Adapters;
use super::access::{announce_access, limits};
use crate::faults::{Faults, Faulty};
use crate::service::Service;
use crate::settings::{BusKind, MailArgs, PaymentArgs, Settings, StoreKind};

/// How `/health` names the storage when it is damaged: the files on the embedded
/// defaults; on PostgreSQL, the database (its URL may carry a password).
fn locations(settings: &Settings) -> anyhow::Result<http::Locations> {
    let mut locations = match settings.store_kind()? {
        StoreKind::Sqlite(path) => http::Locations {
            event_store: path.display().to_string(),
            read_models: settings.dir().join("read.db").display().to_string(),
            ..Default::default()
        },
        StoreKind::Postgres(_) => http::Locations::default(),
    };
    if let BusKind::Sqlite(path) = settings.bus_kind()? {
        locations.bus = path.display().to_string();
    }
    Ok(locations)
}

fn mailer(data_dir: &Path, settings: &MailArgs) -> anyhow::Result<Arc<dyn Mailer>> {
    Ok(match &settings.smtp_url {
        Some(url) => Arc::new(SmtpMailer::from_url(url)?),
        None => Arc::new(FileMailer::new(data_dir.join("mail"))?),
    })
}

fn payment_provider(data_dir: &Path, settings: &PaymentArgs) -> anyhow::Result<SimulatedProvider> {
    let decline_above = Money::from_major(settings.payment_decline_above).context(
        "--payment-decline-above must be a non-negative amount with at most two decimals",
    )?;
    if !(0.0..=1.0).contains(&settings.payment_failure_rate) {
        bail!("--payment-failure-rate must be between 0.0 and 1.0");
    }
    Ok(SimulatedProvider::open(
        &data_dir.join("payment-ledger.db"),
        SimulatedSettings {
            decline_above,
            latency: Duration::from_millis(settings.payment_latency_ms),
            failure_rate: settings.payment_failure_rate,
        },
    )?)
}

/// The handler of a bus-driven service (none for the others, and for analytics, which
/// first moves its group to its store's offsets), with the faults of `--faults`.
pub fn handler(
    service: Service,
    settings: &Settings,
    a: &Adapters,
) -> anyhow::Result<Option<Arc<dyn Handler>>> {
    let handler: Arc<dyn Handler> = match service {
        Service::Api | Service::Projections | Service::Relay | Service::Analytics => {
            return Ok(None);
        }
        Service::Orders => Arc::new(OrderProcess {
            recorder: a.recorder(),
        }),
        Service::Payment => Arc::new(PaymentService {
            recorder: a.recorder(),
            provider: Arc::new(payment_provider(settings.dir(), &settings.payment)?),
        }),
        Service::Inventory => Arc::new(InventoryService::new(a.recorder())),
        Service::Shipping => Arc::new(ShippingService {
            recorder: a.recorder(),
        }),
        Service::Notification => Arc::new(NotificationService {
            recorder: a.recorder(),
            mailer: mailer(settings.dir(), &settings.mail)?,
        }),
    };
    Ok(Some(match &settings.faults {
        Some(path) => Arc::new(Faulty {
            inner: handler,
            faults: Arc::new(Faults::new(path.clone())),
        }),
        None => handler,
    }))
}

/// The services a process started.
pub struct Started {
    /// One task per service; each ends when its service stops.
    pub tasks: JoinSet<anyhow::Result<()>>,
    /// Where the process listens: the API, or `/health` and `/metrics` alone.
    pub http: Option<std::net::SocketAddr>,
}

/// Starts the chosen services; each stops when `shutdown` is cancelled. `access` guards
/// the HTTP address (see [`api_access`]).
pub async fn spawn(
    services: &[Service],
    settings: &Settings,
    adapters: &Adapters,
    access: http::Access,
    shutdown: &CancellationToken,
) -> anyhow::Result<Started> {
    let mut tasks = JoinSet::new();
    let a = adapters.clone();
    let retry = consumer::Retry {
        give_up_after: Duration::from_secs(settings.give_up_after_seconds),
    };
    let mut consumer = |handler: Arc<dyn Handler>| {
        let (bus, codec, token) = (a.bus.clone(), a.codec.clone(), shutdown.clone());
        let history = a.store.clone();
        tasks.spawn(async move {
            consumer::run_from_history(bus, codec, handler, history, retry, token)
                .await
                .map_err(Into::into)
        });
    };
    for service in services {
        if let Some(handler) = handler(*service, settings, &a)? {
            consumer(handler);
        }
    }
    if services.contains(&Service::Analytics) {
        let (bus, codec, token) = (a.bus.clone(), a.codec.clone(), shutdown.clone());
        let (store, history) = (a.analytics.clone(), a.store.clone());
        tasks.spawn(async move {
            consumer::retry_transient(&token, "analytics position", || {
                analytics::position::align(store.as_ref(), bus.as_ref(), &token)
            })
            .await
            .context("moving analytics to the offsets its store committed")?;
            let handler = Arc::new(AnalyticsService { store });
            consumer::run_from_history(bus, codec, handler, history, retry, token)
                .await
                .map_err(Into::into)
        });
    }
    if services.contains(&Service::Relay) {
        let relay = relay::run(
            a.store.clone(),
            a.checkpoints.clone(),
            a.bus.clone(),
            shutdown.clone(),
        );
        tasks.spawn(async move { relay.await.map_err(Into::into) });
    }
    if services.contains(&Service::Projections) {
        let projections = projections::run(
            a.store.clone(),
            a.codec.clone(),
            a.read_model.clone(),
            shutdown.clone(),
        );
        tasks.spawn(async move { projections.await.map_err(Into::into) });
    }
    let metrics = crate::metrics::handle()?;
    tasks.spawn(crate::metrics::upkeep(metrics.clone(), shutdown.clone()).map(Ok));
    // One view of the groups for the sampler and the API, so that together they read
    // them from the bus no more often than the view allows.
    let groups = std::sync::Arc::new(orderflow_services::pipeline::GroupsView::default());
    let sampler = Sampler {
        bus: a.bus.clone(),
        groups: groups.clone(),
        store: a.store.clone(),
        checkpoints: a.checkpoints.clone(),
        read_model: a.read_model.clone(),
    };
    tasks.spawn(sampler.run(Sampler::EVERY, shutdown.clone()).map(Ok));
    let api = services.contains(&Service::Api);
    let listener = tokio::net::TcpListener::bind(settings.api.http_addr)
        .await
        .with_context(|| format!("cannot listen on {}", settings.api.http_addr))?;
    let addr = listener.local_addr()?;
    let state = AppState {
        recorder: a.recorder(),
        registry: a.registry.clone(),
        read_model: a.read_model.clone(),
        analytics: a.analytics.clone(),
        generations: a.generations.clone(),
        bus: a.bus.clone(),
        checkpoints: a.checkpoints.clone(),
        groups,
        limits: limits(&settings.api)?,
        locations: locations(settings)?,
        shutdown: shutdown.clone(),
        keys: a.keys.clone(),
    };
    let extra = http::metrics_route(crate::metrics::render(metrics));
    if api {
        announce!("orderflow: HTTP API on http://{addr}");
        announce_access(&access, addr);
        let served = http::serve_with(listener, state, access, extra, shutdown.clone());
        tasks.spawn(async move { served.await.map_err(Into::into) });
    } else {
        announce!("orderflow: /health and /metrics on http://{addr}");
        let served = http::serve_operations(listener, state, access, extra, shutdown.clone());
        tasks.spawn(async move { served.await.map_err(Into::into) });
    }
    let http = Some(addr);
    Ok(Started { tasks, http })
}
