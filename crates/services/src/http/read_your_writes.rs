//! Reading one's own writes: a query may name the position a command answered
//! (`?min_position=`), and waits (a bounded while) until the read models reflect it.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ApiError, AppState};

/// How long `min_position` waits for the read model at most.
pub const READ_YOUR_WRITES_WAIT: Duration = Duration::from_secs(5);

/// The query of a read from the read models.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MinPosition {
    /// Wait (at most 5 s) until the read models reflect this global position (a
    /// command's `position`).
    pub min_position: Option<u64>,
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
