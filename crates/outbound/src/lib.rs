//! Outbound adapters: the ports of `orderflow-core` that orderflow implements by calling
//! out of the process (a mail server, a remote schema registry) or, for mail, by
//! writing to an outbox folder a person or a tool reads.
//!
//! # Layout
//!
//! - `mail.rs`: the [`Mailer`](orderflow_core::Mailer)s: SMTP (lettre) or `.eml` files.
//! - `registry_client.rs`: a client for an external, Confluent-compatible schema registry.

pub mod mail;
pub mod registry_client;

pub use mail::{FileMailer, SmtpMailer};
pub use registry_client::HttpSchemaRegistry;
