//! Schema-registry storage scenarios, through the registry's rules.

use std::sync::Arc;

use crate::registry::{
    CompatibilityLevel, Registry, RegistryError, SchemaReference, SchemaRegistry, SchemaStore,
    SchemaUsage, VersionRef,
};
use crate::store::{EventStore, ExpectedVersion};

const A: &str = r#"{"type":"record","name":"T","fields":[{"name":"a","type":"int"}]}"#;
const B: &str = r#"{"type":"record","name":"T","fields":[{"name":"a","type":"int"},{"name":"b","type":"int","default":1}]}"#;
const BREAKING: &str = r#"{"type":"record","name":"T","fields":[{"name":"a","type":"string"}]}"#;

fn registry<S: SchemaStore + 'static>(store: Arc<S>) -> Registry {
    Registry::shared(store)
}

pub async fn a_schema_has_one_id_across_subjects_and_versions_count_up<S: SchemaStore + 'static>(
    store: Arc<S>,
) {
    let registry = registry(store);
    let id_a = registry.register("s-T", A).await.unwrap();
    let id_b = registry.register("s-T", B).await.unwrap();
    assert_ne!(id_a, id_b);
    assert_eq!(
        registry.register("s-T", A).await.unwrap(),
        id_a,
        "same schema, same id"
    );
    assert_eq!(
        registry.register("other-T", A).await.unwrap(),
        id_a,
        "one id per schema"
    );
    let latest = registry
        .version("s-T", VersionRef::Latest, false)
        .await
        .unwrap();
    assert_eq!((latest.version, latest.id), (2, id_b));
    let first = registry
        .version("s-T", VersionRef::Number(1), false)
        .await
        .unwrap();
    assert_eq!(first.id, id_a);
    assert_eq!(registry.subjects(false).await.unwrap(), ["other-T", "s-T"]);
    assert!(registry.schema(id_b).await.unwrap().contains("\"b\""));
}

pub async fn compatibility_levels_are_kept_per_subject_and_globally<S: SchemaStore + 'static>(
    store: Arc<S>,
) {
    let registry = registry(store);
    assert_eq!(
        registry.level("s-T").await.unwrap(),
        CompatibilityLevel::BackwardTransitive,
        "the default"
    );
    registry
        .set_level(None, CompatibilityLevel::Forward)
        .await
        .unwrap();
    registry
        .set_level(Some("s-T"), CompatibilityLevel::Full)
        .await
        .unwrap();
    assert_eq!(
        registry.level("s-T").await.unwrap(),
        CompatibilityLevel::Full
    );
    assert_eq!(
        registry.level("other-T").await.unwrap(),
        CompatibilityLevel::Forward,
        "the global level where a subject has none"
    );
}

pub async fn an_incompatible_schema_is_refused_and_not_stored<S: SchemaStore + 'static>(
    store: Arc<S>,
) {
    let registry = registry(store);
    registry.register("s-T", A).await.unwrap();
    let refused = registry.register("s-T", BREAKING).await.unwrap_err();
    assert_eq!(refused.error_code(), 40901, "{refused}");
    let latest = registry
        .version("s-T", VersionRef::Latest, false)
        .await
        .unwrap();
    assert_eq!(latest.version, 1, "nothing was stored");
}

pub async fn an_unknown_id_is_not_found<S: SchemaStore + 'static>(store: Arc<S>) {
    let registry = registry(store);
    assert!(matches!(
        registry.schema(4242).await,
        Err(RegistryError::SchemaNotFound(4242))
    ));
}

pub async fn a_schema_comes_back_as_it_was_registered<S: SchemaStore + 'static>(store: Arc<S>) {
    let registry = registry(store);
    let written =
        r#"{ "type": "record", "name": "T", "fields": [ {"type": "int", "name": "a"} ] }"#;
    let id = registry.register("s-T", written).await.unwrap();
    let compact = r#"{"type":"record","name":"T","fields":[{"type":"int","name":"a"}]}"#;
    assert_eq!(
        registry.schema(id).await.unwrap(),
        compact,
        "key order kept"
    );
    let reordered = r#"{"name":"T","type":"record","fields":[{"name":"a","type":"int"}]}"#;
    assert_eq!(
        registry.register("s-T", reordered).await.unwrap(),
        id,
        "the same schema, spelled differently"
    );
}

pub async fn soft_deleted_versions_are_hidden_and_permanent_deletes_free_the_id<
    S: SchemaStore + 'static,
