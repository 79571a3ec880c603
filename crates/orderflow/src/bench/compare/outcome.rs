//! What each system did with the orders, read from its own records once the run is over
//! (the event store, the payment ledger), and the figures the comparison prints.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use orderflow_core::EventCodec;
use orderflow_domain::Event;
use orderflow_domain::events::NotificationKind;
use serde::Serialize;

use crate::settings::StoreArgs;
use crate::wiring;

/// One attempt of the load: when it was meant to go out and when its answer came, from
/// the start of the run, and what the answer was.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub order_id: String,
    pub intended: Duration,
    pub done: Duration,
    pub accepted: bool,
}

/// What the records say about one order.
#[derive(Debug, Default, Clone)]
pub struct Recorded {
    pub shipped_at: Option<DateTime<Utc>>,
    pub cancelled: bool,
    /// Emails recorded as sent, by kind.
    pub emails: BTreeMap<&'static str, usize>,
    pub last_email_at: Option<DateTime<Utc>>,
    /// Charges the provider approved, and refunds it made.
    pub charges: usize,
    pub refunds: usize,
}

impl Recorded {
    /// Every step done: shipped (or cancelled) and each of its emails sent.
    pub fn complete(&self) -> bool {
        let last = if self.cancelled {
            "OrderCancelled"
        } else if self.shipped_at.is_some() {
            "OrderShipped"
        } else {
            return false;
        };
        self.emails.contains_key("OrderReceived") && self.emails.contains_key(last)
    }

    /// When its last step was done.
    pub fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.shipped_at.max(self.last_email_at)
    }
}

fn kind(kind: NotificationKind) -> &'static str {
    match kind {
        NotificationKind::OrderReceived => "OrderReceived",
        NotificationKind::OrderShipped => "OrderShipped",
        NotificationKind::OrderCancelled => "OrderCancelled",
    }
}

/// Every order's record in a data dir: its event store and its payment ledger.
pub async fn read(data_dir: &Path) -> anyhow::Result<HashMap<String, Recorded>> {
    let args = StoreArgs {
        store_url: None,
        db_acquire_timeout_ms: 10_000,
    };
    let (store, registry) = wiring::open_for_reading(data_dir, &args).await?;
    let codec = EventCodec::new(Arc::new(registry)).await?;
    let mut orders: HashMap<String, Recorded> = HashMap::new();
    let mut after = 0;
    loop {
        let batch = store.read_all(after, 5000).await?;
        let Some(last) = batch.last() else { break };
        after = last.position;
        for stored in &batch {
            let order_id = || stored.correlation_id.clone();
            match stored.event_type.as_str() {
                "OrderShipped" => {
                    orders.entry(order_id()).or_default().shipped_at = Some(stored.recorded_at)
                }
                "OrderCancelled" => orders.entry(order_id()).or_default().cancelled = true,
                "NotificationSent" => {
                    if let Event::NotificationSent(e) =
                        codec.decode(stored.schema_id, &stored.payload).await?
                    {
                        let order = orders.entry(e.order_id.to_string()).or_default();
                        *order.emails.entry(kind(e.kind)).or_default() += 1;
                        order.last_email_at = order.last_email_at.max(Some(stored.recorded_at));
                    }
                }
                _ => {}
            }
        }
    }
    let ledger = super::system::ledger(data_dir);
    if ledger.exists() {
        let db = rusqlite::Connection::open_with_flags(
            &ledger,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )?;
        let mut rows = db.prepare("SELECT order_id, kind, outcome FROM ledger")?;
        let rows = rows.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        for row in rows {
            let (order_id, kind, outcome) = row?;
            let order = orders.entry(order_id).or_default();
            match (kind.as_str(), outcome.as_str()) {
                ("charge", "approved") => order.charges += 1,
                ("refund", _) => order.refunds += 1,
                _ => {}
            }
        }
    }
    Ok(orders)
}

/// One second of the run: attempts meant to go out in it, and how they fared.
#[derive(Debug, Clone, Serialize)]
pub struct Second {
    pub attempted: usize,
    pub accepted: usize,
    pub accept_p99_ms: Option<f64>,
}

