//! Analytics as it stood at a past moment ("what did the dashboard say at 15:00"),
//! answered from the event store: every event that occurred by then, in global order,
//! through the same [`changes_at`](super::changes_at) the analytics group applies.
//! It reads the whole store up to the moment, so it costs a scan of history.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use orderflow_core::read_model::{AnalyticsChange, AnalyticsSummary};

use crate::context::{Recorder, ServiceError};

/// Events read at a time.
const PAGE: usize = 1000;

/// Orders per status and revenue per day from the events that occurred by `at`, with
/// the position of the last of them (0 when none had).
pub async fn summary_as_of(
    recorder: &Recorder,
    at: DateTime<Utc>,
) -> Result<(AnalyticsSummary, u64), ServiceError> {
    let mut status: HashMap<String, String> = HashMap::new();
    let mut revenue: BTreeMap<String, i64> = BTreeMap::new();
    let (mut after, mut last) = (0, 0);
    loop {
        let page = recorder.read_all(after, PAGE).await?;
        let Some((end, _)) = page.last() else { break };
        after = end.position;
        for (stored, event) in page.iter().filter(|(e, _)| e.occurred_at <= at) {
            last = stored.position;
            for change in super::changes_at(event, stored.occurred_at) {
                match change {
                    AnalyticsChange::OrderStatus {
                        order_id,
                        status: s,
                    } => {
                        status.insert(order_id, s);
                    }
                    AnalyticsChange::Revenue { day, delta_cents } => {
                        *revenue.entry(day).or_default() += delta_cents;
                    }
                }
            }
        }
    }
    let mut orders_by_status = BTreeMap::new();
    for s in status.into_values() {
        *orders_by_status.entry(s).or_default() += 1;
    }
    Ok((
        AnalyticsSummary {
            orders_by_status,
            revenue_cents_by_day: revenue,
        },
        last,
    ))
}
