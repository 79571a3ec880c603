//! A broker killed with SIGKILL and started again while orders stream in, on a
//! three-broker cluster of the test's own (topics at replication factor 3,
//! `min.insync.replicas=2`), every service its own process.
//!
//! What it shows:
//!
//! - orders keep flowing while the broker is down: orders placed after the kill ship
//!   before it is started again (its partitions get new leaders from the in-sync
//!   replicas; the relay's producer and the groups' consumers follow them);
//! - no acknowledged record is lost: the relay saves its checkpoint only once the cluster
//!   acknowledged every record up to it (`acks=all`), so every event of the store up to
//!   the checkpoint must be in the topics. The test reads every partition of the
//!   deployment's topics from the beginning and finds each of those events there exactly
//!   once (by its `position` header), under its type and its order's key; the
//!   checkpoint is first waited for to cover the whole run, outage included. No loss and
//!   no duplicate: a record lost at the leader change would be missing, one the producer
//!   sent twice through it would be there twice;
//! - each effect happened once: one charge per order, one reservation, one shipment, two
//!   emails, and the stock adds up.
//!
//! The broker killed leads partitions of the orders topic and, of those that do, is the
//! coordinator of the most of the deployment's consumer groups, so that the kill moves
//! both partition leaders and group coordinators.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::support::*;

mod view;

use view::{ClusterView, Published};

/// The consumer groups of the services the test runs.
const GROUPS: [&str; 5] = ["orders", "payment", "inventory", "shipping", "notification"];
const STOCK: u64 = 10_000;
/// Orders that must ship in each phase before the test moves on.
const SOME: usize = 5;

#[tokio::test]
async fn a_broker_killed_mid_run_loses_no_acknowledged_record_and_orders_keep_flowing() -> TestResult
{
    let cluster = Cluster::start(3).await?;
    let deployment = cluster.deployment()?;
    let core = deployment.start("api,projections,relay", &[]).await?;
    let api = Api::of(&deployment, &core);
    let mut services = Vec::new();
    for service in GROUPS {
        services.push(deployment.start(service, &[]).await?);
    }
    api.set_stock("BR-1", STOCK).await?;

    let orders = Stream::start(api.clone());
    let early = orders.wait_placed(Phase::Before, SOME).await?;
    for id in &early {
        api.wait_status(id, "SHIPPED").await?;
    }

    let cluster_view = ClusterView::new(&cluster, &deployment)?;
    let victim = cluster_view.victim(&GROUPS).await?;
    eprintln!(
        "killing broker {}: it leads {} partitions of the orders topic and coordinates {} \
         of the {} groups",
        victim.id,
        victim.orders_partitions_led,
        victim.groups_coordinated,
        GROUPS.len()
    );
    cluster.kill_broker(victim.id).await?;
    let killed = Instant::now();
    orders.enter(Phase::Down);
    // Placed after the kill, paid and then shipped before the restart (two waits, so
    // that a failure says which end stalled).
    let after_kill = orders.wait_placed(Phase::Down, SOME).await?;
    for event in ["PaymentReceived", "OrderShipped"] {
        eventually(|| async { Ok(all_have(&api, &after_kill, event).await?.then_some(())) })
            .await
            .map_err(|e| format!("no {event} while broker {} was down: {e}", victim.id))?;
    }
    let flowing = killed.elapsed();

    cluster.start_broker(victim.id).await?;
    eprintln!(
        "orders placed after the kill shipped {flowing:.1?} after it; the broker was back \
         {:.1?} after it",
        killed.elapsed()
    );
    orders.enter(Phase::Back);
    orders.wait_placed(Phase::Back, SOME).await?;
    let (ids, during) = orders.stop().await?;
    eprintln!(
        "{} orders placed, {during} of them while the broker was down",
        ids.len()
    );

    for id in &ids {
        api.wait_status(id, "SHIPPED").await?;
    }
    let data_dir = deployment.data_dir();
    assert_each_effect_once(&api, &ids, &data_dir, ids.len()).await?;
    eventually(|| async { Ok((mails(&data_dir).len() == 2 * ids.len()).then_some(())) }).await?;
    assert_stock_settled(&api, "BR-1", &ids, STOCK - ids.len() as u64).await?;

    // Every event so far acknowledged, then every acknowledged event in the topics.
    let head = api.head().await?;
    let acknowledged =
        eventually(|| async { Ok(relay_checkpoint(&data_dir)?.filter(|p| *p >= head)) }).await?;
    let published = cluster_view.read_topics().await?;
    assert_each_event_published_once(&data_dir, acknowledged, &published)?;
    let created = published
        .iter()
        .filter(|r| r.event_type == "OrderCreated" && r.topic == "orders");
    let mut per_order: HashMap<&str, usize> = HashMap::new();
    for r in created {
        *per_order.entry(r.key.as_str()).or_default() += 1;
    }
    for id in &ids {
        assert_eq!(per_order.get(id.as_str()), Some(&1), "{id}: OrderCreated");
    }
    Ok(())
}

