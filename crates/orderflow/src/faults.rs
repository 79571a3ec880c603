//! Faults injected into the services, for `orderflow bench --compare sync`: a service is
//! made slow, or made to fail a share of its work, while it runs, by a JSON file that a
//! process started with `--faults FILE` reads again whenever it changes:
//!
//! ```json
//! {"payment": {"delay_ms": 300}, "inventory": {"fail_percent": 20}}
//! ```
//!
//! The fault strikes where a service does its work: before a consumer's handler acts on
//! an event (orderflow), or before a service of the benchmark's synchronous chain acts
//! on a call; both ask [`acts_on`], so a service is slowed once per piece of work on
//! either side, never for the events it ignores. A failure is transient (the work is
//! tried again, as after any outage). A file that is missing or unreadable means no
//! faults.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use orderflow_core::bus::Offset;
use orderflow_core::store::StoreError;
use orderflow_domain::{Event, reactions};
use orderflow_services::consumer::{Delivery, Group, Handler, Origin, Parked};
use orderflow_services::context::ServiceError;
use serde::{Deserialize, Serialize};

/// What to do to one service's work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// Wait this long before doing each piece of work.
    #[serde(default)]
    pub delay_ms: u64,
    /// Fail this share of the pieces of work (0 to 100), at random.
    #[serde(default)]
    pub fail_percent: u8,
}

/// The faults of every service, by its name (its consumer group's: `payment`,
/// `inventory`, `shipping`, `notification`, `orders`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Plan(pub BTreeMap<String, Fault>);

/// Writes a plan so that a reader sees the old file or the new one, never half of one.
pub fn write(path: &Path, plan: &Plan) -> std::io::Result<()> {
    let next = path.with_extension("next");
    std::fs::write(&next, serde_json::to_vec(plan)?)?;
    std::fs::rename(&next, path)
}

/// Whether `service` does any work for `event`: the same question its handler asks first.
pub fn acts_on(service: &str, event: &Event) -> bool {
    match service {
        "payment" => reactions::payment_intent(event).is_some(),
        "inventory" => reactions::reservation_intent(event).is_some(),
        "shipping" => reactions::dispatch_intent(event).is_some(),
        "notification" => reactions::notification_intent(event).is_some(),
        "orders" => reactions::process_trigger(event).is_some(),
        _ => false,
    }
}

/// The failure a fault injects.
#[derive(Debug, thiserror::Error)]
#[error("a fault injected into {0} by the benchmark")]
pub struct Injected(pub String);

/// A process's view of the fault file.
#[derive(Debug)]
pub struct Faults {
    path: PathBuf,
    /// The file's modification time and length when last read, and its plan.
    seen: Mutex<(Option<(SystemTime, u64)>, Plan)>,
}

impl Faults {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            seen: Mutex::default(),
        }
    }

    /// The fault on `service` now, reading the file again if it changed.
    pub fn current(&self, service: &str) -> Fault {
        let stamp = std::fs::metadata(&self.path)
            .ok()
            .and_then(|m| Some((m.modified().ok()?, m.len())));
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.0 != stamp {
            let plan = std::fs::read(&self.path)
                .ok()
                .and_then(|bytes| serde_json::from_slice(&bytes).ok())
                .unwrap_or_default();
            *seen = (stamp, plan);
        }
        seen.1.0.get(service).copied().unwrap_or_default()
    }

    /// Waits and fails as the fault on `service` says.
    pub async fn inflict(&self, service: &str) -> Result<(), Injected> {
        let fault = self.current(service);
        if fault.delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(fault.delay_ms)).await;
        }
        if fault.fail_percent > 0 && rand::random_range(0..100u8) < fault.fail_percent {
            return Err(Injected(service.to_owned()));
        }
        Ok(())
    }
}

/// A consumer's handler with the faults of its group inflicted before it acts.
pub struct Faulty {
    pub inner: Arc<dyn Handler>,
    pub faults: Arc<Faults>,
}

impl Faulty {
    async fn inflict(&self, event: &Event) -> Result<(), ServiceError> {
        let service = self.inner.group().name;
        if !acts_on(service, event) {
            return Ok(());
        }
        self.faults
            .inflict(service)
            .await
            .map_err(|e| ServiceError::Store(StoreError::Unavailable(Box::new(e))))
    }
}

#[async_trait]
impl Handler for Faulty {
    fn group(&self) -> Group {
        self.inner.group()
    }

    fn in_partition_order(&self) -> bool {
        self.inner.in_partition_order()
    }

    async fn handle(&self, event: &Event, delivery: &Delivery) -> Result<(), ServiceError> {
        self.inflict(event).await?;
        self.inner.handle(event, delivery).await
    }

    async fn parked(&self, parked: &Parked<'_>) -> Result<(), ServiceError> {
        self.inner.parked(parked).await
    }

    async fn unreadable(&self, origin: &Origin) -> Result<(), ServiceError> {
        self.inner.unreadable(origin).await
    }

    async fn resumes_at(&self) -> Result<Option<Vec<Offset>>, ServiceError> {
        self.inner.resumes_at().await
    }

    async fn backfill(&self, event: &Event, delivery: &Delivery) -> Result<(), ServiceError> {
        self.inflict(event).await?;
        self.inner.backfill(event, delivery).await
    }

    async fn backfilled(&self, partitions: &[Offset]) -> Result<(), ServiceError> {
        self.inner.backfilled(partitions).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_sees_the_plan_as_the_file_changes() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("faults.json");
        let faults = Faults::new(path.clone());
        assert_eq!(
            faults.current("payment"),
            Fault::default(),
            "no file, no fault"
        );

        let slow = Fault {
            delay_ms: 300,
            fail_percent: 0,
        };
        write(&path, &Plan([("payment".to_owned(), slow)].into()))?;
        assert_eq!(faults.current("payment"), slow);
        assert_eq!(faults.current("inventory"), Fault::default());

        write(&path, &Plan::default())?;
        assert_eq!(faults.current("payment"), Fault::default(), "healed");
        Ok(())
    }

    #[tokio::test]
    async fn a_service_failing_every_call_fails_each_and_one_without_faults_never()
    -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("faults.json");
        let failing = Fault {
            delay_ms: 0,
            fail_percent: 100,
        };
        write(&path, &Plan([("inventory".to_owned(), failing)].into()))?;
        let faults = Faults::new(path);
        for _ in 0..20 {
            assert!(faults.inflict("inventory").await.is_err());
            assert!(faults.inflict("payment").await.is_ok());
        }
        Ok(())
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_service_waits_its_delay() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("faults.json");
        let slow = Fault {
            delay_ms: 2000,
            fail_percent: 0,
        };
        write(&path, &Plan([("payment".to_owned(), slow)].into()))?;
        let faults = Faults::new(path);
        let start = tokio::time::Instant::now();
        faults.inflict("payment").await?;
        assert_eq!(start.elapsed(), Duration::from_millis(2000));
        Ok(())
    }
}
