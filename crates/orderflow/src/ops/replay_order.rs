//! `orderflow replay-order ID [--at TIME] [--json]`: one order's history, read from the
//! event store and replayed step by step with the current code: each event (position,
//! time, stream and version, type, actor, cause) and the state of the aggregate it
//! changed, the changed fields marked (`*`, and in colour on a terminal).
//!
//! Named apart from `replay`, which moves a consumer group's offsets: this one changes
//! nothing and reads the store directly, so it works on a stopped deployment.

use std::fmt::Write as _;
use std::io::IsTerminal as _;
use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, SecondsFormat, Utc};
use clap::Args;
use orderflow_core::codec::{EventCodec, SCHEMA_FILES};
use orderflow_core::store::EventStore;
use orderflow_services::replay::{Step, replay_order as replay};
use serde_json::{Value, json};

use crate::settings::{DataDir, StoreArgs};
use crate::wiring;

#[derive(Debug, Args)]
pub struct ReplayOrderArgs {
    /// The order's id.
    pub order_id: String,
    /// Stop at this time (RFC 3339): only the events that occurred at or before it.
    #[arg(long)]
    pub at: Option<DateTime<Utc>>,
    /// Print the steps as JSON, for tools.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub data_dir: DataDir,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// The event store `--store` names, and a codec that reads its events with this
/// build's schemas, registering nothing, and opens personal data with the deployment's
/// key store if it has one.
pub(super) async fn open_reading(
    data_dir: &DataDir,
    store_args: &StoreArgs,
) -> anyhow::Result<(Arc<dyn EventStore>, EventCodec)> {
    let (store, registry) = wiring::open_for_reading(&data_dir.path, store_args).await?;
    let schemas: Vec<(String, String)> = SCHEMA_FILES
        .iter()
        .map(|(t, text)| (t.name().to_owned(), (*text).to_owned()))
        .collect();
    let mut codec = EventCodec::reader(Arc::new(registry), &schemas)
        .context("reading the event schemas of this build")?;
    if let Some(keys) = wiring::open_keys_for_reading(&data_dir.path, store_args).await? {
        codec = codec.with_keys(keys);
    }
    Ok((store, codec))
}

pub async fn replay_order(args: ReplayOrderArgs) -> anyhow::Result<()> {
    let (store, codec) = open_reading(&args.data_dir, &args.store).await?;
    let steps = replay(store.as_ref(), &codec, &args.order_id, args.at).await?;
    if args.json {
        out!("{}", serde_json::to_string_pretty(&steps_json(&steps))?);
    } else {
        let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        let mut stdout = std::io::stdout().lock();
        std::io::Write::write_all(&mut stdout, render(&steps, colour).as_bytes())?;
    }
    Ok(())
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A time as precise as it is stored, for tools (and for `--at` to stop right there).
fn exact(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The steps for a person: each event on one line, its cause on the next, then the
/// fields of its aggregate, those it changed marked with `*` (bold yellow if `colour`).
pub fn render(steps: &[Step], colour: bool) -> String {
    let mut out = String::new();
    for step in steps {
        let _ = writeln!(
            out,
            "#{} {}  {} v{}  {}",
            step.position,
            time(step.occurred_at),
            step.stream,
            step.version,
            step.event_type
        );
        let cause = step
            .causation_id
            .map_or_else(|| "-".to_owned(), |c| c.to_string());
        let _ = writeln!(
            out,
            "    actor {}  event {}  caused by {}",
            step.actor, step.event_id, cause
        );
        if let Err(reason) = &step.data {
            let _ = writeln!(out, "    does not decode: {reason}");
        }
        let width = step.state.iter().map(|f| f.name.len()).max().unwrap_or(0);
        for field in &step.state {
            let line = format!("{:<width$}  {}", field.name, field.value);
            let _ = match (field.changed, colour) {
                (true, true) => writeln!(out, "  \u{1b}[1;33m* {line}\u{1b}[0m"),
                (true, false) => writeln!(out, "  * {line}"),
                (false, _) => writeln!(out, "    {line}"),
            };
        }
        out.push('\n');
    }
    out
}

/// The steps for tools: each with its event's data and its aggregate's fields.
pub fn steps_json(steps: &[Step]) -> Value {
    let steps: Vec<Value> = steps
        .iter()
        .map(|s| {
            let (data, error) = match &s.data {
                Ok(data) => (data.clone(), Value::Null),
                Err(reason) => (Value::Null, json!(reason)),
            };
            let state: Vec<Value> = s
                .state
                .iter()
                .map(|f| json!({ "field": f.name, "value": f.value, "changed": f.changed }))
                .collect();
            json!({
                "position": s.position,
                "occurredAt": exact(s.occurred_at),
                "recordedAt": exact(s.recorded_at),
                "stream": s.stream,
                "version": s.version,
                "type": s.event_type,
                "eventId": s.event_id,
                "actor": s.actor,
                "causationId": s.causation_id,
                "data": data,
                "decodeError": error,
                "state": state,
            })
        })
        .collect();
    Value::Array(steps)
}

#[cfg(test)]
mod tests;
