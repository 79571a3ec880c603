//! Read-model generation scenarios: a next generation is written beside the live read
//! models, which answer as before until it is swapped in whole, and only once it has
//! caught up with them.

use std::sync::Arc;

use chrono::Utc;
use uuid::Uuid;

use super::read_model::{at, next as offset, order, paid};
use crate::read_model::generations::{ReadModelGenerations, RebuildProgress, Rebuilt, Swap};
use crate::read_model::{AnalyticsStore, ReadModel, ReadModelBatch};

fn batch(id: &str, status: &str, position: u64) -> ReadModelBatch {
    ReadModelBatch {
        forgotten: Vec::new(),
        orders: vec![order(id, "c-1", 1_000, status)],
        stock: vec![],
        position,
    }
}

async fn status<M: ReadModel>(model: &M, id: &str) -> Option<String> {
    model.order(id).await.unwrap().map(|o| o.status)
}

pub async fn the_live_views_answer_until_the_next_generation_is_swapped_in<
    G: ReadModelGenerations,
    M: ReadModel + AnalyticsStore,
>(
    generations: Arc<G>,
    live: Arc<M>,
) {
    live.apply(batch("o-1", "PENDING", 1)).await.unwrap();
    let next = generations.begin().await.unwrap();
    next.views.apply(batch("o-1", "SHIPPED", 3)).await.unwrap();
    next.views.apply(batch("o-2", "PENDING", 4)).await.unwrap();
    assert_eq!(
        status(live.as_ref(), "o-1").await.as_deref(),
        Some("PENDING")
    );
    assert_eq!(
        generations.swap(&[Rebuilt::Views]).await.unwrap(),
        Swap::Swapped
    );
    assert_eq!(
        status(live.as_ref(), "o-1").await.as_deref(),
        Some("SHIPPED")
    );
    assert_eq!(
        status(live.as_ref(), "o-2").await.as_deref(),
        Some("PENDING")
    );
    assert_eq!(live.position().await.unwrap(), 4);
    // Written again after the swap, the live views go on as usual.
    live.apply(batch("o-2", "CONFIRMED", 5)).await.unwrap();
    assert_eq!(
        status(live.as_ref(), "o-2").await.as_deref(),
        Some("CONFIRMED")
    );
}

pub async fn a_next_generation_behind_the_live_views_is_not_swapped_in<
    G: ReadModelGenerations,
    M: ReadModel + AnalyticsStore,
>(
    generations: Arc<G>,
    live: Arc<M>,
) {
    live.apply(batch("o-1", "SHIPPED", 5)).await.unwrap();
    let next = generations.begin().await.unwrap();
    next.views
        .apply(batch("o-1", "CONFIRMED", 3))
        .await
        .unwrap();
    assert!(matches!(
        generations.swap(&[Rebuilt::Views]).await.unwrap(),
        Swap::Behind(_)
    ));
    assert_eq!(
        status(live.as_ref(), "o-1").await.as_deref(),
        Some("SHIPPED")
    );
    assert_eq!(live.position().await.unwrap(), 5);
    next.views.apply(batch("o-1", "SHIPPED", 5)).await.unwrap();
    assert_eq!(
        generations.swap(&[Rebuilt::Views]).await.unwrap(),
        Swap::Swapped
    );
    assert_eq!(live.position().await.unwrap(), 5);
}

/// The live projections may store a batch they made before a swap over the read models
/// swapped in: behind them, it changes nothing.
pub async fn a_batch_behind_the_views_changes_nothing<
    G: ReadModelGenerations,
    M: ReadModel + AnalyticsStore,
>(
    _generations: Arc<G>,
    live: Arc<M>,
) {
    live.apply(batch("o-1", "SHIPPED", 5)).await.unwrap();
    live.apply(batch("o-1", "CONFIRMED", 4)).await.unwrap();
    live.apply(batch("o-1", "CONFIRMED", 5)).await.unwrap();
    assert_eq!(
        status(live.as_ref(), "o-1").await.as_deref(),
        Some("SHIPPED")
    );
    assert_eq!(live.position().await.unwrap(), 5);
}

