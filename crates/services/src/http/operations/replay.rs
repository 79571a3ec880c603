//! `POST /consumers/{group}/replay`: moves a stopped consumer group's offsets back, to
//! the beginning of history or to a moment, so that it replays from there when it
//! starts again (what `orderflow replay` does, for the console and for tools).

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use orderflow_core::bus::{BusError, StartFrom};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::handlers::{GROUPS, group};
use crate::http::error::ErrorBody;
use crate::http::extract::{Body, PathParams};
use crate::http::{ApiError, AppState};

/// Where `POST /consumers/{group}/replay` moves the group.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayFrom {
    /// `beginning`, or an RFC 3339 moment: the first record at or after it.
    from: String,
}

/// What the group was moved to.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Replaying {
    group: String,
    /// Partitions moved.
    partitions: usize,
    /// Of them, those moved past offset 0.
    past_the_start: usize,
}

/// `POST /consumers/{group}/replay`.
#[utoipa::path(
    post,
    path = "/consumers/{group}/replay",
    operation_id = "replay_group",
    tag = "operations",
    summary = "Replay a stopped group from the beginning or a moment",
    description = "Moves the group's committed offsets so that it replays from the \
        beginning of history (`from: beginning`) or from the first record at or after a \
        moment; it takes effect when the group starts again. Refused while the group has \
        live members, whose commits would undo it.",
    params(("group" = String, Path, description = "A service's consumer group.")),
    request_body = ReplayFrom,
    responses(
        (status = 200, description = "Moved.", body = Replaying),
        (status = 404, description = "No such group.", body = ErrorBody),
        (status = 409, description = "The group has live members: stop them first.",
            body = ErrorBody),
        (status = 422, description = "`from` is neither `beginning` nor a moment.",
            body = ErrorBody),
    ),
)]
pub async fn replay(
    State(app): State<AppState>,
    PathParams(name): PathParams<String>,
    Body(request): Body<ReplayFrom>,
) -> Result<Json<Replaying>, ApiError> {
    let Some(found) = group(&name) else {
        let known: Vec<&str> = GROUPS.iter().map(|g| g.name).collect();
        return Err(ApiError::NotFound(format!(
            "no consumer group {name:?}: one of {}",
            known.join(", ")
        )));
    };
    let to = match request.from.as_str() {
        "beginning" => StartFrom::Earliest,
        moment => StartFrom::Timestamp(
            DateTime::parse_from_rfc3339(moment)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| {
                    ApiError::Unprocessable(format!(
                        "from must be `beginning` or an RFC 3339 moment: {e}"
                    ))
                })?,
        ),
    };
    let offsets = app
        .bus
        .reset_offsets(found.name, &found.topic_names(), to)
        .await
        .map_err(|e| match e {
            BusError::GroupActive { reason, .. } => ApiError::Conflict(reason),
            other => ApiError::Internal(other.into()),
        })?;
    Ok(Json(Replaying {
        group: name,
        partitions: offsets.len(),
        past_the_start: offsets.iter().filter(|o| o.offset > 0).count(),
    }))
}
