//! What personal data costs the pipeline: CPU per order of the whole pipeline (a child
//! process) when every order carries a shipping address, which is sealed under the
//! customer's key (AES-256-GCM, the key read from `keys.db`) on its append and opened by
//! every service that decodes it, against orders without one, in alternating rounds of
//! the same run.

use std::sync::Arc;
use std::time::Duration;

use super::child::{self, Ids, per_order};
use super::{CATCH_UP, done};
use crate::bench::BenchArgs;
use crate::bench::scratch::Scratch;
use crate::service::Service;

/// Rounds of each setting, alternating with the other's.
const ROUNDS: usize = 3;

/// The address every order of the personal setting is shipped to.
const ADDRESS: &str = "17 Cherry Tree Lane, London W1 4AB, United Kingdom";

pub async fn personal(
    args: &BenchArgs,
    scratch: &Scratch,
    data_dirs: &mut Vec<tempfile::TempDir>,
) -> anyhow::Result<()> {
    out!(
        "\npersonal data ({} orders a run, {ROUNDS} rounds of each setting alternating; \
         pipeline CPU per order, median of the rounds)",
        args.orders
    );
    let settings = [
        ("no shipping address (baseline)", None),
        ("a shipping address, sealed and opened", Some(ADDRESS)),
    ];
    let mut cpu: [Vec<Duration>; 2] = Default::default();
    for _ in 0..ROUNDS {
        for (i, (_, address)) in settings.iter().enumerate() {
            let running = Arc::new(child::start(&Service::ALL, &[], scratch).await?);
            let before = running.cpu_time();
            running
                .place_many_to(args.orders, 64, Ids::TimeOrdered, *address)
                .await?;
            done::wait_all_done(&running, CATCH_UP).await?;
            let after = running.cpu_time();
            data_dirs.push(child::stop(running).await?);
            if let Some(per) = per_order(before, after, args.orders) {
                cpu[i].push(per);
            }
        }
    }
    for runs in &mut cpu {
        runs.sort();
    }
    let median = |runs: &Vec<Duration>| runs.get(runs.len() / 2).copied();
    let (Some(base), Some(sealed)) = (median(&cpu[0]), median(&cpu[1])) else {
        out!("  (no CPU figures: /proc is not readable here)");
        return Ok(());
    };
    let ms = |d: Option<&Duration>| d.map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    for ((label, _), runs) in settings.iter().zip(&cpu) {
        out!(
            "  {label:<40} {:>7.3} ms per order (rounds {:.3}-{:.3})",
            median(runs).map_or(0.0, |m| m.as_secs_f64() * 1000.0),
            ms(runs.first()),
            ms(runs.last()),
        );
    }
    out!(
        "  personal data costs {:+.3} ms per order ({:+.1} % against the baseline)",
        (sealed.as_secs_f64() - base.as_secs_f64()) * 1000.0,
        (sealed.as_secs_f64() / base.as_secs_f64() - 1.0) * 100.0
    );
    Ok(())
}
