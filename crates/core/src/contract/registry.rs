//! Schema-registry storage scenarios, through the registry's rules.

use std::sync::Arc;

use crate::registry::{
    CompatibilityLevel, Registry, RegistryError, SchemaRegistry, SchemaStore, VersionRef,
};

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
    let latest = registry.version("s-T", VersionRef::Latest).await.unwrap();
    assert_eq!((latest.version, latest.id), (2, id_b));
    let first = registry
        .version("s-T", VersionRef::Number(1))
        .await
        .unwrap();
    assert_eq!(first.id, id_a);
    assert_eq!(registry.subjects().await.unwrap(), ["other-T", "s-T"]);
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
    assert_eq!(refused.error_code(), 409, "{refused}");
    let latest = registry.version("s-T", VersionRef::Latest).await.unwrap();
    assert_eq!(latest.version, 1, "nothing was stored");
}

pub async fn an_unknown_id_is_not_found<S: SchemaStore + 'static>(store: Arc<S>) {
    let registry = registry(store);
    assert!(matches!(
        registry.schema(4242).await,
        Err(RegistryError::SchemaNotFound(4242))
    ));
}
