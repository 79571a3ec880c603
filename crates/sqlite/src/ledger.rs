//! The simulated payment provider used by default, with its ledger in SQLite: once per
//! idempotency key, as the [`PaymentProvider`] port asks.
//!
//! It records every call it receives, replays included, next to its ledger: the ledger,
//! deduplicated by key, shows what was charged; the calls show how often it was asked,
//! and under which keys.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{SecondsFormat, Utc};
use orderflow_core::payment::{PaymentProvider, ProviderError};
use orderflow_domain::payment::ChargeOutcome;
use orderflow_domain::{Money, OrderId};
use rusqlite::{Connection, params};

/// Settings of the simulated provider.
#[derive(Debug, Clone)]
pub struct SimulatedSettings {
    /// Orders above this total are declined.
    pub decline_above: Money,
    /// Added to every call, for demos of a slow provider: half before the provider acts
    /// and half before its answer arrives, as a round trip would, so that a caller
    /// crashing mid-call may leave a charge made but never answered.
    pub latency: Duration,
    /// Share of calls (0.0–1.0) that fail as if the provider were unreachable (such a
    /// call never reaches it, and is not recorded).
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

/// A provider that keeps its ledger and every call it receives in a SQLite file, so the
/// "exactly one charge per order" promise can be checked after crashes.
#[derive(Debug, Clone)]
pub struct SimulatedProvider {
    settings: SimulatedSettings,
    ledger: Arc<Mutex<Connection>>,
}

/// The ledger is keyed by the idempotency key alone (`WITHOUT ROWID`: one b-tree, not
/// a table and an index, to write per charge); `calls` is appended to, one row a call.
const LEDGER: &str = "
CREATE TABLE IF NOT EXISTS ledger (
    idempotency_key TEXT PRIMARY KEY,
    kind            TEXT    NOT NULL,
    order_id        TEXT    NOT NULL,
    amount_cents    INTEGER NOT NULL,
    outcome         TEXT    NOT NULL,
    reference       TEXT    NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS calls (
    seq             INTEGER PRIMARY KEY,
    received_at     TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    order_id        TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL,
    replay          INTEGER NOT NULL
);
";

/// One call the provider received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// `charge`, `void` or `refund`.
    pub kind: String,
    pub idempotency_key: String,
    /// The key had been answered before: this call was answered from the ledger.
    pub replay: bool,
}

/// A request, as the provider records it if its key is new.
struct Request {
    call: &'static str,
    key: String,
    /// The ledger entry's kind: a void closes a charge, so it is a `charge` entry.
    kind: &'static str,
    order_id: String,
    amount: i64,
    outcome: String,
    reference: String,
}

/// The ledger entry standing under a key: what was asked, and the answer.
struct Entry {
    kind: String,
    order_id: String,
    amount: i64,
    outcome: String,
    reference: String,
}

fn provider_error(e: impl std::fmt::Display) -> ProviderError {
    ProviderError::Unavailable(e.to_string())
}

/// Records the call, and the request under its key unless one stands already; returns
/// the entry that stands. One transaction: a crash keeps both or neither.
fn record(conn: &mut Connection, r: &Request) -> rusqlite::Result<Entry> {
    let tx = conn.transaction()?;
    // Cached: parsing the SQL cost more than running it.
    let new = tx
        .prepare_cached(
            "INSERT INTO ledger VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            r.key,
            r.kind,
            r.order_id,
            r.amount,
            r.outcome,
            r.reference
        ])?;
    let received_at = Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true);
    tx.prepare_cached(
        "INSERT INTO calls (received_at, kind, order_id, idempotency_key, replay) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![received_at, r.call, r.order_id, r.key, new == 0])?;
    let entry = tx
        .prepare_cached(
            "SELECT kind, order_id, amount_cents, outcome, reference FROM ledger \
             WHERE idempotency_key = ?1",
        )?
        .query_row([&r.key], |row| {
            Ok(Entry {
                kind: row.get(0)?,
                order_id: row.get(1)?,
                amount: row.get(2)?,
                outcome: row.get(3)?,
                reference: row.get(4)?,
            })
        })?;
    tx.commit()?;
    Ok(entry)
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

    /// Receives a request: records the call, and the request under its key unless the
    /// key was answered before; returns the answer (outcome, reference) under the key.
    /// A key reused for another request (kind, order or amount) is refused.
    async fn receive(&self, request: Request) -> Result<(String, String), ProviderError> {
        let there = self.settings.latency / 2;
        if !there.is_zero() {
            tokio::time::sleep(there).await;
        }
        if self.settings.failure_rate > 0.0 && rand::random::<f64>() < self.settings.failure_rate {
            return Err(ProviderError::Unavailable("simulated outage".into()));
        }
        let ledger = self.ledger.clone();
        let (request, entry) = tokio::task::spawn_blocking(move || {
            let mut conn = ledger.lock().unwrap_or_else(|e| e.into_inner());
            let entry = record(&mut conn, &request);
            (request, entry)
        })
        .await
        .map_err(provider_error)?;
        let entry = entry.map_err(provider_error)?;
        let back = self.settings.latency - there;
        if !back.is_zero() {
            tokio::time::sleep(back).await;
        }
        if (entry.kind.as_str(), entry.order_id.as_str(), entry.amount)
            != (request.kind, request.order_id.as_str(), request.amount)
        {
            return Err(ProviderError::Refused(format!(
                "idempotency key {} was used for a {} of {} ({} cents) before",
                request.key, entry.kind, entry.order_id, entry.amount
            )));
        }
        Ok((entry.outcome, entry.reference))
    }

    /// How many approved charges the ledger holds for an order (for checks and tests).
    pub fn charges(&self, order: &str) -> Result<u64, ProviderError> {
        let conn = self.ledger.lock().unwrap_or_else(|e| e.into_inner());
        conn.query_row(
            "SELECT COUNT(*) FROM ledger WHERE kind = 'charge' AND order_id = ?1 AND outcome = 'approved'",
            [order],
            |r| r.get(0),
        )
        .map_err(provider_error)
    }

    /// Every call received about an order, in the order received (for checks and tests).
    pub fn calls(&self, order: &str) -> Result<Vec<Call>, ProviderError> {
        let conn = self.ledger.lock().unwrap_or_else(|e| e.into_inner());
        let mut stmt = conn
            .prepare(
                "SELECT kind, idempotency_key, replay FROM calls WHERE order_id = ?1 ORDER BY seq",
            )
            .map_err(provider_error)?;
        let rows = stmt
            .query_map([order], |r| {
                Ok(Call {
                    kind: r.get(0)?,
                    idempotency_key: r.get(1)?,
                    replay: r.get(2)?,
                })
            })
            .map_err(provider_error)?;
        rows.collect::<Result<_, _>>().map_err(provider_error)
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
    async fn charge(
        &self,
        idempotency_key: &str,
        order: &OrderId,
        amount: Money,
    ) -> Result<ChargeOutcome, ProviderError> {
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
        let request = Request {
            call: "charge",
            key: idempotency_key.to_owned(),
            kind: "charge",
            order_id: order.to_string(),
            amount: amount.minor(),
            outcome,
            reference,
        };
        let (outcome, reference) = self.receive(request).await?;
        Ok(charge_outcome(outcome, reference))
    }

    async fn void(
        &self,
        idempotency_key: &str,
        order: &OrderId,
        amount: Money,
        reason: &str,
    ) -> Result<ChargeOutcome, ProviderError> {
        // Under the charge's own key: whichever of the charge and the void comes first
        // stands.
        let request = Request {
            call: "void",
            key: idempotency_key.to_owned(),
            kind: "charge",
            order_id: order.to_string(),
            amount: amount.minor(),
            outcome: "voided".into(),
            reference: reason.to_owned(),
        };
        let (outcome, reference) = self.receive(request).await?;
        Ok(charge_outcome(outcome, reference))
    }

    async fn refund(
        &self,
        idempotency_key: &str,
        order: &OrderId,
        amount: Money,
    ) -> Result<String, ProviderError> {
        let request = Request {
            call: "refund",
            key: idempotency_key.to_owned(),
            kind: "refund",
            order_id: order.to_string(),
            amount: amount.minor(),
            outcome: "refunded".into(),
            reference: format!("re_{}", uuid::Uuid::new_v4().simple()),
        };
        Ok(self.receive(request).await?.1)
    }
}

#[cfg(test)]
mod tests;
