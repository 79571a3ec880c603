//! The bus contract suite, unchanged, on Apache Kafka.

use crate::support::isolated_bus;

orderflow_core::event_bus_contract!(isolated_bus());
