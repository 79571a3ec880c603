//! `orderflow dlq`: the records the services set aside, on the bus itself (like
//! `consumers`): `list` them, `show` one (decoded with the schema registry where it
//! can be, its bytes as hex always), `replay` one or all back to their topic for the
//! group that set them aside, or `discard` one with who and why.

use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{ArgGroup, Args, Subcommand};
use orderflow_core::EventCodec;
use orderflow_core::bus::dead_letters::{DeadLetters, Filter, Parked, ParkedId};
use orderflow_core::codec::SCHEMA_FILES;
use orderflow_core::registry::SchemaRegistry;
use orderflow_outbound::HttpSchemaRegistry;
use orderflow_services::dead_letters::{detail, state_line, summary, token_actor, when};
use serde_json::Value;

use crate::settings::{BusArgs, DataDir, RegistryArgs, StoreArgs};
use crate::wiring;

#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// The records set aside that wait for a decision (`--all`: replayed and discarded
    /// ones too, with their state).
    List(DlqListArgs),
    /// One parked record: the event (decoded with the schema registry where possible),
    /// its bytes as hex, why it was set aside, where from, when and how often it failed.
    Show(DlqShowArgs),
    /// Publish a parked record (or every one still parked) back to its topic for the
    /// group that set it aside, once the cause is fixed. Handlers take it as any
    /// delivery: what was already done is not done again.
    Replay(DlqReplayArgs),
    /// Give a parked record up for good, recording who and why.
    Discard(DlqDiscardArgs),
}

/// The bus the parked records are on.
#[derive(Debug, Args)]
pub struct DlqBus {
    #[command(flatten)]
    pub data_dir: DataDir,
    #[command(flatten)]
    pub bus: BusArgs,
}

/// Who acts: `--actor`, or else the fingerprint of the operator token, or else the
/// user running the command.
#[derive(Debug, Args)]
pub struct ActorArgs {
    /// Who is recorded as acting (default: the operator token's fingerprint, or the
    /// user).
    #[arg(long, env = "ORDERFLOW_ACTOR")]
    pub actor: Option<String>,
    /// An operator token: its fingerprint (never the token) is recorded as the actor.
    #[arg(long, env = "ORDERFLOW_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

impl ActorArgs {
    fn actor(&self) -> String {
        if let Some(actor) = &self.actor {
            return actor.clone();
        }
        if let Some(token) = &self.token {
            return token_actor(token);
        }
        let user = std::env::var("USER").unwrap_or_else(|_| "unknown".to_owned());
        format!("{user} (orderflow dlq)")
    }
}

#[derive(Debug, Args)]
pub struct DlqListArgs {
    /// Only this topic's (`orders` or `orders.dlq`).
    #[arg(long)]
    pub topic: Option<String>,
    /// Replayed and discarded ones too.
    #[arg(long)]
    pub all: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub on: DlqBus,
}

#[derive(Debug, Args)]
pub struct DlqShowArgs {
    /// The parked record's id, as `dlq list` prints it (`orders.dlq:3:17`).
    pub id: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub on: DlqBus,
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("which").required(true).args(["id", "all"])))]
pub struct DlqReplayArgs {
    /// The parked record's id.
    pub id: Option<String>,
    /// Every record still parked (on `--topic`'s dead-letter topic, or all).
    #[arg(long)]
    pub all: bool,
    /// With `--all`: only this topic's.
    #[arg(long, requires = "all")]
    pub topic: Option<String>,
    #[command(flatten)]
    pub actor: ActorArgs,
    #[command(flatten)]
    pub on: DlqBus,
}

#[derive(Debug, Args)]
pub struct DlqDiscardArgs {
    /// The parked record's id.
    pub id: String,
    /// Why it is given up.
    #[arg(long)]
    pub reason: String,
    #[command(flatten)]
    pub actor: ActorArgs,
    #[command(flatten)]
    pub on: DlqBus,
}

pub async fn dlq(command: DlqCommand) -> anyhow::Result<()> {
    match command {
        DlqCommand::List(args) => list(args).await,
        DlqCommand::Show(args) => show(args).await,
        DlqCommand::Replay(args) => replay(args).await,
        DlqCommand::Discard(args) => discard(args).await,
    }
}

async fn open(on: &DlqBus) -> anyhow::Result<DeadLetters> {
    let bus = wiring::open_bus(&on.data_dir.path, &on.bus).await?;
    Ok(DeadLetters::new(bus))
}

async fn list(args: DlqListArgs) -> anyhow::Result<()> {
    let filter = Filter {
        topic: args.topic.clone(),
        all: args.all,
    };
    let parked = open(&args.on)
        .await?
        .list(&filter)
        .await
        .context("reading the dead-letter topics")?;
    if args.json {
        let list: Vec<Value> = parked.iter().map(summary).collect();
        out!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "parked": list }))?
        );
        return Ok(());
    }
    out!(
        "{:<22} {:<10} {:<13} {:<38} {:>8} {:<19} REASON",
        "ID",
        "STATE",
        "GROUP",
        "KEY",
        "ATTEMPTS",
        "LAST FAILURE"
    );
    for p in &parked {
        out!(
            "{:<22} {:<10} {:<13} {:<38} {:>8} {:<19} {}",
            p.id.to_string(),
            p.state.name(),
            p.group.as_deref().unwrap_or("-"),
            p.record.key,
            p.attempts.map_or("-".to_owned(), |a| a.to_string()),
            when(p.last_failure),
            one_line(&p.reason, 100)
        );
    }
    if parked.is_empty() {
        out!(
            "(none{})",
            if args.all {
                ""
            } else {
                " waiting; --all shows replayed and discarded ones"
            }
        );
    }
    Ok(())
}

