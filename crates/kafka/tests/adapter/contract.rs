//! The bus contract suite, unchanged, on a Kafka-protocol broker.

use crate::support::isolated_bus;

orderflow_core::event_bus_contract!(isolated_bus());
