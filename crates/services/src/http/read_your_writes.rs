//! Reading one's own writes: a query may name the position a command answered
//! (`?min_position=`), and waits (a bounded while) until the read models reflect it.
//! Some reads also answer `?as_of=` a past moment, from the event store instead.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ApiError, AppState};

/// How long `min_position` waits for the read model at most.
pub const READ_YOUR_WRITES_WAIT: Duration = Duration::from_secs(5);

/// The query of a read from the read models that can also answer as of a past moment.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReadQuery {
    /// Wait (at most 5 s) until the read models reflect this global position (a
    /// command's `position`).
    pub min_position: Option<u64>,
    /// An RFC 3339 moment: the answer as it was then, folded from the event store's
    /// events that occurred by then (not the read models).
    pub as_of: Option<String>,
}

/// The moment an `as_of` names.
pub fn as_of(value: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| ApiError::BadRequest(format!("as_of must be an RFC 3339 time: {e}")))
}

/// Where the read models were when they answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReadAt {
    /// The global position the read models reflect.
    pub position: u64,
    /// Whether they reached `min_position` in time.
    pub caught_up: bool,
}

/// Waits until the read models reflect `min_position` (at most
/// [`READ_YOUR_WRITES_WAIT`]); says where they were and whether they caught up.
pub async fn wait_for(app: &AppState, min_position: Option<u64>) -> Result<ReadAt, ApiError> {
    let deadline = tokio::time::Instant::now() + READ_YOUR_WRITES_WAIT;
    let wanted = min_position.unwrap_or(0);
    loop {
        let position = app
            .read_model
            .position()
            .await
            .map_err(ApiError::read_models)?;
        if position >= wanted {
            return Ok(ReadAt {
                position,
                caught_up: true,
            });
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(ReadAt {
                position,
                caught_up: false,
            });
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
