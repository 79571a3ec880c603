//! Latency as a client sees it: orders sent on an open-loop schedule (see
//! [`open_loop`](super::open_loop)), each timed from its intended send to the moment
//! the client has the answer it waits for: the `202` of `POST /orders`, or a
//! `GET /orders/{id}` that says `SHIPPED`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::child::{Ids, Placed, Running};
use super::open_loop::{Answer, Latencies, fire, schedule};

/// What the client waits for after sending an order.
#[derive(Debug, Clone, Copy)]
pub enum Until {
    /// The API's `202`.
    Accepted,
    /// A `GET /orders/{id}` answering `SHIPPED`, asked every `poll` from the `202` on.
    /// The API offers no wait for a status (`min_position` waits for a store position,
    /// and the shipping event's is not known in advance), so the client polls: it sees
    /// `SHIPPED` at most `poll` plus one GET after the read model has it.
    Shipped { poll: Duration },
}

/// How long the client waits for one order before the run fails.
const GIVE_UP: Duration = Duration::from_secs(60);

/// One open-loop run at a fixed offered rate.
#[derive(Debug)]
pub struct Run {
    /// Offered rate, orders per second.
    pub offered: f64,
    /// From each order's intended send to its answer.
    pub latencies: Latencies,
    /// Orders answered per second, from the first intended send to the last answer.
    pub achieved: f64,
    /// How far behind its schedule the generator sent its latest request (counted in
    /// the latencies anyway).
    pub behind: Duration,
    /// Every `GET /orders/{id}` round trip while watching for `SHIPPED`.
    pub gets: Latencies,
}

impl Run {
    pub fn gets_per_order(&self) -> f64 {
        self.gets.count() as f64 / self.latencies.count().max(1) as f64
    }
}

/// What one order's client saw: its times, and its GETs' round trips.
struct Seen {
    answer: Answer,
    gets: Vec<Duration>,
}

/// Sends `rate` orders per second for `seconds`, open loop, and waits for `until` on each.
pub async fn open_loop(
    running: &Arc<Running>,
    ids: Ids,
    rate: u64,
    seconds: u64,
    until: Until,
) -> anyhow::Result<Run> {
    let count = usize::try_from(rate * seconds)?;
    let start = Instant::now();
    let sends = fire(start, &schedule(rate as f64, count), |_, intended| {
        let running = running.clone();
        async move { watch(&running, ids, start, intended, until).await }
    })
    .await;
    let mut run = Run {
        offered: rate as f64,
        latencies: Latencies::default(),
        achieved: 0.0,
        behind: Duration::ZERO,
        gets: Latencies::default(),
    };
    let mut last = Duration::ZERO;
    for seen in sends.join_all().await {
        let seen = seen?;
        run.latencies.record(&seen.answer);
        run.behind = run.behind.max(seen.answer.behind());
        last = last.max(seen.answer.done);
        for get in seen.gets {
            run.gets.record_duration(get);
        }
    }
    run.achieved = count as f64 / last.as_secs_f64();
    Ok(run)
}

async fn watch(
    running: &Running,
    ids: Ids,
    start: Instant,
    intended: Instant,
    until: Until,
) -> anyhow::Result<Seen> {
    let sent = start.elapsed();
    let placed = running.place(ids).await?;
    let mut gets = Vec::new();
    let done = match until {
        Until::Accepted => start.elapsed(),
        Until::Shipped { poll } => loop {
            let asked = Instant::now();
            let status = running.status(&placed).await?;
            let answered = Instant::now();
            gets.push(answered - asked);
            match status.as_str() {
                "SHIPPED" => break answered - start,
                "CANCELLED" => anyhow::bail!("order {} was cancelled", placed.id),
                _ => {}
            }
            anyhow::ensure!(
                answered - intended < GIVE_UP,
                "order {} not shipped after {GIVE_UP:?} (status {status})",
                placed.id
            );
            tokio::time::sleep(poll).await;
        },
    };
    Ok(Seen {
        answer: Answer {
            intended: intended - start,
            sent,
            done,
        },
        gets,
    })
}

/// What watching costs: `count` GETs one after another on orders already shipped (the
/// pipeline idle), their round trips and the child's CPU time per GET.
pub async fn get_cost(
    running: &Running,
    orders: &[Placed],
    count: usize,
) -> anyhow::Result<(Latencies, Option<Duration>)> {
    let mut round_trips = Latencies::default();
    let cpu_before = running.cpu_time();
    for placed in orders.iter().cycle().take(count) {
        let asked = Instant::now();
        running.status(placed).await?;
        round_trips.record_duration(asked.elapsed());
    }
    let cpu = super::child::per_order(cpu_before, running.cpu_time(), count);
    Ok((round_trips, cpu))
}
