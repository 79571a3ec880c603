//! Key-store scenarios: one key per subject for writing, read back by its number,
//! destroyed for good by forgetting, and a new number for a subject heard of again.

use std::sync::Arc;

use chrono::{TimeZone, Utc};

use crate::keys::{KeyLookup, KeyStore};

fn live(lookup: KeyLookup) -> crate::keys::DataKey {
    match lookup {
        KeyLookup::Live(key) => key,
        other => panic!("expected a live key, got {other:?}"),
    }
}

pub async fn a_subject_writes_with_one_key_until_it_is_forgotten<K: KeyStore>(keys: Arc<K>) {
    let first = keys.key_for_writing("c-1").await.unwrap();
    let again = keys.key_for_writing("c-1").await.unwrap();
    assert_eq!(first, again);
    assert_eq!(first.generation, 1);
    assert_eq!(keys.live_subjects().await.unwrap(), 1);
}

pub async fn concurrent_first_writers_of_a_subject_get_one_key<K: KeyStore + 'static>(
    keys: Arc<K>,
) {
    let writers: Vec<_> = (0..16)
        .map(|_| {
            let keys = keys.clone();
            tokio::spawn(async move { keys.key_for_writing("c-1").await.unwrap() })
        })
        .collect();
    let mut made = Vec::new();
    for writer in writers {
        made.push(writer.await.unwrap());
    }
    assert!(made.windows(2).all(|w| w[0] == w[1]), "{made:?}");
}

pub async fn a_key_is_read_back_by_its_subject_and_number<K: KeyStore>(keys: Arc<K>) {
    let written = keys.key_for_writing("c-1").await.unwrap();
    assert_eq!(
        live(keys.key("c-1", written.generation).await.unwrap()),
        written.key
    );
    assert_eq!(keys.key("c-1", 2).await.unwrap(), KeyLookup::Unknown);
    assert_eq!(keys.key("c-2", 1).await.unwrap(), KeyLookup::Unknown);
}

pub async fn forgetting_destroys_every_key_of_the_subject_and_remembers_when<K: KeyStore>(
    keys: Arc<K>,
) {
    let written = keys.key_for_writing("c-1").await.unwrap();
    let at = Utc.with_ymd_and_hms(2026, 12, 7, 15, 0, 0).unwrap();
    let forgotten = keys.forget("c-1", at).await.unwrap();
    assert_eq!((forgotten.destroyed, forgotten.at), (1, at));
    assert_eq!(
        keys.key("c-1", written.generation).await.unwrap(),
        KeyLookup::Destroyed { forgotten_at: at }
    );
    assert_eq!(keys.live_subjects().await.unwrap(), 0);

    let later = at + chrono::Duration::hours(1);
    let again = keys.forget("c-1", later).await.unwrap();
    assert_eq!(again.destroyed, 0, "nothing left to destroy");
    assert_eq!(
        keys.key("c-1", written.generation).await.unwrap(),
        KeyLookup::Destroyed { forgotten_at: at },
        "a key is destroyed once, when it was"
    );
}

pub async fn a_subject_heard_of_after_forgetting_gets_a_key_of_the_next_number<K: KeyStore>(
    keys: Arc<K>,
) {
    let old = keys.key_for_writing("c-1").await.unwrap();
    let at = Utc.with_ymd_and_hms(2026, 12, 7, 15, 0, 0).unwrap();
    keys.forget("c-1", at).await.unwrap();
    let new = keys.key_for_writing("c-1").await.unwrap();
    assert_eq!(new.generation, old.generation + 1);
    assert_ne!(new.key, old.key);
    assert_eq!(
        keys.key("c-1", old.generation).await.unwrap(),
        KeyLookup::Destroyed { forgotten_at: at }
    );
    assert_eq!(
        live(keys.key("c-1", new.generation).await.unwrap()),
        new.key
    );
}

pub async fn forgetting_one_subject_leaves_the_others_keys<K: KeyStore>(keys: Arc<K>) {
    let kept = keys.key_for_writing("c-2").await.unwrap();
    keys.key_for_writing("c-1").await.unwrap();
    keys.forget("c-1", Utc::now()).await.unwrap();
    assert_eq!(live(keys.key("c-2", 1).await.unwrap()), kept.key);
    assert_eq!(keys.key_for_writing("c-2").await.unwrap(), kept);
    assert_eq!(keys.live_subjects().await.unwrap(), 1);
}
