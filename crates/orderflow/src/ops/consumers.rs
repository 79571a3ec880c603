//! `orderflow consumers`: one line per consumer group (members, lag in records and
//! seconds, records parked), the per-partition detail with `--partitions`, and either
//! as JSON with `--json`.

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::Args;
use orderflow_core::bus::{GroupLag, GroupMember};
use orderflow_services::pipeline::{GroupSummary, group_summaries};
use serde_json::{Value, json};

use crate::settings::{BusArgs, DataDir};
use crate::wiring;

#[derive(Debug, Args)]
pub struct ConsumersArgs {
    /// Also show each partition: committed offset, end, lag and the age of its oldest
    /// unhandled record.
    #[arg(long)]
    pub partitions: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub data_dir: DataDir,
    #[command(flatten)]
    pub bus: BusArgs,
}

pub async fn consumers(args: ConsumersArgs) -> anyhow::Result<()> {
    let bus = wiring::open_bus(&args.data_dir.path, &args.bus).await?;
    let groups = bus.groups().await.context("listing the consumer groups")?;
    let now = Utc::now();
    let summaries = group_summaries(bus.as_ref(), &groups, now)
        .await
        .context("counting the parked records")?;
    if args.json {
        let doc = to_json(&groups, &summaries, args.partitions, now);
        out!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    out!(
        "{:<14} {:<28} {:>8} {:>10} {:>8}",
        "GROUP",
        "MEMBERS",
        "LAG",
        "LAG (S)",
        "PARKED"
    );
    for s in &summaries {
        out!(
            "{:<14} {:<28} {:>8} {:>10.1} {:>8}",
            s.group,
            members(&s.members, now),
            s.lag,
            s.lag_seconds,
            s.parked
        );
    }
    if args.partitions {
        out!("");
        partitions(&groups, now)?;
    }
    Ok(())
}

/// A group's members in a few words: how many are alive, and when a dead one was last
/// seen.
pub fn members(members: &[GroupMember], now: DateTime<Utc>) -> String {
    let alive = members.iter().filter(|m| m.alive).count();
    let last_dead = members
        .iter()
        .filter(|m| !m.alive)
        .filter_map(|m| m.last_seen)
        .max();
    match (alive, last_dead) {
        (0, None) => "none".to_owned(),
        (0, Some(seen)) => format!("none (last seen {} s ago)", (now - seen).num_seconds()),
        (n, _) => format!("{n} alive"),
    }
}

fn partitions(groups: &[GroupLag], now: DateTime<Utc>) -> anyhow::Result<()> {
    out!(
        "{:<14} {:<16} {:>9} {:>10} {:>10} {:>8} {:>10}",
        "GROUP",
        "TOPIC",
        "PARTITION",
        "COMMITTED",
        "END",
        "LAG",
        "LAG (S)"
    );
    for g in groups {
        for p in &g.partitions {
            let committed = p.committed.map_or("-".to_owned(), |c| c.to_string());
            let age = p.oldest_unhandled.map_or("-".to_owned(), |t| {
                format!("{:.1}", (now - t).num_milliseconds().max(0) as f64 / 1000.0)
            });
            out!(
                "{:<14} {:<16} {:>9} {:>10} {:>10} {:>8} {:>10}",
                g.group,
                p.topic,
                p.partition,
                committed,
                p.end,
                p.lag,
                age
            );
        }
    }
    Ok(())
}

fn to_json(
    groups: &[GroupLag],
    summaries: &[GroupSummary],
    with_partitions: bool,
    now: DateTime<Utc>,
) -> Value {
    let groups: Vec<Value> = summaries
        .iter()
        .zip(groups)
        .map(|(s, g)| {
            let mut v = json!({
                "group": s.group,
                "members": s.members.iter().map(|m| json!({
                    "id": m.id, "client": m.client, "host": m.host,
                    "alive": m.alive, "lastSeen": m.last_seen,
                })).collect::<Vec<_>>(),
                "live": s.members.iter().any(|m| m.alive),
                "lag": s.lag,
                "lagSeconds": s.lag_seconds,
                "parked": s.parked,
            });
            if with_partitions {
                v["partitions"] = g
                    .partitions
                    .iter()
                    .map(|p| {
                        json!({
                            "topic": p.topic, "partition": p.partition,
                            "committed": p.committed, "end": p.end, "lag": p.lag,
                            "lagSeconds": p.oldest_unhandled.map(|t|
                                (now - t).num_milliseconds().max(0) as f64 / 1000.0),
                        })
                    })
                    .collect();
            }
            v
        })
        .collect();
    json!({ "groups": groups })
}
