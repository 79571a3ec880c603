//! Chaos: every service its own process over one data dir, random ones killed with
//! SIGKILL and started again while orders come in. Afterwards every accepted order is
//! final, with one charge, one reservation, one shipment and two emails, and nothing
//! is parked. `scripts/chaos` runs a longer version and prints its figures.

use std::collections::HashMap;

use serde_json::json;

use crate::support::*;

/// Everything but the API, which the test needs to place orders.
const SERVICES: [&str; 8] = [
    "orders",
    "payment",
    "inventory",
    "shipping",
    "notification",
    "projections",
    "relay",
    "analytics",
];
const ROUNDS: usize = 8;
const ORDERS_PER_ROUND: usize = 12;

/// A small deterministic generator (xorshift), so a failing schedule can be replayed.
struct Dice(u64);

impl Dice {
    fn roll(&mut self, sides: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % sides as u64) as usize
    }
}

fn extra(service: &str) -> &'static [&'static str] {
    // A provider slow enough that kills land while charges are in flight.
    match service {
        "payment" => &["--payment-latency-ms", "20"],
        _ => &[],
    }
}

#[tokio::test]
async fn killing_random_services_loses_and_doubles_nothing() -> TestResult {
    let deployment = Deployment::new()?;
    let front = deployment.start("api", &[]).await?;
    let api = Api::of(&deployment, &front);
    let mut running = HashMap::new();
    for s in SERVICES {
        running.insert(s, deployment.start(s, extra(s)).await?);
    }
    api.set_stock("CH-1", 100_000).await?;

    let seed = std::env::var("ORDERFLOW_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_cafe);
    let mut dice = Dice(seed);
    let (mut ids, mut kills) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        for i in 0..ORDERS_PER_ROUND {
            let customer = format!("c-{round}-{i}");
            ids.push(api.place(&customer, json!([item("CH-1", 1, 3.0)])).await?.0);
        }
        let victim = SERVICES[dice.roll(SERVICES.len())];
        if let Some(mut process) = running.remove(victim) {
            process.kill9().await?;
        }
        kills.push(victim);
        running.insert(victim, deployment.start(victim, extra(victim)).await?);
    }

    for id in &ids {
        api.wait_status(id, "SHIPPED").await?;
    }
    let data_dir = deployment.data_dir();
    eventually(|| async { Ok((mails(&data_dir).len() == 2 * ids.len()).then_some(())) })
        .await
        .map_err(|e| {
            format!(
                "{e}: {} emails for {} orders",
                mails(&data_dir).len(),
                ids.len()
            )
        })?;
    for id in &ids {
        let types = api.history_types(id).await?;
        for (once, times) in [
            ("PaymentReceived", 1),
            ("StockReserved", 1),
            ("OrderShipped", 1),
            ("NotificationSent", 2),
        ] {
            let seen = types.iter().filter(|t| *t == once).count();
            assert_eq!(seen, times, "{id} after kills {kills:?}: {types:?}");
        }
    }
    let provider = Provider::read(&data_dir)?;
    assert_eq!(provider.charged(), ids.len(), "after kills {kills:?}");
    provider.assert_charged_once(&ids);
    let replays = provider.assert_repeats_are_replays(&ids);
    eprintln!("after kills {kills:?}: {replays} charges asked again, as replays");
    let (_, consumers) = api.get("/consumers").await?;
    let parked: u64 = consumers["deadLetters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["records"].as_u64())
        .sum();
    assert_eq!(parked, 0, "nothing parked: {consumers}");
    Ok(())
}
