//! Where groups stand: partition ends and starts, committed offsets, where a new
//! subscription starts reading, and each group's lag.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use orderflow_core::bus::{GroupLag, PartitionLag, StartFrom};
use rusqlite::{Connection, OptionalExtension, params};

use super::members::{self, MemberLease};
use crate::db::{from_micros, micros};

pub(super) fn end_offset(conn: &Connection, topic: &str, partition: u32) -> rusqlite::Result<u64> {
    Ok(conn
        .query_row(
            "SELECT next_offset FROM partition_ends WHERE topic = ?1 AND partition = ?2",
            params![topic, partition],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0))
}

pub(super) fn log_start(conn: &Connection, topic: &str, partition: u32) -> rusqlite::Result<u64> {
    let first: Option<u64> = conn.query_row(
        "SELECT MIN(offset) FROM records WHERE topic = ?1 AND partition = ?2",
        params![topic, partition],
        |r| r.get(0),
    )?;
    match first {
        Some(o) => Ok(o),
        None => end_offset(conn, topic, partition),
    }
}

pub(super) type Positions = HashMap<(String, u32), u64>;

/// The offset a group committed for a partition, if any.
pub(super) fn committed_offset(
    conn: &Connection,
    group: &str,
    topic: &str,
    partition: u32,
) -> rusqlite::Result<Option<u64>> {
    conn.query_row(
        "SELECT offset FROM group_offsets WHERE group_id = ?1 AND topic = ?2 AND partition = ?3",
        params![group, topic, partition],
        |r| r.get(0),
    )
    .optional()
}

/// Stores a group's offset in a partition (parameters: group, topic, partition, offset).
pub(super) const SAVE_OFFSET_SQL: &str = "INSERT INTO group_offsets (group_id, topic, partition, offset) \
    VALUES (?1, ?2, ?3, ?4) \
    ON CONFLICT (group_id, topic, partition) DO UPDATE SET offset = excluded.offset";

/// Records that `group` reads `topic`, so that its lag is reported.
pub(super) fn add_group_topic(conn: &Connection, group: &str, topic: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO group_topics (group_id, topic) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
    )?
    .execute(params![group, topic])
    .map(drop)
}

/// Where `start` points in a partition.
pub(super) fn start_offset(
    conn: &Connection,
    topic: &str,
    partition: u32,
    start: StartFrom,
) -> rusqlite::Result<u64> {
    match start {
        StartFrom::Earliest => log_start(conn, topic, partition),
        StartFrom::Latest => end_offset(conn, topic, partition),
        StartFrom::Timestamp(t) => conn
            .query_row(
                // In offset order, stopping at the first match: there is no time index.
                "SELECT offset FROM records WHERE topic = ?1 AND partition = ?2 AND timestamp >= ?3 \
                 ORDER BY offset LIMIT 1",
                params![topic, partition, micros(t)],
                |r| r.get::<_, u64>(0),
            )
            .optional()?
            .map_or_else(|| end_offset(conn, topic, partition), Ok),
    }
}

/// Each partition's starting offset, and the sequence number to scan after.
pub(super) fn start_positions(
    conn: &Connection,
    group: &str,
    topics: &[String],
    partitions: u32,
    start: StartFrom,
) -> rusqlite::Result<(Positions, i64)> {
    let mut positions = HashMap::new();
    let mut cursor: Option<i64> = None;
    for topic in topics {
        for p in 0..partitions {
            let offset = match committed_offset(conn, group, topic, p)? {
                Some(o) => o,
                None => start_offset(conn, topic, p, start)?,
            };
            let first_seq: Option<i64> = conn.query_row(
                "SELECT MIN(seq) FROM records WHERE topic = ?1 AND partition = ?2 AND offset >= ?3",
                params![topic, p, offset],
                |r| r.get(0),
            )?;
            if let Some(seq) = first_seq {
                cursor = Some(cursor.map_or(seq - 1, |c| c.min(seq - 1)));
            }
            positions.insert((topic.clone(), p), offset);
        }
    }
    let cursor = match cursor {
        Some(c) => c,
        None => conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM records", [], |r| {
            r.get(0)
        })?,
    };
    Ok((positions, cursor))
}

/// The timestamp of the first record at or after `offset` in a partition: one read of
/// the `(topic, partition, offset)` index.
fn first_timestamp(
    conn: &Connection,
    topic: &str,
    partition: u32,
    offset: u64,
) -> rusqlite::Result<Option<DateTime<Utc>>> {
    conn.prepare_cached(
        "SELECT timestamp FROM records WHERE topic = ?1 AND partition = ?2 AND offset >= ?3 \
         ORDER BY offset LIMIT 1",
    )?
    .query_row(params![topic, partition, offset], |r| r.get::<_, i64>(0))
    .optional()
    .map(|t| t.map(from_micros))
}

/// Every group that ever subscribed: its member and, per partition of its topics, its
/// lag and the timestamp of its oldest unhandled record.
pub(super) fn group_lags(
    conn: &Connection,
    partitions: u32,
    lease: MemberLease,
) -> rusqlite::Result<Vec<GroupLag>> {
    let mut stmt =
        conn.prepare("SELECT group_id, topic FROM group_topics ORDER BY group_id, topic")?;
    let pairs: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut groups: Vec<GroupLag> = Vec::new();
    for (group, topic) in pairs {
        if groups.last().is_none_or(|g| g.group != group) {
            groups.push(GroupLag {
                group: group.clone(),
                partitions: vec![],
                members: members::members(conn, &group, lease)?,
            });
        }
        let entry = groups.last_mut().expect("pushed above");
        for p in 0..partitions {
            let committed = committed_offset(conn, &group, &topic, p)?;
            let end = end_offset(conn, &topic, p)?;
            let from = match committed {
                Some(c) => c,
                None => log_start(conn, &topic, p)?,
            };
            let lag = end.saturating_sub(from);
            let oldest_unhandled = match lag {
                0 => None,
                _ => first_timestamp(conn, &topic, p, from)?,
            };
            entry.partitions.push(PartitionLag {
                topic: topic.clone(),
                partition: p,
                committed,
                end,
                lag,
                oldest_unhandled,
            });
        }
    }
    Ok(groups)
}
