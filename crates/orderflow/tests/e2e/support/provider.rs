//! What the simulated payment provider saw, read from its file in the data dir: the
//! charges it made and every call it received.
//!
//! Its ledger is deduplicated by the idempotency key the caller sends, so counting
//! charges alone shows a caller that changed its key (a second charge), and the calls
//! show how often each step was asked, and under which keys: a run without crashes asks
//! once per step; a run with crashes may ask again, but only as a replay of the key
//! asked first.

use std::collections::HashMap;
use std::path::Path;

use super::{Api, Res, eventually};

/// One call the provider received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderCall {
    /// `charge`, `void` or `refund`.
    pub kind: String,
    pub key: String,
    /// Its key had been answered before: answered from the ledger, no money moved.
    pub replay: bool,
}

/// Per order: the approved charges in the ledger, and every call, in the order received.
#[derive(Debug, Default)]
pub struct Provider {
    pub charges: HashMap<String, u64>,
    pub calls: HashMap<String, Vec<ProviderCall>>,
}

/// The steps payment asks the provider for: the charge (or its void, under the charge's
/// key), and the refund.
const STEPS: [(&str, &[&str]); 2] = [("charge", &["charge", "void"]), ("refund", &["refund"])];

impl Provider {
    pub fn read(data_dir: &Path) -> Res<Self> {
        let conn = rusqlite::Connection::open(data_dir.join("payment-ledger.db"))?;
        let mut provider = Self::default();
        let mut charges = conn.prepare(
            "SELECT order_id, COUNT(*) FROM ledger WHERE kind = 'charge' AND outcome = 'approved' \
             GROUP BY order_id",
        )?;
        let rows = charges.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?)))?;
        provider.charges = rows.collect::<Result<_, _>>()?;
        let mut calls =
            conn.prepare("SELECT order_id, kind, idempotency_key, replay FROM calls ORDER BY seq")?;
        let mut rows = calls.query([])?;
        while let Some(r) = rows.next()? {
            provider
                .calls
                .entry(r.get(0)?)
                .or_default()
                .push(ProviderCall {
                    kind: r.get(1)?,
                    key: r.get(2)?,
                    replay: r.get(3)?,
                });
        }
        Ok(provider)
    }

    /// How many orders the provider charged.
    pub fn charged(&self) -> usize {
        self.charges.len()
    }

    /// The approved charges of an order.
    pub fn charges_of(&self, order: &str) -> u64 {
        self.charges.get(order).copied().unwrap_or(0)
    }

    /// The calls about an order, in the order received.
    pub fn calls_of(&self, order: &str) -> &[ProviderCall] {
        self.calls.get(order).map(Vec::as_slice).unwrap_or_default()
    }

    /// The calls about an order for each step it was asked (charge, refund).
    fn steps(&self, order: &str) -> Vec<(&'static str, Vec<&ProviderCall>)> {
        STEPS
            .iter()
            .map(|(step, kinds)| {
                let calls = self.calls_of(order).iter();
                (
                    *step,
                    calls.filter(|c| kinds.contains(&c.kind.as_str())).collect(),
                )
            })
            .filter(|(_, calls): &(_, Vec<_>)| !calls.is_empty())
            .collect()
    }

    /// Each order was charged exactly once.
    pub fn assert_charged_once(&self, orders: &[String]) {
        for order in orders {
            let calls = self.calls_of(order);
            assert_eq!(self.charges_of(order), 1, "{order}: {calls:?}");
        }
    }

    /// A run without crashes: each order was charged, and every step of it asked by
    /// exactly one call (so no replays).
    pub fn assert_asked_once(&self, orders: &[String]) {
        for order in orders {
            let calls = self.calls_of(order);
            assert!(!calls.is_empty(), "{order}: never asked");
            for (step, asked) in self.steps(order) {
                assert_eq!(asked.len(), 1, "{order}: {step} asked again: {calls:?}");
            }
        }
    }

    /// A run with crashes: every step of each order was asked under one key, the first
    /// call new and every later one a replay of it. Returns how many replays there were.
    pub fn assert_repeats_are_replays(&self, orders: &[String]) -> usize {
        let mut replays = 0;
        for order in orders {
            let calls = self.calls_of(order);
            assert!(!calls.is_empty(), "{order}: never asked");
            for (step, asked) in self.steps(order) {
                let (first, again) = asked.split_first().expect("steps are never empty");
                assert!(!first.replay, "{order}: {step}: {calls:?}");
                for call in again {
                    assert!(
                        call.replay && call.key == first.key,
                        "{order}: {step} asked again as a new request: {calls:?}"
                    );
                }
                replays += again.len();
            }
        }
        replays
    }

    /// Each order's charge was asked again, and answered as a replay: for orders whose
    /// charge was made but never recorded when payment died.
    pub fn assert_replayed(&self, orders: &[String]) {
        for order in orders {
            let calls = self.calls_of(order);
            let replayed = calls.iter().any(|c| c.replay && c.kind != "refund");
            assert!(
                replayed,
                "{order}: its charge was not asked again: {calls:?}"
            );
        }
    }
}

