//! `orderflow status` and `orderflow order ID`: what a running API says of the
//! pipeline (`GET /pipeline`) and of one order (`GET /orders/{id}`, its `waitingFor`
//! above all), for a terminal, or as the API's JSON with `--json`.

use anyhow::{Context, bail};
use clap::Args;
use serde_json::Value;

/// Where the API listens, and how to call it.
#[derive(Debug, Args)]
pub struct ApiArgs {
    /// The API's base URL.
    #[arg(
        long,
        env = "ORDERFLOW_API_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub api: String,
    /// A token for the API when it checks them (`/pipeline` needs an operator's).
    #[arg(long, env = "ORDERFLOW_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Print the API's JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub api: ApiArgs,
}

#[derive(Debug, Args)]
pub struct OrderArgs {
    /// The order's id.
    pub order_id: String,
    #[command(flatten)]
    pub api: ApiArgs,
}

async fn get(api: &ApiArgs, path: &str) -> anyhow::Result<Value> {
    let url = format!("{}{path}", api.api.trim_end_matches('/'));
    let mut request = reqwest::Client::new().get(&url);
    if let Some(token) = &api.token {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .with_context(|| format!("calling {url} (is the API running? --api sets where)"))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        let error = body["error"].as_str().unwrap_or("no reason given");
        bail!("{url} answered {status}: {error}");
    }
    Ok(body)
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".to_owned(),
        other => other.to_string(),
    }
}

fn secs(v: &Value) -> String {
    v.as_f64().map_or("-".to_owned(), |s| format!("{s:.1}"))
}

pub async fn status(args: StatusArgs) -> anyhow::Result<()> {
    let pipeline = get(&args.api, "/pipeline").await?;
    if args.api.json {
        out!("{}", serde_json::to_string_pretty(&pipeline)?);
        return Ok(());
    }
    out!(
        "{:<14} {:>7} {:<38} {:>9} {:>9}",
        "WAITING FOR",
        "ORDERS",
        "OLDEST",
        "AGE (S)",
        "LAST MIN"
    );
    for s in pipeline["stages"].as_array().into_iter().flatten() {
        out!(
            "{:<14} {:>7} {:<38} {:>9} {:>9}",
            text(&s["step"]),
            text(&s["orders"]),
            text(&s["oldestOrderId"]),
            secs(&s["oldestAgeSeconds"]),
            text(&s["lastMinute"])
        );
    }
    if pipeline["complete"] == false {
        out!("(not every open order was examined: the counts are lower bounds)");
    }
    out!("");
    out!(
        "{:<14} {:<10} {:>8} {:>10} {:>8}",
        "GROUP",
        "MEMBERS",
        "LAG",
        "LAG (S)",
        "PARKED"
    );
    for g in pipeline["groups"].as_array().into_iter().flatten() {
        let alive = g["members"]
            .as_array()
            .map_or(0, |ms| ms.iter().filter(|m| m["alive"] == true).count());
        let members = match alive {
            0 => "none".to_owned(),
            n => format!("{n} alive"),
        };
        out!(
            "{:<14} {:<10} {:>8} {:>10} {:>8}",
            text(&g["group"]),
            members,
            text(&g["lag"]),
            secs(&g["lagSeconds"]),
            text(&g["parked"])
        );
    }
    Ok(())
}

pub async fn order(args: OrderArgs) -> anyhow::Result<()> {
    let path = format!("/orders/{}", args.order_id);
    let order = get(&args.api, &path).await?;
    if args.api.json {
        out!("{}", serde_json::to_string_pretty(&order)?);
        return Ok(());
    }
    out!(
        "order {}: {}",
        text(&order["orderId"]),
        text(&order["status"])
    );
    let waiting = order["waitingFor"].as_array().cloned().unwrap_or_default();
    if waiting.is_empty() {
        out!("waiting for nothing");
    }
    for w in &waiting {
        if w["live"].is_null() {
            out!(
                "waiting for {}: group {} (the bus cannot be read just now)",
                text(&w["step"]),
                text(&w["group"])
            );
            continue;
        }
        let live = match w["live"] == true {
            true => "has a live member",
            false => "has NO live member",
        };
        out!(
            "waiting for {}: group {} {live}, lag {} records ({} s)",
            text(&w["step"]),
            text(&w["group"]),
            text(&w["lag"]),
            secs(&w["lagSeconds"])
        );
        for p in w["parked"].as_array().into_iter().flatten() {
            out!(
                "  parked on {} at offset {}: {}",
                text(&p["topic"]),
                text(&p["offset"]),
                text(&p["reason"])
            );
        }
    }
    Ok(())
}
