//! Latency as a client sees it: orders sent on an open-loop schedule (see
//! [`open_loop`](super::open_loop)), each timed from its intended send to the moment
//! the client has the answer it waits for: the `202` of `POST /orders`, or a
//! `GET /orders/{id}` that says `SHIPPED`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::child::{Ids, Placed, Running};
use super::open_loop::{Answer, Latencies, fire, schedule};

/// What the client waits for after sending an order.
#[derive(Debug, Clone, Copy)]
pub enum Until {
    /// The API's `202`.
    Accepted,
    /// A `GET /orders/{id}` answering `SHIPPED`, asked from the `202` on. The API offers
    /// no wait for a status (`min_position` waits for a store position, and the shipping
    /// event's is not known in advance), so the client polls, see [`Polling`].
    Shipped(Polling),
}

/// How often the client asks whether an order has shipped.
#[derive(Debug, Clone, Copy)]
pub struct Polling {
    /// At most this often per order.
    pub every: Duration,
    /// At most this many GETs per second for all the orders in flight together.
    pub budget: f64,
}

impl Polling {
    /// The pause before asking again about one order while `in_flight` orders are
    /// watched: `every`, or longer when the budget shared among them demands it.
    pub fn pause(&self, in_flight: usize) -> Duration {
        self.every
            .max(Duration::from_secs_f64(in_flight as f64 / self.budget))
    }
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
    /// From each order's `202` to its answer (what the pipeline behind the API adds).
    pub since_accepted: Latencies,
    /// Orders accepted per second, from the first intended send to the last `202`.
    pub accepted_rate: f64,
    /// Every order's id.
    pub orders: Vec<String>,
    /// Orders answered per second, from the first intended send to the last answer.
    pub achieved: f64,
    /// How far behind its schedule the generator sent its latest request (counted in
    /// the latencies anyway).
    pub behind: Duration,
    /// Every `GET /orders/{id}` round trip while watching for `SHIPPED`.
    pub gets: Latencies,
    /// For each order, from the asking of the GET before the one that saw `SHIPPED` (or
    /// from the `202`) to the answer that did: the window the shipping is known to be
    /// in, so the most its latency can be overstated.
    pub resolution: Latencies,
    /// For each order, from its intended send to the asking of the last GET that had not
    /// seen `SHIPPED`: it shipped after that, so its latency was at least this.
    pub at_least: Latencies,
}

impl Run {
    pub fn gets_per_order(&self) -> f64 {
        self.gets.count() as f64 / self.latencies.count().max(1) as f64
    }
}

/// What one order's client saw: its times, its GETs' round trips, and when it last
/// asked without seeing the order shipped.
struct Seen {
    answer: Answer,
    /// When the `202` came, from the start of the run.
    accepted: Duration,
    order: String,
    gets: Vec<Duration>,
    not_yet: Option<Duration>,
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
    let in_flight = Arc::new(AtomicUsize::new(0));
    let sends = fire(start, &schedule(rate as f64, count), |_, intended| {
        let running = running.clone();
        let in_flight = in_flight.clone();
        async move { watch(&running, ids, start, intended, until, &in_flight).await }
    })
    .await;
    let mut run = Run {
        offered: rate as f64,
        latencies: Latencies::default(),
        since_accepted: Latencies::default(),
        accepted_rate: 0.0,
        orders: Vec::with_capacity(count),
        achieved: 0.0,
        behind: Duration::ZERO,
        gets: Latencies::default(),
        resolution: Latencies::default(),
        at_least: Latencies::default(),
    };
    let (mut last, mut last_accepted) = (Duration::ZERO, Duration::ZERO);
    for seen in sends.join_all().await {
        let seen = seen?;
        run.latencies.record(&seen.answer);
        run.since_accepted
            .record_duration(seen.answer.done.saturating_sub(seen.accepted));
        last_accepted = last_accepted.max(seen.accepted);
        run.orders.push(seen.order);
        run.behind = run.behind.max(seen.answer.behind());
        last = last.max(seen.answer.done);
        for get in seen.gets {
            run.gets.record_duration(get);
        }
        if let Some(not_yet) = seen.not_yet {
            run.resolution
                .record_duration(seen.answer.done.saturating_sub(not_yet));
            run.at_least.record(&Answer {
                done: not_yet,
                ..seen.answer
            });
        }
    }
    run.achieved = count as f64 / last.as_secs_f64();
    run.accepted_rate = count as f64 / last_accepted.as_secs_f64();
    Ok(run)
}

async fn watch(
    running: &Running,
    ids: Ids,
    start: Instant,
    intended: Instant,
    until: Until,
    in_flight: &AtomicUsize,
) -> anyhow::Result<Seen> {
    let sent = start.elapsed();
    let placed = running.place(ids).await?;
    let accepted = start.elapsed();
    let mut gets = Vec::new();
    let mut not_yet = None;
    let done = match until {
        Until::Accepted => start.elapsed(),
        Until::Shipped(polling) => {
            in_flight.fetch_add(1, Ordering::SeqCst);
            let shipped = poll_shipped(running, &placed, intended, polling, in_flight).await;
            in_flight.fetch_sub(1, Ordering::SeqCst);
            let (answered, last_not_yet, round_trips) = shipped?;
            gets = round_trips;
            not_yet = Some(last_not_yet - start);
            answered - start
        }
    };
    Ok(Seen {
        answer: Answer {
            intended: intended - start,
            sent,
            done,
        },
        accepted,
        order: placed.id,
        gets,
        not_yet,
    })
}

/// Asks until the order has shipped: when the answer saying so came, when the last
/// look that had not seen it began, and every GET's round trip.
async fn poll_shipped(
    running: &Running,
    placed: &Placed,
    intended: Instant,
    polling: Polling,
    in_flight: &AtomicUsize,
) -> anyhow::Result<(Instant, Instant, Vec<Duration>)> {
    let mut not_yet = Instant::now();
    let mut round_trips = Vec::new();
    loop {
        // Before the first GET too, so that every GET counts against the budget.
        tokio::time::sleep(polling.pause(in_flight.load(Ordering::SeqCst))).await;
        let asked = Instant::now();
        let status = running.status(placed).await?;
        let answered = Instant::now();
        round_trips.push(answered - asked);
        match status.as_str() {
            "SHIPPED" => return Ok((answered, not_yet, round_trips)),
            "CANCELLED" => anyhow::bail!("order {} was cancelled", placed.id),
            _ => {}
        }
        anyhow::ensure!(
            answered - intended < GIVE_UP,
            "order {} not shipped after {GIVE_UP:?} (status {status})",
            placed.id
        );
        not_yet = asked;
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_orders_in_flight_are_asked_about_at_the_set_pace() -> Result<(), String> {
        let polling = Polling {
            every: Duration::from_millis(2),
            budget: 1000.0,
        };
        match polling.pause(1) {
            pause if pause == Duration::from_millis(2) => Ok(()),
            pause => Err(format!("one order in flight waits {pause:?} between GETs")),
        }
    }

    #[test]
    fn many_orders_in_flight_share_the_budget_of_gets() -> Result<(), String> {
        let polling = Polling {
            every: Duration::from_millis(2),
            budget: 1000.0,
        };
        // 5000 orders in flight at 1000 GETs/s: each is asked every 5 s, so all of them
        // together ask 1000 times a second.
        match polling.pause(5000) {
            pause if pause == Duration::from_secs(5) => Ok(()),
            pause => Err(format!("5000 orders in flight wait {pause:?} between GETs")),
        }
    }
}
