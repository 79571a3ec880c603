//! End-to-end tests: they start the real `orderflow` binary (the whole pipeline in one
//! process, or services as separate processes over one data dir) and talk HTTP to it.

mod support;

mod access;
mod analytics;
mod api;
mod as_of;
mod backfill;
mod chaos;
mod cli;
mod compare;
mod console;
mod damage;
mod datadir;
mod dlq;
mod export;
mod failures;
mod flow;
mod interop;
mod kafka;
mod logs;
mod membership;
mod metrics;
mod payment;
mod personal;
mod postgres;
mod rebuild;
mod registry;
mod replay_order;
mod schema;
mod tls;
mod traces;
mod waiting;
