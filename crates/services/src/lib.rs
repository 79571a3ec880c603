//! The services of the orderflow pipeline and its HTTP API, written against the ports
//! of `orderflow-core` only: the order process, payment, inventory, shipping,
//! notification and analytics consume the bus; the relay and the projections follow the
//! event store. None of them calls another.

pub mod consumer;
pub mod context;
pub mod handlers;
pub mod http;
pub mod mailer;
pub mod payment_provider;
pub mod projections;
pub mod registry_client;
pub mod relay;