/// Orders the provider charged whose charge payment has not recorded: once payment is
/// dead, exactly the ones it must ask again when it is back, and the provider must see
/// those as replays.
pub async fn charged_but_unrecorded(api: &Api, data_dir: &Path) -> Res<Vec<String>> {
    let mut unrecorded = Vec::new();
    for order in Provider::read(data_dir)?.charges.keys() {
        let types = api.history_types(order).await?;
        if !types.iter().any(|t| t == "PaymentReceived") {
            unrecorded.push(order.clone());
        }
    }
    unrecorded.sort();
    Ok(unrecorded)
}

/// A cancelled order was never left charged: payment skipped it (no charge in the
/// provider's ledger, nothing refunded) or, when the cancel landed while its charge was
/// in flight, charged it once and refunded it; any step asked again was a replay. Waits
/// for payment to settle it; returns whether it was charged.
pub async fn assert_never_left_charged(api: &Api, order_id: &str, data_dir: &Path) -> Res<bool> {
    let types = eventually(|| async {
        let types = api.history_types(order_id).await?;
        let settled = types
            .iter()
            .any(|t| t == "PaymentSkipped" || t == "PaymentRefunded");
        Ok(settled.then_some(types))
    })
    .await?;
    let count = |name: &str| types.iter().filter(|t| *t == name).count();
    let provider = Provider::read(data_dir)?;
    let charged = provider.charges_of(order_id);
    let skipped = count("PaymentSkipped") == 1;
    let expected = if skipped { (0, 0, 0) } else { (1, 1, 1) };
    assert_eq!(
        (count("PaymentReceived"), count("PaymentRefunded"), charged),
        expected,
        "{order_id}: {types:?}, provider calls {:?}",
        provider.calls_of(order_id)
    );
    provider.assert_repeats_are_replays(&[order_id.to_owned()]);
    // Positions, not Options: `None < Some(_)` would let a missing cancel through.
    let at = |name: &str| {
        types
            .iter()
            .position(|t| t == name)
            .ok_or_else(|| format!("{order_id}: no {name} in {types:?}"))
    };
    let cancelled_at = at("OrderCancelled")?;
    if !skipped {
        let refunded_at = at("PaymentRefunded")?;
        assert!(cancelled_at < refunded_at, "{order_id}: {types:?}");
    }
    Ok(!skipped)
}

/// After a run with crashes: every order was charged exactly once (`charged` orders in
/// all), any charge asked again was a replay, and each shipped order has one payment,
/// one reservation and one shipment in its history. Returns how many of the shipped
/// orders' calls were replays.
pub async fn assert_each_effect_once(
    api: &Api,
    shipped: &[String],
    data_dir: &Path,
    charged: usize,
) -> Res<usize> {
    let provider = Provider::read(data_dir)?;
    assert_eq!(provider.charged(), charged, "{:?}", provider.charges);
    assert!(
        provider.charges.values().all(|n| *n == 1),
        "one charge per order: {:?}",
        provider.charges
    );
    provider.assert_charged_once(shipped);
    let replays = provider.assert_repeats_are_replays(shipped);
    for id in shipped {
        let types = api.history_types(id).await?;
        for once in ["PaymentReceived", "StockReserved", "OrderShipped"] {
            assert_eq!(
                types.iter().filter(|t| *t == once).count(),
                1,
                "{id}: {types:?}"
            );
        }
    }
    Ok(replays)
}
