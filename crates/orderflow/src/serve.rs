//! `orderflow run` and `orderflow serve`: open the adapters, start the services, and
//! run them until Ctrl-C or SIGTERM, then shut them down cleanly. A service that fails
//! stops the process, except one that stops on damaged storage in a process serving
//! the API: the API stays up so that `/health` says which file and what to do.

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::ready;
use crate::service::Service;
use crate::settings::{BusKind, Settings, StoreKind};
use crate::wiring;

/// Runs services until Ctrl-C or SIGTERM, then shuts them down cleanly.
pub async fn serve(services: &[Service], settings: Settings) -> anyhow::Result<()> {
    // A ready-file left by an earlier run would say this one is ready before it is.
    if let Some(path) = &settings.ready_file {
        ready::remove(path)?;
    }
    // Before anything is opened: an HTTP address (the API's, or a process's `/metrics`)
    // that would be open to other hosts without tokens is refused.
    let access = wiring::api_access(&settings.api)?;
    // Listening from before the services start: a SIGTERM sent as soon as the process
    // says it is ready (a supervisor's or a test's) must stop it cleanly, not kill it.
    let signal = shutdown_signal()?;
    let adapters = wiring::Adapters::open(&settings).await?;
    let shutdown = CancellationToken::new();
    let started = wiring::spawn(services, &settings, &adapters, access, &shutdown).await?;
    let mut tasks = started.tasks;
    announce!("{}", running_line(services, &settings)?);
    if let Some(path) = &settings.ready_file {
        ready::write(path, &ready::Ready::now(started.http))?;
    }
    let api_tells = services.contains(&Service::Api);
    let outcome = run_until_stopped(&mut tasks, signal, &shutdown, &settings, api_tells).await;
    if let Some(path) = &settings.ready_file {
        ready::remove(path)?;
    }
    announce!("orderflow: stopped");
    outcome
}

/// The line that says what a process runs and on what: the event store, the bus, and
/// the data dir with what this process keeps there (with PostgreSQL and Kafka, the
/// payment ledger and the mail folder still live in it).
fn running_line(services: &[Service], settings: &Settings) -> anyhow::Result<String> {
    let dir = settings.dir();
    let store = settings.store_kind()?;
    let bus = settings.bus_kind()?;
    let mut kept = Vec::new();
    let store = match store {
        StoreKind::Sqlite(path) => {
            if path.starts_with(dir) {
                kept.push("event store");
            }
            kept.push("read models");
            format!("SQLite {}", path.display())
        }
        StoreKind::Postgres(url) => format!("PostgreSQL {}", wiring::postgres_place(&url)),
    };
    let bus = match bus {
        BusKind::Sqlite(path) => {
            if path.starts_with(dir) {
                kept.push("bus");
            }
            format!("SQLite {}", path.display())
        }
        BusKind::Kafka(url) => format!("Kafka {url}"),
    };
    if services.contains(&Service::Payment) {
        kept.push("payment ledger");
    }
    if services.contains(&Service::Notification) && settings.mail.smtp_url.is_none() {
        kept.push("mail");
    }
    let kept = if kept.is_empty() {
        "nothing of this process".to_owned()
    } else {
        kept.join(", ")
    };
    Ok(format!(
        "orderflow: running {}; event store: {store}; bus: {bus}; data dir {}: {kept}",
        Service::list(services),
        dir.display()
    ))
}

/// Whether a service stopped because storage is damaged (the store, the read models or
/// the bus): trying again cannot help, a person has to restore or delete the file.
fn on_damage(failure: &anyhow::Error) -> bool {
    failure
        .downcast_ref::<orderflow_services::context::ServiceError>()
        .is_some_and(|e| e.is_fatal())
}

/// Runs the services until one fails or a signal comes, then stops them all within the
/// shutdown grace; the first failure is the outcome. A service that stops on damaged
/// storage does not stop the rest when `api_tells`: the API stays up so that `/health`
/// answers 503 naming the file and what to do, until the process is stopped.
async fn run_until_stopped(
    tasks: &mut JoinSet<anyhow::Result<()>>,
    signal: impl Future<Output = ()>,
    shutdown: &CancellationToken,
    settings: &Settings,
    api_tells: bool,
) -> anyhow::Result<()> {
    tokio::pin!(signal);
    let mut failure = None;
    // Once shutdown starts, services get this long to finish what is in flight (a
    // publish to a broker that does not answer would otherwise hold the process until
    // librdkafka's own timeouts); then they are abandoned, and what they had not
    // published stays in the event store for the relay's next start.
    let grace = std::time::Duration::from_secs(settings.shutdown_grace_seconds);
    let abandon = tokio::time::sleep(std::time::Duration::MAX);
    tokio::pin!(abandon);
    let mut abandon_armed = false;
    loop {
        if shutdown.is_cancelled() && !abandon_armed {
            abandon.as_mut().reset(tokio::time::Instant::now() + grace);
            abandon_armed = true;
        }
        tokio::select! {
            _ = &mut signal, if !shutdown.is_cancelled() => {
                tracing::info!("shutting down");
                shutdown.cancel();
            }
            _ = &mut abandon, if abandon_armed => {
                tracing::warn!(services = tasks.len(), ?grace,
                    "services did not stop within the shutdown grace; abandoning them \
                     (what they had not published stays in the event store)");
                tasks.abort_all();
                break;
            }
            joined = tasks.join_next() => match joined {
                None => break,
                Some(Ok(Ok(()))) => {}
                Some(Ok(Err(e))) if api_tells && on_damage(&e) && !shutdown.is_cancelled() => {
                    tracing::error!(error = %e, "a service stopped on damaged storage; \
                        the API stays up, and /health says what to do, until orderflow is stopped");
                    failure.get_or_insert(e);
                }
                Some(Ok(Err(e))) => {
                    failure.get_or_insert(e);
                    shutdown.cancel();
                }
                Some(Err(e)) => {
                    failure.get_or_insert(e.into());
                    shutdown.cancel();
                }
            },
        }
    }
    failure.map_or(Ok(()), Err)
}

/// Ctrl-C or SIGTERM. The handlers are installed when this is called, not when the
/// future is first polled, so a signal that arrives in between is not lost.
pub(crate) fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = interrupt.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

#[cfg(test)]
mod tests;
