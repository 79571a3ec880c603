//! `orderflow customers forget ID --reason WHY`: a customer's personal data forgotten
//! (GDPR Art. 17) on the deployment's own storage, as `POST /customers/{id}/forget` does
//! over HTTP (docs/operations.md, "Forgetting a customer").

use anyhow::Context;
use clap::{Args, Subcommand};
use orderflow_domain::CustomerId;
use orderflow_services::customers;

use crate::settings::Settings;
use crate::wiring;

#[derive(Debug, Subcommand)]
pub enum CustomersCommand {
    /// Forget a customer's personal data: destroy their keys (every copy of their
    /// addresses reads as erased from then on) and record `CustomerForgotten`.
    Forget(ForgetArgs),
}

#[derive(Debug, Args)]
pub struct ForgetArgs {
    /// The customer's id.
    pub customer_id: String,
    /// The request this answers: kept in the history.
    #[arg(long)]
    pub reason: String,
    /// Who asks (default: the `USER` of this shell).
    #[arg(long)]
    pub by: Option<String>,
    #[command(flatten)]
    pub settings: Settings,
}

pub async fn customers(command: CustomersCommand) -> anyhow::Result<()> {
    let CustomersCommand::Forget(args) = command;
    let customer = CustomerId::parse(args.customer_id.as_str())
        .with_context(|| format!("{:?} is not a customer id", args.customer_id))?;
    anyhow::ensure!(
        !args.reason.trim().is_empty(),
        "--reason: say which request this answers"
    );
    let by = args
        .by
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "someone".to_owned());
    let adapters = wiring::Adapters::open(&args.settings).await?;
    let done = customers::forget(
        adapters.keys.as_ref(),
        &adapters.recorder(),
        &customer,
        args.reason.trim(),
        &format!("{by} (command line)"),
    )
    .await?;
    out!(
        "forgot customer {customer}: {} key(s) destroyed at {}; CustomerForgotten is at \
         position {}. The read models drop the customer's addresses as they pass it, \
         and notification its copies of their emails.",
        done.keys_destroyed,
        done.at.to_rfc3339(),
        done.position
    );
    Ok(())
}
