//! The Kafka adapter against a real Kafka-protocol broker: the bus contract suite,
//! unchanged, and the consumer loop's dead-lettering.
//!
//! Needs a broker: `ORDERFLOW_TEST_KAFKA_URL=kafka://host:port` (`./scripts/test`
//! starts one). Each test gets its own topics and groups under a fresh prefix.

mod support;

mod contract;
mod dead_letters;
mod published;
