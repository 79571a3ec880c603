//! Group-commit scenarios: what an event store's group-commit writer counts about its own
//! commits adds up to the appends it committed, however they were grouped. Also the
//! helper the adapters' own group-commit tests share.

use std::future::Future;
use std::sync::Arc;
use std::task::Poll;

use crate::commit_stats::GroupCommitStats;
use crate::contract::store::request;
use crate::store::{EventStore, ExpectedVersion, StoreError};

/// An event store whose appends go through a group-commit writer that counts its
/// commits.
pub trait CountsCommits {
    /// What the appends' group commits did so far.
    fn commit_stats(&self) -> GroupCommitStats;
}

/// Polls every future to completion, all in one task: each write queues itself on its
/// first poll, so all of them are queued before any is waited for.
pub async fn join_all<F: Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut pending: Vec<_> = futures.map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut all = true;
        for (future, output) in pending.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(done) => *output = Some(done),
                    Poll::Pending => all = false,
                }
            }
        }
        if all { Poll::Ready(()) } else { Poll::Pending }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// A refused request is decided inside a group that still commits: it counts as a
/// write of a committed group, not as a failed commit.
pub async fn a_refused_append_is_a_write_of_a_committed_group<S>(store: Arc<S>)
where
    S: EventStore + CountsCommits,
{
    let before = store.commit_stats();
    store
        .append(vec![request("refused", ExpectedVersion::NoStream, 1)])
        .await
        .expect("the first append");
    let refused = store
        .append(vec![request("refused", ExpectedVersion::NoStream, 1)])
        .await;
    assert!(refused.is_err(), "{refused:?}");
    let counted = store.commit_stats().since(&before);
    assert_eq!(
        (
            counted.commits_total,
            counted.writes_total,
            counted.failures_total
        ),
        (2, 2, 0)
    );
}

/// Many writers appending at once: however the appends were grouped, the groups add up
/// to every append, each group's commit is timed once, and none failed.
pub async fn the_groups_of_many_writers_add_up_to_all_their_appends<S>(store: Arc<S>)
where
    S: EventStore + CountsCommits + 'static,
{
    const WRITERS: usize = 64;
    const APPENDS: usize = 20;
    let before = store.commit_stats();
    let mut tasks = tokio::task::JoinSet::new();
    for writer in 0..WRITERS {
        let store = store.clone();
        tasks.spawn(async move {
            for i in 0..APPENDS {
                let stream = format!("many-{writer}-{i}");
                store
                    .append(vec![request(&stream, ExpectedVersion::NoStream, 1)])
                    .await?;
            }
            Ok::<_, StoreError>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("a writer panicked").expect("an append failed");
    }
    let counted = store.commit_stats().since(&before);
    let appends = (WRITERS * APPENDS) as u64;
    assert_eq!(counted.writes_total, appends);
    assert!(
        (1..=appends).contains(&counted.commits_total),
        "{counted:?}"
    );
    assert_eq!(
        counted.commit_seconds_counts.iter().sum::<u64>(),
        counted.commits_total
    );
    assert_eq!(counted.failures_total, 0);
}
