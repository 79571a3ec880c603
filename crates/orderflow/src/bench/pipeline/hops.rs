//! Where an order's time goes on its way to shipped, hop by hop, as the event store's
//! clock saw it: each event of the causal chain that ends in `OrderShipped`, from its
//! cause's `recordedAt` to its own. A hop is everything between two appends: the relay
//! reading the cause from the store and publishing it, the bus delivering it, the
//! consumer handling it and appending the effect.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::child::Running;
use super::open_loop::Latencies;

/// The event whose recording means the order has shipped.
const SHIPPED: &str = "OrderShipped";

/// One event of an order's history, as far as the chain needs it.
#[derive(Debug, Clone)]
struct Event {
    id: String,
    kind: String,
    recorded_at: DateTime<Utc>,
    cause: Option<String>,
}

/// Each hop's durations over the orders looked at, in the chain's order.
#[derive(Debug, Default)]
pub struct Hops {
    pub hops: Vec<(String, Latencies)>,
    /// The first event of the chain to `OrderShipped`, whole.
    pub total: Latencies,
    /// Orders whose history held a whole chain.
    pub orders: usize,
}

impl Hops {
    fn record(&mut self, chain: &[(String, Duration)]) {
        for (hop, took) in chain {
            match self.hops.iter_mut().find(|(name, _)| name == hop) {
                Some((_, latencies)) => latencies.record_duration(*took),
                None => {
                    let mut latencies = Latencies::default();
                    latencies.record_duration(*took);
                    self.hops.push((hop.clone(), latencies));
                }
            }
        }
        self.total
            .record_duration(chain.iter().map(|(_, took)| *took).sum());
        self.orders += 1;
    }
}

/// Reads `GET /orders/{id}/history` of up to `count` of `orders`, spread over the run.
pub async fn measure(running: &Running, orders: &[String], count: usize) -> anyhow::Result<Hops> {
    let mut hops = Hops::default();
    let step = (orders.len() / count.max(1)).max(1);
    for id in orders.iter().step_by(step).take(count) {
        let history = running.history(id).await?;
        if let Some(chain) = events(&history).and_then(|events| chain(&events)) {
            hops.record(&chain);
        }
    }
    Ok(hops)
}

fn events(history: &Value) -> Option<Vec<Event>> {
    history["events"]
        .as_array()?
        .iter()
        .map(|e| {
            Some(Event {
                id: e["eventId"].as_str()?.to_owned(),
                kind: e["type"].as_str()?.to_owned(),
                recorded_at: e["recordedAt"].as_str()?.parse().ok()?,
                cause: e["causationId"].as_str().map(str::to_owned),
            })
        })
        .collect()
}

/// The hops from the first event of the causal chain to `OrderShipped`, each named
/// `cause → effect`; `None` without a shipped event or with nothing before it.
fn chain(events: &[Event]) -> Option<Vec<(String, Duration)>> {
    let mut effect = events.iter().find(|e| e.kind == SHIPPED)?;
    let mut hops = Vec::new();
    while let Some(cause) = effect
        .cause
        .as_ref()
        .and_then(|id| events.iter().find(|e| &e.id == id))
    {
        let took = (effect.recorded_at - cause.recorded_at)
            .to_std()
            .unwrap_or_default();
        hops.push((format!("{} → {}", cause.kind, effect.kind), took));
        effect = cause;
        if hops.len() > events.len() {
            return None; // a cycle: not a history the store can hold
        }
    }
    hops.reverse();
    (!hops.is_empty()).then_some(hops)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn history() -> Value {
        let event = |id: &str, kind: &str, at: &str, cause: Option<&str>| json!({ "eventId": id, "type": kind, "recordedAt": at, "causationId": cause });
        json!({ "orderId": "o", "events": [
            event("1", "OrderCreated", "2026-12-06T10:00:00.000Z", None),
            event("2", "PaymentAuthorized", "2026-12-06T10:00:00.004Z", Some("1")),
            event("9", "OrderAnalysed", "2026-12-06T10:00:00.005Z", Some("1")),
            event("3", "OrderConfirmed", "2026-12-06T10:00:00.010Z", Some("2")),
            event("4", "OrderShipped", "2026-12-06T10:00:00.025Z", Some("3")),
        ]})
    }

    #[test]
    fn the_chain_follows_causes_back_from_the_shipping_and_skips_side_branches()
    -> Result<(), String> {
        let events = events(&history()).ok_or("history not read")?;
        let hops = chain(&events).ok_or("no chain")?;
        let ms = Duration::from_millis;
        let expected = vec![
            ("OrderCreated → PaymentAuthorized".to_owned(), ms(4)),
            ("PaymentAuthorized → OrderConfirmed".to_owned(), ms(6)),
            ("OrderConfirmed → OrderShipped".to_owned(), ms(15)),
        ];
        if hops == expected {
            Ok(())
        } else {
            Err(format!("{hops:?}"))
        }
    }

    #[test]
    fn an_order_not_shipped_has_no_chain() -> Result<(), String> {
        let mut history = history();
        history["events"].as_array_mut().ok_or("no events")?.pop();
        let events = events(&history).ok_or("history not read")?;
        match chain(&events) {
            None => Ok(()),
            Some(hops) => Err(format!("{hops:?}")),
        }
    }

    #[test]
    fn hops_are_summed_per_order_into_the_total() -> Result<(), String> {
        let events = events(&history()).ok_or("history not read")?;
        let mut hops = Hops::default();
        hops.record(&chain(&events).ok_or("no chain")?);
        hops.record(&chain(&events).ok_or("no chain")?);
        // The histogram keeps 3 significant digits: 25 ms reads back as up to 25.03 ms.
        let total = hops.total.max();
        let whole_chain = Duration::from_millis(25)..Duration::from_micros(25_030);
        if hops.orders == 2
            && hops.hops.len() == 3
            && hops.total.count() == 2
            && whole_chain.contains(&total)
        {
            Ok(())
        } else {
            Err(format!(
                "{} orders, {} hops, total {total:?}",
                hops.orders,
                hops.hops.len()
            ))
        }
    }
}
