//! The payment-provider port, and the simulated provider used by default.
//!
//! Calls carry an idempotency key (the order id), as real providers' APIs do: asking
//! twice to charge the same order returns the first answer and charges once.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use orderflow_domain::payment::ChargeOutcome;
use orderflow_domain::{Money, OrderId};
use rusqlite::{Connection, OptionalExtension, params};

/// Why the provider gave no answer (a declined charge is an answer, not an error).
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The provider cannot be reached or failed inside: try again later (calls are
    /// idempotent per order).
    #[error("payment provider unavailable: {0}")]
    Unavailable(String),
    /// The provider refused the request itself (malformed, not allowed): asking again
    /// never helps.
    #[error("payment provider refused the request: {0}")]
    Refused(String),
}

impl ProviderError {
    pub fn is_transient(&self) -> bool {
        matches!(self, ProviderError::Unavailable(_))
    }
}

#[async_trait]
pub trait PaymentProvider: Send + Sync + std::fmt::Debug {
    /// Charges `amount` for the order; idempotent per order.
    async fn charge(&self, order: &OrderId, amount: Money) -> Result<ChargeOutcome, ProviderError>;
    /// Refunds the order's charge; idempotent per order. Returns the refund's id.
    async fn refund(&self, order: &OrderId, amount: Money) -> Result<String, ProviderError>;
    /// Makes sure the order is never charged: closes its charge (the same idempotency
    /// key) without taking money, so that a later `charge` of it answers `Voided` too.
    /// If a charge was already made under the key (by an attempt that could not record
    /// it), nothing is voided and that charge's answer is returned instead.
    async fn void(
        &self,
        order: &OrderId,
        amount: Money,
        reason: &str,
    ) -> Result<ChargeOutcome, ProviderError>;
}

/// Settings of the simulated provider.
#[derive(Debug, Clone)]
pub struct SimulatedSettings {
    /// Orders above this total are declined.
    pub decline_above: Money,
    /// Added to every call, for demos of a slow provider.
    pub latency: Duration,
    /// Share of calls (0.0–1.0) that fail as if the provider were unreachable.
    pub failure_rate: f64,
}

impl Default for SimulatedSettings {
    fn default() -> Self {
        Self {
            decline_above: Money::from_minor(1_000_000).expect("in range"),
            latency: Duration::ZERO,
            failure_rate: 0.0,
        }
    }
}

/// A provider that keeps its ledger in a SQLite file, so the "exactly one charge per
/// order" promise can be checked after crashes.
#[derive(Debug, Clone)]
pub struct SimulatedProvider {
    settings: SimulatedSettings,
    ledger: Arc<Mutex<Connection>>,
}

/// Keyed by the idempotency key alone (`WITHOUT ROWID`: one b-tree, not a table and
/// an index, to write per charge).
const LEDGER: &str = "
CREATE TABLE IF NOT EXISTS ledger (
    idempotency_key TEXT PRIMARY KEY,
    kind            TEXT    NOT NULL,
    order_id        TEXT    NOT NULL,
    amount_cents    INTEGER NOT NULL,
    outcome         TEXT    NOT NULL,
    reference       TEXT    NOT NULL
) WITHOUT ROWID;
";

fn provider_error(e: impl std::fmt::Display) -> ProviderError {
    ProviderError::Unavailable(e.to_string())
}

impl SimulatedProvider {
    pub fn open(ledger: &Path, settings: SimulatedSettings) -> Result<Self, ProviderError> {
        let conn = Connection::open(ledger).map_err(provider_error)?;
        conn.busy_timeout(Duration::from_secs(30))
            .map_err(provider_error)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(provider_error)?;
        // A stand-in for a remote provider: it survives process crashes (WAL), and skips
        // the per-charge fsync a real provider's own database would pay.
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(provider_error)?;
        conn.execute_batch(LEDGER).map_err(provider_error)?;
        Ok(Self {
            settings,
            ledger: Arc::new(Mutex::new(conn)),
        })
    }

    /// Records `entry` under its key unless one exists; returns the entry that stands.
    async fn once(
        &self,
        key: String,
        entry: (String, String, i64, String, String),
    ) -> Result<(String, String), ProviderError> {
        if !self.settings.latency.is_zero() {
            tokio::time::sleep(self.settings.latency).await;
        }
        if self.settings.failure_rate > 0.0 && rand::random::<f64>() < self.settings.failure_rate {
            return Err(ProviderError::Unavailable("simulated outage".into()));
        }
        let ledger = self.ledger.clone();
        tokio::task::spawn_blocking(move || -> rusqlite::Result<(String, String)> {
            let conn = ledger.lock().unwrap_or_else(|e| e.into_inner());
            let (kind, order_id, amount, outcome, reference) = entry;
            // Cached: parsing the SQL cost more than running it.
            conn.prepare_cached(
                "INSERT INTO ledger VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
            )?
            .execute(params![key, kind, order_id, amount, outcome, reference])?;
            conn.prepare_cached("SELECT outcome, reference FROM ledger WHERE idempotency_key = ?1")?
                .query_row([key], |r| Ok((r.get(0)?, r.get(1)?)))
        })
        .await
        .map_err(provider_error)?
        .map_err(provider_error)
    }

