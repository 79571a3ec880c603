//! The pipeline bench's lines: each figure next to its baseline from the same run, and
//! whether it meets its target.

use std::time::Duration;

use super::child::Ids;
use super::observe::Run;
use super::open_loop::Latencies;
use super::{Baseline, Figures};
use crate::bench::BenchArgs;

/// Orders per second the pipeline is to sustain.
const TARGET_RATE: f64 = 2000.0;
/// The latency target: p99 from send to shipped, at this offered rate.
const TARGET_P99: Duration = Duration::from_millis(50);
const TARGET_P99_RATE: f64 = 500.0;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn met(yes: bool) -> &'static str {
    if yes { "met" } else { "NOT met" }
}

/// p50, p99, p99.9 and max.
fn quantiles(l: &Latencies) -> String {
    format!(
        "p50 {:>7.2} ms  p99 {:>7.2} ms  p99.9 {:>7.2} ms  max {:>7.2} ms",
        ms(l.at(0.5)),
        ms(l.at(0.99)),
        ms(l.at(0.999)),
        ms(l.max())
    )
}

/// Each quantile of `l` as a multiple of `base`'s.
fn ratios(l: &Latencies, base: &Latencies) -> String {
    let r = |q: f64| ms(l.at(q)) / ms(base.at(q));
    format!(
        "= {:.1}x, {:.1}x, {:.1}x, {:.1}x the baseline's",
        r(0.5),
        r(0.99),
        r(0.999),
        ms(l.max()) / ms(base.max())
    )
}

fn rates(run: &Run) -> String {
    format!(
        "offered {:.0}/s, achieved {:.1}/s; generator at most {:.2} ms behind its schedule",
        run.offered,
        run.achieved,
        ms(run.behind)
    )
}

pub fn header(args: &BenchArgs) -> anyhow::Result<()> {
    out!(
        "pipeline ({} orders, POST to shipped and emailed, all services in one child process; \
         then an open loop at {} orders/s for {} s, latency from each order's intended send)",
        args.orders,
        args.rate,
        args.latency_seconds
    );
    Ok(())
}

pub fn embedded(
    args: &BenchArgs,
    ids: Ids,
    baseline: &Baseline,
    f: &Figures,
) -> anyhow::Result<()> {
    let accept = baseline.accept_rate;
    out!("  {}", ids.label());
    out!("    baseline: API accepting orders only          {accept:>9.0} orders/s");
    out!(
        "    whole pipeline, clock at the last email       {:>9.0} orders/s  = {:.3}x accept-only (flatters: work is left)",
        f.at_last_email,
        f.at_last_email / accept
    );
    out!(
        "    whole pipeline, clock at all work done        {:>9.0} orders/s  = {:.3}x accept-only (target >= {TARGET_RATE:.0} orders/s: {})",
        f.at_all_done,
        f.at_all_done / accept,
        met(f.at_all_done >= TARGET_RATE)
    );
    out!(
        "      (all work done: every consumer group's lag 0, relay and projections at the store's head, in two GET /consumers {} ms apart)",
        super::done::ASK_EVERY.as_millis()
    );
    if let (Some(pipeline_cpu), Some(accept_cpu)) = (f.cpu_per_order, baseline.cpu_per_order) {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        out!(
            "    baseline: CPU per order, API only             {:>9.3} ms",
            ms(accept_cpu)
        );
        out!(
            "    CPU per order, whole pipeline                 {:>9.3} ms  = {:.1}x accept-only; {cores} cores allow at most {:.0} orders/s at this cost",
            ms(pipeline_cpu),
            ms(pipeline_cpu) / ms(accept_cpu),
            cores as f64 * 1000.0 / ms(pipeline_cpu)
        );
    }
    let (base, run) = (&baseline.latency, &f.latency);
    out!(
        "    baseline: API alone, send -> 202         {}  ({})",
        quantiles(&base.latencies),
        rates(base)
    );
    let p99 = run.latencies.at(0.99);
    let target = if run.offered >= TARGET_P99_RATE {
        format!(
            "target p99 <= {} ms at {TARGET_P99_RATE:.0}/s: {}",
            TARGET_P99.as_millis(),
            met(p99 <= TARGET_P99)
        )
    } else {
        format!(
            "target p99 <= {} ms is set at {TARGET_P99_RATE:.0}/s; this run offers {:.0}/s: p99 {} here",
            TARGET_P99.as_millis(),
            run.offered,
            if p99 <= TARGET_P99 {
                "within it"
            } else {
                "above it"
            }
        )
    };
    out!(
        "    send -> SHIPPED seen by the client       {}  ({})",
        quantiles(&run.latencies),
        rates(run)
    );
    out!(
        "      {}; {} of {} orders took {} ms or more ({target})",
        ratios(&run.latencies, &base.latencies),
        run.latencies.at_least(TARGET_P99),
        run.latencies.count(),
        TARGET_P99.as_millis()
    );
    out!(
        "    seen by polling GET /orders/{{id}} from the 202 on, every {} ms or less often when many orders are in flight (all together at most {} GETs/s): {:.1} GETs per order, {:.0} GETs/s, round trip {}",
        args.poll_ms,
        args.poll_budget,
        run.gets_per_order(),
        run.gets_per_order() * run.achieved,
        quantiles(&run.gets)
    );
    out!(
        "      resolution (from the last GET that had not seen SHIPPED to the one that had; the most a latency is overstated) {}",
        quantiles(&run.resolution)
    );
    out!(
        "      lower bound (send -> the last GET that had not seen SHIPPED: each order took longer)    {}; {} of {} at least {} ms",
        quantiles(&run.at_least),
        run.at_least.at_least(TARGET_P99),
        run.at_least.count(),
        TARGET_P99.as_millis()
    );
    if let Some(cpu) = f.get_cpu {
        let share = run.gets_per_order() * run.achieved * ms(cpu) / 1000.0;
        out!(
            "      cost: one GET takes the pipeline {:.3} ms CPU ({} GETs in a row on the idle pipeline, round trip {}), so watching took about {:.1} % of one core (it can only slow the pipeline)",
            ms(cpu),
            super::GETS_PRICED,
            quantiles(&f.get_round_trip),
            share * 100.0
        );
    }
    Ok(())
}

pub fn scattered_vs_time_ordered(
    time_ordered: &Figures,
    scattered: &Figures,
) -> anyhow::Result<()> {
    let p = |f: &Figures, q: f64| ms(f.latency.latencies.at(q));
    out!(
        "  scattered ids against time-ordered, same run: all-work-done throughput {:.2}x, p50 {:.2}x, p99 {:.2}x",
        scattered.at_all_done / time_ordered.at_all_done,
        p(scattered, 0.5) / p(time_ordered, 0.5),
        p(scattered, 0.99) / p(time_ordered, 0.99)
    );
    Ok(())
}