/// Whether each order's history holds `event`.
async fn all_have(api: &Api, ids: &[String], event: &str) -> Res<bool> {
    for id in ids {
        if !api.history_types(id).await?.iter().any(|t| t == event) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Where the cluster was when an order was placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Before,
    Down,
    Back,
}

/// Orders placed one after another at a steady pace until stopped, each tagged with the
/// phase the cluster was in when its request was sent.
struct Stream {
    placed: Arc<Mutex<Vec<(String, Phase)>>>,
    phase: Arc<Mutex<Phase>>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<TestResult>,
}

/// Five orders a second: a steady stream that two cores running three brokers keep up
/// with.
const PACE: Duration = Duration::from_millis(200);

impl Stream {
    fn start(api: Api) -> Self {
        let placed = Arc::new(Mutex::new(Vec::new()));
        let phase = Arc::new(Mutex::new(Phase::Before));
        let stop = CancellationToken::new();
        let task = tokio::spawn({
            let (placed, phase, stop) = (placed.clone(), phase.clone(), stop.clone());
            async move {
                let mut tick = tokio::time::interval(PACE);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                let mut n = 0;
                while !stop.is_cancelled() {
                    tick.tick().await;
                    let now = *phase.lock().unwrap();
                    let customer = format!("c-{n}");
                    let (id, _) = api.place(&customer, json!([item("BR-1", 1, 2.0)])).await?;
                    placed.lock().unwrap().push((id, now));
                    n += 1;
                }
                Ok(())
            }
        });
        Self {
            placed,
            phase,
            stop,
            task,
        }
    }

    fn enter(&self, phase: Phase) {
        *self.phase.lock().unwrap() = phase;
    }

    /// Waits until `n` orders were placed in `phase`; returns the first `n`.
    async fn wait_placed(&self, phase: Phase, n: usize) -> Res<Vec<String>> {
        eventually(|| async {
            let placed = self.placed.lock().unwrap();
            let ids: Vec<String> = placed
                .iter()
                .filter(|(_, p)| *p == phase)
                .map(|(id, _)| id.clone())
                .take(n)
                .collect();
            Ok((ids.len() == n).then_some(ids))
        })
        .await
    }

    /// Stops placing; returns every order placed, and how many while the broker was down.
    async fn stop(self) -> Res<(Vec<String>, usize)> {
        self.stop.cancel();
        self.task.await??;
        let placed = self.placed.lock().unwrap();
        let down = placed.iter().filter(|(_, p)| *p == Phase::Down).count();
        Ok((placed.iter().map(|(id, _)| id.clone()).collect(), down))
    }
}

/// The relay's saved checkpoint: every event up to it was acknowledged by the cluster.
fn relay_checkpoint(data_dir: &std::path::Path) -> Res<Option<u64>> {
    let db = rusqlite::Connection::open(data_dir.join("events.db"))?;
    let mut query = db.prepare("SELECT position FROM checkpoints WHERE name = 'relay'")?;
    let mut rows = query.query([])?;
    Ok(match rows.next()? {
        Some(row) => Some(row.get(0)?),
        None => None,
    })
}

/// Each event of the store up to `acknowledged` is in the topics exactly once, under its
/// type and its order's key.
fn assert_each_event_published_once(
    data_dir: &std::path::Path,
    acknowledged: u64,
    published: &[Published],
) -> TestResult {
    let mut by_position: HashMap<u64, Vec<&Published>> = HashMap::new();
    for r in published {
        by_position.entry(r.position).or_default().push(r);
    }
    let db = rusqlite::Connection::open(data_dir.join("events.db"))?;
    let mut query = db.prepare(
        "SELECT position, event_type, correlation_id FROM events WHERE position <= ?1 \
         ORDER BY position",
    )?;
    let stored = query
        .query_map([acknowledged], |r| {
            Ok((r.get::<_, u64>(0)?, r.get::<_, String>(1)?, r.get(2)?))
        })?
        .collect::<Result<Vec<(u64, String, String)>, _>>()?;
    assert_eq!(stored.len() as u64, acknowledged, "the store has a gap");
    let mut missing = Vec::new();
    for (position, event_type, key) in &stored {
        match by_position.get(position).map(Vec::as_slice) {
            None | Some([]) => missing.push((*position, event_type.as_str())),
            Some([record]) => assert_eq!(
                (&record.event_type, &record.key),
                (event_type, key),
                "position {position}"
            ),
            Some(twice) => panic!("position {position} published {} times", twice.len()),
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {acknowledged} acknowledged events missing from the topics, the first: {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    Ok(())
}