    /// How many charges the ledger holds for an order (for checks and tests).
    pub fn charges(&self, order: &str) -> Result<u64, ProviderError> {
        let conn = self.ledger.lock().unwrap_or_else(|e| e.into_inner());
        conn.query_row(
            "SELECT COUNT(*) FROM ledger WHERE kind = 'charge' AND order_id = ?1 AND outcome = 'approved'",
            [order],
            |r| r.get(0),
        )
        .optional()
        .map(|n| n.unwrap_or(0))
        .map_err(provider_error)
    }
}

/// A charge's ledger entry (outcome, reference) as the provider's answer.
fn charge_outcome(outcome: String, reference: String) -> ChargeOutcome {
    match outcome.as_str() {
        "approved" => ChargeOutcome::Approved {
            transaction_id: reference,
        },
        "voided" => ChargeOutcome::Voided { reason: reference },
        _ => ChargeOutcome::Declined { reason: reference },
    }
}

#[async_trait]
impl PaymentProvider for SimulatedProvider {
    async fn charge(&self, order: &OrderId, amount: Money) -> Result<ChargeOutcome, ProviderError> {
        let (outcome, reference) = if amount > self.settings.decline_above {
            (
                "declined".to_owned(),
                format!(
                    "amount {amount} exceeds the limit of {}",
                    self.settings.decline_above
                ),
            )
        } else {
            (
                "approved".to_owned(),
                format!("ch_{}", uuid::Uuid::new_v4().simple()),
            )
        };
        let key = format!("charge:{order}");
        let entry = (
            "charge".into(),
            order.to_string(),
            amount.minor(),
            outcome,
            reference,
        );
        let (outcome, reference) = self.once(key, entry).await?;
        Ok(charge_outcome(outcome, reference))
    }

    async fn void(
        &self,
        order: &OrderId,
        amount: Money,
        reason: &str,
    ) -> Result<ChargeOutcome, ProviderError> {
        // The charge's own key: whichever of the charge and the void comes first stands.
        let key = format!("charge:{order}");
        let entry = (
            "charge".into(),
            order.to_string(),
            amount.minor(),
            "voided".into(),
            reason.to_owned(),
        );
        let (outcome, reference) = self.once(key, entry).await?;
        Ok(charge_outcome(outcome, reference))
    }

    async fn refund(&self, order: &OrderId, amount: Money) -> Result<String, ProviderError> {
        let key = format!("refund:{order}");
        let reference = format!("re_{}", uuid::Uuid::new_v4().simple());
        let entry = (
            "refund".into(),
            order.to_string(),
            amount.minor(),
            "refunded".into(),
            reference,
        );
        Ok(self.once(key, entry).await?.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(dir: &Path) -> SimulatedProvider {
        SimulatedProvider::open(&dir.join("ledger.db"), SimulatedSettings::default()).unwrap()
    }

    #[tokio::test]
    async fn charging_an_order_twice_charges_once_with_the_same_answer() {
        let dir = tempfile::tempdir().unwrap();
        let p = provider(dir.path());
        let order = OrderId::parse("o-1").unwrap();
        let amount = Money::from_minor(500).unwrap();
        let first = p.charge(&order, amount).await.unwrap();
        let second = p.charge(&order, amount).await.unwrap();
        assert_eq!(first, second);
        assert_eq!(p.charges("o-1").unwrap(), 1);
    }

    #[tokio::test]
    async fn a_voided_order_is_never_charged_afterwards() {
        let dir = tempfile::tempdir().unwrap();
        let p = provider(dir.path());
        let order = OrderId::parse("o-3").unwrap();
        let amount = Money::from_minor(500).unwrap();
        let voided = ChargeOutcome::Voided {
            reason: "order cancelled".into(),
        };
        assert_eq!(
            p.void(&order, amount, "order cancelled").await.unwrap(),
            voided
        );
        assert_eq!(p.charge(&order, amount).await.unwrap(), voided);
        assert_eq!(p.charges("o-3").unwrap(), 0);
    }

    #[tokio::test]
    async fn voiding_an_order_already_charged_answers_with_that_charge() {
        let dir = tempfile::tempdir().unwrap();
        let p = provider(dir.path());
        let order = OrderId::parse("o-4").unwrap();
        let amount = Money::from_minor(500).unwrap();
        let charged = p.charge(&order, amount).await.unwrap();
        assert!(matches!(charged, ChargeOutcome::Approved { .. }));
        assert_eq!(
            p.void(&order, amount, "order cancelled").await.unwrap(),
            charged
        );
        assert_eq!(p.charges("o-4").unwrap(), 1);
    }

    #[tokio::test]
    async fn an_order_over_the_limit_is_declined_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let p = provider(dir.path());
        let order = OrderId::parse("o-2").unwrap();
        let outcome = p
            .charge(&order, Money::from_minor(1_000_001).unwrap())
            .await
            .unwrap();
        assert_eq!(
            outcome,
            ChargeOutcome::Declined {
                reason: "amount 10000.01 exceeds the limit of 10000.00".into()
            }
        );
        assert_eq!(p.charges("o-2").unwrap(), 0);
    }

    #[tokio::test]
    async fn the_ledger_keeps_each_entry_in_its_key_b_tree_alone() {
        let dir = tempfile::tempdir().unwrap();
        provider(dir.path());
        let conn = Connection::open(dir.path().join("ledger.db")).unwrap();
        // Only a table with rowids has a `rowid` column to select.
        assert!(conn.prepare("SELECT rowid FROM ledger").is_err());
    }
}