/// A codec that reads with the schemas the registry has: the external one, or the
/// store's embedded one; `None` (with why, logged) when neither can be opened.
async fn codec(args: &DlqShowArgs) -> Option<EventCodec> {
    let registry: anyhow::Result<Arc<dyn SchemaRegistry>> = async {
        Ok(match &args.registry.schema_registry_url {
            Some(url) => {
                let mut client = HttpSchemaRegistry::new(url)?;
                if let Some(token) = &args.registry.schema_registry_token {
                    client = client.with_token(token);
                }
                Arc::new(client) as Arc<dyn SchemaRegistry>
            }
            None => {
                let (_, registry) =
                    wiring::open_for_reading(&args.on.data_dir.path, &args.store).await?;
                Arc::new(registry)
            }
        })
    }
    .await;
    let schemas: Vec<(String, String)> = SCHEMA_FILES
        .iter()
        .map(|(name, text)| (name.to_string(), (*text).to_owned()))
        .collect();
    match registry.and_then(|r| Ok(EventCodec::reader(r, &schemas)?)) {
        Ok(codec) => Some(codec),
        Err(e) => {
            tracing::warn!(error = %e, "no schema registry to decode parked records with");
            None
        }
    }
}

async fn show(args: DlqShowArgs) -> anyhow::Result<()> {
    let id: ParkedId = args.id.parse()?;
    let parked = open(&args.on).await?.get(&id).await?;
    let codec = codec(&args).await;
    let doc = detail(&parked, codec.as_ref()).await;
    if args.json {
        out!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    print(&parked, &doc)
}

fn print(p: &Parked, doc: &Value) -> anyhow::Result<()> {
    let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".to_owned());
    out!("id:             {}", p.id);
    out!("state:          {}", state_line(&p.state));
    out!("replays:        {}", p.replays);
    out!("group:          {}", or_dash(p.group.clone()));
    out!(
        "origin:         {} partition {} offset {}",
        p.origin.topic,
        or_dash(p.origin.partition.map(|v| v.to_string())),
        or_dash(p.origin.offset.map(|v| v.to_string()))
    );
    out!("key:            {}", p.record.key);
    out!("reason:         {}", p.reason);
    out!("kind:           {}", or_dash(p.kind.clone()));
    out!("first failure:  {}", when(p.first_failure));
    out!("last failure:   {}", when(p.last_failure));
    out!(
        "attempts:       {}",
        or_dash(p.attempts.map(|v| v.to_string()))
    );
    out!("timestamp:      {}", p.record.timestamp.to_rfc3339());
    out!("headers:");
    for (name, value) in &p.record.headers {
        out!("  {name}: {}", String::from_utf8_lossy(value));
    }
    match (&doc["event"], &doc["decodeError"]) {
        (Value::Object(event), _) => {
            out!("event:          {}", event["type"].as_str().unwrap_or("?"));
            for line in event["value"].as_str().unwrap_or_default().lines() {
                out!("  {line}");
            }
        }
        (_, why) => out!(
            "event:          not decoded: {}",
            why.as_str().unwrap_or("?")
        ),
    }
    out!("value ({} bytes, hex):", p.record.value.len());
    let hex = doc["valueHex"].as_str().unwrap_or_default();
    for chunk in hex.as_bytes().chunks(64) {
        out!("  {}", String::from_utf8_lossy(chunk));
    }
    Ok(())
}

async fn replay(args: DlqReplayArgs) -> anyhow::Result<()> {
    let dlq = open(&args.on).await?;
    let actor = args.actor.actor();
    match &args.id {
        Some(id) => {
            let parked = dlq.replay(&id.parse()?, &actor).await?;
            out!(
                "replayed {} to {} for group {} ({} replay(s) so far)",
                parked.id,
                parked.origin.topic,
                parked.group.as_deref().unwrap_or("-"),
                parked.replays
            );
        }
        None => {
            let replayed = dlq.replay_all(args.topic.as_deref(), &actor).await?;
            for id in &replayed {
                out!("replayed {id}");
            }
            out!("{} record(s) replayed", replayed.len());
        }
    }
    Ok(())
}

async fn discard(args: DlqDiscardArgs) -> anyhow::Result<()> {
    if args.reason.trim().is_empty() {
        bail!("say why it is discarded: --reason TEXT");
    }
    let parked = open(&args.on)
        .await?
        .discard(&args.id.parse()?, &args.actor.actor(), &args.reason)
        .await?;
    out!("{}: {}", parked.id, state_line(&parked.state));
    Ok(())
}

/// `text` on one line, cut at `max` characters.
fn one_line(text: &str, max: usize) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line,
    }
}