/// One system's figures in one scenario.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    pub attempted: usize,
    pub accepted: usize,
    pub accepted_pct: f64,
    pub accept_p50_ms: Option<f64>,
    pub accept_p99_ms: Option<f64>,
    pub accept_p999_ms: Option<f64>,
    /// Accepted orders shipped by the end (after draining).
    pub shipped: usize,
    /// From the attempt to `OrderShipped`, over the shipped orders.
    pub shipped_p50_ms: Option<f64>,
    pub shipped_p99_ms: Option<f64>,
    /// Accepted, and never shipped.
    pub lost: usize,
    /// Approved charges beyond the first, over all orders.
    pub duplicate_charges: usize,
    /// Emails recorded as sent beyond the first of their kind.
    pub emails_twice: usize,
    /// Accepted orders missing an email when it was over.
    pub emails_missing: usize,
    /// Orders the customer was not told were accepted, charged and not refunded.
    pub charged_not_accepted: usize,
    /// From the end of the fault until every order attempted before it was done
    /// (shipped or cancelled, and emailed); 0 if all were done by then.
    pub drain_ms: f64,
    pub per_second: Vec<Second>,
}

/// The `q`-quantile of sorted values.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn sorted(mut values: Vec<f64>) -> Vec<f64> {
    values.sort_by(f64::total_cmp);
    values
}

/// The figures of a run that started at `start` (wall clock) and whose fault ended
/// `fault_end` into it.
pub fn figures(
    attempts: &[Attempt],
    recorded: &HashMap<String, Recorded>,
    start: DateTime<Utc>,
    fault_end: Duration,
) -> Figures {
    let accepted: Vec<&Attempt> = attempts.iter().filter(|a| a.accepted).collect();
    let latencies = sorted(
        accepted
            .iter()
            .map(|a| ms(a.done.saturating_sub(a.intended)))
            .collect(),
    );
    let none = Recorded::default();
    let of = |a: &Attempt| recorded.get(&a.order_id).unwrap_or(&none);
    let at = |offset: Duration| start + chrono::Duration::from_std(offset).unwrap_or_default();
    let shipped: Vec<f64> = sorted(
        accepted
            .iter()
            .filter_map(|a| {
                let shipped_at = of(a).shipped_at?;
                Some((shipped_at - at(a.intended)).num_microseconds()? as f64 / 1000.0)
            })
            .collect(),
    );
    let accepted_ids: BTreeSet<&str> = accepted.iter().map(|a| a.order_id.as_str()).collect();
    let fault_end_at = at(fault_end);
    let drain = attempts
        .iter()
        .filter(|a| a.intended < fault_end)
        .filter_map(|a| of(a).completed_at())
        .map(|done| (done - fault_end_at).num_microseconds().unwrap_or(0) as f64 / 1000.0)
        .fold(0.0, f64::max);
    let seconds = attempts
        .iter()
        .map(|a| a.intended.as_secs() as usize + 1)
        .max()
        .unwrap_or(0);
    let per_second = (0..seconds)
        .map(|s| {
            let these: Vec<&Attempt> = attempts
                .iter()
                .filter(|a| a.intended.as_secs() as usize == s)
                .collect();
            let ok = sorted(
                these
                    .iter()
                    .filter(|a| a.accepted)
                    .map(|a| ms(a.done.saturating_sub(a.intended)))
                    .collect(),
            );
            Second {
                attempted: these.len(),
                accepted: ok.len(),
                accept_p99_ms: quantile(&ok, 0.99),
            }
        })
        .collect();
    Figures {
        attempted: attempts.len(),
        accepted: accepted.len(),
        accepted_pct: 100.0 * accepted.len() as f64 / attempts.len().max(1) as f64,
        accept_p50_ms: quantile(&latencies, 0.5),
        accept_p99_ms: quantile(&latencies, 0.99),
        accept_p999_ms: quantile(&latencies, 0.999),
        shipped: shipped.len(),
        shipped_p50_ms: quantile(&shipped, 0.5),
        shipped_p99_ms: quantile(&shipped, 0.99),
        lost: accepted
            .iter()
            .filter(|a| of(a).shipped_at.is_none())
            .count(),
        duplicate_charges: recorded.values().map(|r| r.charges.saturating_sub(1)).sum(),
        emails_twice: recorded
            .values()
            .flat_map(|r| r.emails.values())
            .map(|n| n.saturating_sub(1))
            .sum(),
        emails_missing: accepted.iter().filter(|a| !of(a).complete()).count(),
        charged_not_accepted: recorded
            .iter()
            .filter(|(id, r)| !accepted_ids.contains(id.as_str()) && r.charges > r.refunds)
            .count(),
        drain_ms: drain,
        per_second,
    }
}

#[cfg(test)]
mod tests;
