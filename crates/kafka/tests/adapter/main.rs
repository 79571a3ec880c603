//! The Kafka adapter against Apache Kafka: the bus contract suite, unchanged, and the
//! consumer loop's dead-lettering.
//!
//! Needs a cluster: `ORDERFLOW_TEST_KAFKA_URL=kafka://host:port[,host:port]`
//! (`./scripts/test` starts one with `./scripts/kafka up`). Each test gets its own topics
//! and groups under a fresh prefix, and deletes its topics when it ends.

mod support;

mod contract;
mod dead_letters;
mod published;