/// Analytics is swapped in only once it has counted every event the live analytics
/// counted; it keeps the live bus offsets, so the consumer goes on where it was and
/// skips what the rebuild counted ahead of it.
pub async fn rebuilt_analytics_keeps_the_bus_offsets_and_counts_each_event_once<
    G: ReadModelGenerations,
    M: ReadModel + AnalyticsStore,
>(
    generations: Arc<G>,
    live: Arc<M>,
) {
    let (first, second) = (Uuid::new_v4(), Uuid::new_v4());
    live.record(at(0, 0, first, paid(100))).await.unwrap();
    let next = generations.begin().await.unwrap();
    assert!(matches!(
        generations.swap(&[Rebuilt::Analytics]).await.unwrap(),
        Swap::Behind(_)
    ));
    next.analytics
        .count_events(vec![(first, paid(100)), (second, paid(50))])
        .await
        .unwrap();
    assert_eq!(
        generations.swap(&[Rebuilt::Analytics]).await.unwrap(),
        Swap::Swapped
    );
    assert_eq!(live.offsets().await.unwrap().next, [offset(0, 1)]);
    assert_eq!(
        live.summary().await.unwrap().revenue_cents_by_day["2026-01-01"],
        150
    );
    // The consumer now delivers the second event: counted already.
    assert!(!live.record(at(0, 1, second, paid(50))).await.unwrap());
    assert_eq!(
        live.summary().await.unwrap().revenue_cents_by_day["2026-01-01"],
        150
    );
    assert_eq!(live.offsets().await.unwrap().next, [offset(0, 2)]);
}

pub async fn swapping_the_views_alone_leaves_analytics_as_it_was<
    G: ReadModelGenerations,
    M: ReadModel + AnalyticsStore,
>(
    generations: Arc<G>,
    live: Arc<M>,
) {
    live.record(at(0, 0, Uuid::new_v4(), paid(100)))
        .await
        .unwrap();
    let next = generations.begin().await.unwrap();
    next.views.apply(batch("o-1", "PENDING", 1)).await.unwrap();
    assert_eq!(
        generations.swap(&[Rebuilt::Views]).await.unwrap(),
        Swap::Swapped
    );
    assert_eq!(
        live.summary().await.unwrap().revenue_cents_by_day["2026-01-01"],
        100
    );
    assert_eq!(
        status(live.as_ref(), "o-1").await.as_deref(),
        Some("PENDING")
    );
}

pub async fn beginning_again_drops_an_unfinished_generation<
    G: ReadModelGenerations,
    M: ReadModel + AnalyticsStore,
>(
    generations: Arc<G>,
    live: Arc<M>,
) {
    let next = generations.begin().await.unwrap();
    next.views.apply(batch("o-1", "PENDING", 9)).await.unwrap();
    drop(next);
    let next = generations.begin().await.unwrap();
    assert_eq!(next.views.position().await.unwrap(), 0);
    assert_eq!(next.views.order("o-1").await.unwrap(), None);
    generations.discard().await.unwrap();
    assert_eq!(live.position().await.unwrap(), 0);
}

pub async fn a_rebuilds_progress_is_kept_beside_the_live_read_models<
    G: ReadModelGenerations,
    M: ReadModel + AnalyticsStore,
>(
    generations: Arc<G>,
    _live: Arc<M>,
) {
    assert_eq!(generations.progress().await.unwrap(), None);
    let at = chrono::DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).unwrap();
    let mut progress = RebuildProgress {
        models: vec![Rebuilt::Views, Rebuilt::Analytics],
        done: 10,
        total: 100,
        started_at: at,
        updated_at: at,
        finished_at: None,
        outcome: None,
    };
    generations.record_progress(&progress).await.unwrap();
    assert_eq!(
        generations.progress().await.unwrap(),
        Some(progress.clone())
    );
    progress.done = 100;
    progress.finished_at = Some(at);
    progress.outcome = Some("swapped".into());
    generations.record_progress(&progress).await.unwrap();
    assert_eq!(generations.progress().await.unwrap(), Some(progress));
}
