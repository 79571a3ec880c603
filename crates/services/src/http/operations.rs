//! What an operator watches: whether the service is healthy, and how far behind each
//! reader of the events is.
//!
//! - `operations/health.rs`: `GET /health`, for probes.
//! - `operations/consumers.rs`: `GET /consumers`, consumer groups, dead letters and the
//!   event store's readers, with their lag.
//! - `operations/replay.rs`: `POST /consumers/{group}/replay`, a stopped group moved
//!   back to the beginning or a moment.
//! - `operations/dlq.rs`: `/dlq`, the parked records: list, show, replay, discard.
//! - `operations/projections.rs`: `/projections/rebuild`, read models made again beside
//!   the live ones.
//! - `operations/pipeline.rs`: `GET /pipeline`, orders per stage and groups at a glance.
//! - `operations/metrics.rs`: `GET /metrics`, whatever the binary's recorder renders.
//! - `operations/forget.rs`: `POST /customers/{customer_id}/forget`, a customer's
//!   personal data forgotten.

use super::AppState;
use super::routes::Routes;

pub mod consumers;
pub mod dlq;
pub mod forget;
pub mod health;
pub mod metrics;
pub mod pipeline;
pub mod projections;
pub mod replay;

/// The routes of operations.
pub fn routes(routes: Routes<AppState>) -> Routes<AppState> {
    routes
        .get("/consumers", consumers::consumers)
        .post("/consumers/{group}/replay", replay::replay)
        .post("/customers/{customer_id}/forget", forget::forget)
        .get("/dlq", dlq::list)
        .post("/dlq/replay", dlq::replay_all)
        .get("/dlq/{id}", dlq::show)
        .post("/dlq/{id}/replay", dlq::replay)
        .post("/dlq/{id}/discard", dlq::discard)
        .get("/health", health::health)
        .get("/pipeline", pipeline::pipeline)
        .post("/projections/rebuild", projections::start)
        .get("/projections/rebuild", projections::progress)
}
