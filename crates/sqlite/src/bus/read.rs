//! Reading records back as they are stored: a key's, or a whole (small) topic's.

use orderflow_core::bus::{BusError, Record};

use super::SqliteBus;
use super::damage::failed;
use super::headers;
use crate::db::{self, from_micros};

impl SqliteBus {
    /// The records a query with `params` selects (its columns those of [`Record`]).
    pub(super) async fn read<P: rusqlite::Params + Send + 'static>(
        &self,
        sql: &'static str,
        params: P,
    ) -> Result<Vec<Record>, BusError> {
        let on = self.shared.clone();
        tokio::task::spawn_blocking(move || -> rusqlite::Result<Vec<Record>> {
            let conn = db::open(&on.path)?;
            conn.prepare(sql)?
                .query_map(params, |r| {
                    Ok(Record {
                        topic: r.get(0)?,
                        partition: r.get(1)?,
                        offset: r.get(2)?,
                        key: r.get(3)?,
                        value: r.get(4)?,
                        headers: headers::decode(&r.get::<_, Vec<u8>>(5)?),
                        timestamp: from_micros(r.get(6)?),
                    })
                })?
                .collect()
        })
        .await
        .map_err(|e| failed(&self.shared, e))?
        .map_err(|e| failed(&self.shared, e))
    }
}

/// The store position a record's `position` header names.
pub(super) fn position_of(headers: &[(String, Vec<u8>)]) -> Option<u64> {
    headers
        .iter()
        .find(|(name, _)| name == "position")
        .and_then(|(_, v)| std::str::from_utf8(v).ok()?.parse::<u64>().ok())
}

/// Where each partition of `topic` that ever had a record begins now.
pub(super) fn retained_starts(
    conn: &rusqlite::Connection,
    topic: &str,
) -> rusqlite::Result<Vec<orderflow_core::bus::RetainedStart>> {
    let mut ends = conn.prepare_cached(
        "SELECT partition, next_offset FROM partition_ends WHERE topic = ?1 ORDER BY partition",
    )?;
    let ends: Vec<(u32, u64)> = ends
        .query_map([topic], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut first = conn.prepare_cached(
        "SELECT offset, headers FROM records WHERE topic = ?1 AND partition = ?2 \
         ORDER BY offset LIMIT 1",
    )?;
    let mut starts = Vec::with_capacity(ends.len());
    for (partition, end) in ends {
        let found: Option<(u64, Vec<u8>)> = first
            .query_row(rusqlite::params![topic, partition], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })?;
        starts.push(match found {
            Some((offset, blob)) => orderflow_core::bus::RetainedStart {
                partition,
                offset,
                position: position_of(&headers::decode(&blob)),
            },
            None => orderflow_core::bus::RetainedStart {
                partition,
                offset: end,
                position: None,
            },
        });
    }
    Ok(starts)
}
