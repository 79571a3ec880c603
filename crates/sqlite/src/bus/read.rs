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