>(
    store: Arc<S>,
) {
    let registry = registry(store);
    let id_a = registry.register("s-T", A).await.unwrap();
    let id_b = registry.register("s-T", B).await.unwrap();
    let latest = VersionRef::Latest;
    assert_eq!(
        registry.delete_version("s-T", latest, false).await.unwrap(),
        2
    );
    let live = registry.version("s-T", latest, false).await.unwrap();
    assert_eq!((live.version, live.id), (1, id_a), "version 2 is hidden");
    let again = registry
        .delete_version("s-T", VersionRef::Number(2), false)
        .await;
    assert_eq!(again.unwrap_err().error_code(), 40406);
    let with_deleted = registry.versions("s-T", true).await.unwrap();
    assert_eq!(with_deleted.len(), 2);
    assert!(with_deleted[1].deleted);
    assert_eq!(
        registry.schema(id_b).await.unwrap().len(),
        B.len(),
        "still readable by id"
    );

    let live_first = registry
        .delete_version("s-T", VersionRef::Number(1), true)
        .await;
    assert_eq!(live_first.unwrap_err().error_code(), 40407);
    registry
        .delete_version("s-T", VersionRef::Number(2), true)
        .await
        .unwrap();
    assert_eq!(registry.schema(id_b).await.unwrap_err().error_code(), 40403);
    assert_eq!(
        registry
            .delete_subject("s-T", true)
            .await
            .unwrap_err()
            .error_code(),
        40405
    );
    assert_eq!(registry.delete_subject("s-T", false).await.unwrap(), [1]);
    assert_eq!(
        registry
            .delete_subject("s-T", false)
            .await
            .unwrap_err()
            .error_code(),
        40404
    );
    assert_eq!(
        registry.subjects(false).await.unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(registry.subjects(true).await.unwrap(), ["s-T"]);
    assert_eq!(registry.delete_subject("s-T", true).await.unwrap(), [1]);
    assert_eq!(registry.subjects(true).await.unwrap(), Vec::<String>::new());
    let id_c = registry.register("s-T", BREAKING).await.unwrap();
    assert!(id_c > id_b, "ids are never reused");
}

pub async fn a_soft_deleted_schema_registered_again_is_a_new_version_with_its_id<
    S: SchemaStore + 'static,
>(
    store: Arc<S>,
) {
    let registry = registry(store);
    let id = registry.register("s-T", A).await.unwrap();
    registry
        .delete_version("s-T", VersionRef::Latest, false)
        .await
        .unwrap();
    assert_eq!(registry.register("s-T", A).await.unwrap(), id);
    let latest = registry
        .version("s-T", VersionRef::Latest, false)
        .await
        .unwrap();
    assert_eq!((latest.version, latest.id), (2, id));
    let of_id = registry.versions_of_id(id, true).await.unwrap();
    assert_eq!(of_id.len(), 2);
}

pub async fn references_are_kept_with_their_schema<S: SchemaStore + 'static>(store: Arc<S>) {
    let registry = registry(store);
    let address = r#"{"type":"record","name":"Address","namespace":"shop","fields":[{"name":"city","type":"string"}]}"#;
    registry.register("address", address).await.unwrap();
    let refs = [SchemaReference {
        name: "shop.Address".into(),
        subject: "address".into(),
        version: 1,
    }];
    let customer = r#"{"type":"record","name":"Customer","namespace":"shop","fields":[{"name":"home","type":"Address"}]}"#;
    let v = registry
        .register_version("customer", customer, &refs)
        .await
        .unwrap();
    let stored = registry.schema_by_id(v.id).await.unwrap();
    assert_eq!(stored.references, refs);
    let looked_up = registry
        .lookup("customer", customer, &refs, false)
        .await
        .unwrap();
    assert_eq!(looked_up.version, 1);
    let used = registry
        .delete_version("address", VersionRef::Number(1), false)
        .await;
    assert_eq!(used.unwrap_err().error_code(), 42206);
    let missing = [SchemaReference {
        version: 7,
        ..refs[0].clone()
    }];
    let err = registry
        .register_version("customer", customer, &missing)
        .await
        .unwrap_err();
    assert_eq!(err.error_code(), 42201, "{err}");
}

/// A schema store and the event store it shares a database with, which it counts the
/// events of each schema in ([`SchemaUsage`]).
#[derive(Debug)]
pub struct WithEvents<S, E> {
    pub schemas: Arc<S>,
    pub events: E,
}

pub async fn a_schema_stored_events_use_is_not_deleted_for_good<S, E>(stores: Arc<WithEvents<S, E>>)
where
    S: SchemaStore + SchemaUsage + 'static,
    E: EventStore,
{
    let usage: Arc<dyn SchemaUsage> = stores.schemas.clone();
    let registry = Registry::shared(stores.schemas.clone()).with_usage(usage);
    let used = registry.register("s-T", A).await.unwrap();
    let unused = registry.register("u-T", B).await.unwrap();
    let mut written = super::store::request("order-a", ExpectedVersion::NoStream, 2);
    for event in &mut written.events {
        event.schema_id = used;
    }
    stores.events.append(vec![written]).await.unwrap();
    for subject in ["s-T", "u-T"] {
        registry
            .delete_version(subject, VersionRef::Latest, false)
            .await
            .unwrap();
    }

    let refused = registry
        .delete_version("s-T", VersionRef::Number(1), true)
        .await
        .unwrap_err();
    assert_eq!(refused.error_code(), 42205, "{refused}");
    assert!(refused.to_string().contains("2 event(s)"), "{refused}");
    assert_eq!(registry.schema(used).await.unwrap(), A, "still readable");
    let kept = registry.versions("s-T", true).await.unwrap();
    assert_eq!(kept.len(), 1, "the soft-deleted version is kept");

    registry
        .delete_version("u-T", VersionRef::Number(1), true)
        .await
        .unwrap();
    let gone = registry.schema(unused).await.unwrap_err();
    assert_eq!(
        gone.error_code(),
        40403,
        "a schema no event uses goes: {gone}"
    );
}
