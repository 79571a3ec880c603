use super::*;

fn record(fields: &str) -> String {
    format!(r#"{{"type":"record","name":"Thing","fields":[{fields}]}}"#)
}

const A_INT: &str = r#"{"name":"a","type":"int"}"#;

#[tokio::test]
async fn the_same_schema_keeps_its_id_and_version() -> Result<(), RegistryError> {
    let registry = InMemoryRegistry::default();
    let first = registry
        .register_version("t-Thing", &record(A_INT), &[])
        .await?;
    // The same schema, spelled differently, is the same schema.
    let spaced = record(A_INT).replace(',', " , ");
    let again = registry.register_version("t-Thing", &spaced, &[]).await?;
    assert_eq!((first.id, first.version), (again.id, again.version));
    assert_eq!(registry.versions("t-Thing", false).await?.len(), 1);
    Ok(())
}

#[tokio::test]
async fn a_field_added_with_a_default_is_a_new_version() -> Result<(), RegistryError> {
    let registry = InMemoryRegistry::default();
    registry
        .register_version("t-Thing", &record(A_INT), &[])
        .await?;
    let v2 = registry
        .register_version(
            "t-Thing",
            &record(&format!(
                r#"{A_INT},{{"name":"b","type":"string","default":"x"}}"#
            )),
            &[],
        )
        .await?;
    assert_eq!(v2.version, 2);
    assert_eq!(
        registry
            .version("t-Thing", VersionRef::Latest, false)
            .await?
            .id,
        v2.id
    );
    Ok(())
}

#[tokio::test]
async fn a_field_added_without_a_default_is_refused_naming_the_field() -> Result<(), RegistryError>
{
    let registry = InMemoryRegistry::default();
    registry
        .register_version("t-Thing", &record(A_INT), &[])
        .await?;
    let err = registry
        .register_version(
            "t-Thing",
            &record(&format!(r#"{A_INT},{{"name":"b","type":"string"}}"#)),
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(err.error_code(), 40901);
    let message = err.to_string();
    assert!(message.contains("BACKWARD_TRANSITIVE"), "{message}");
    assert!(
        message.contains("'b'") && message.contains("default"),
        "{message}"
    );
    Ok(())
}

#[tokio::test]
async fn a_changed_type_is_refused() -> Result<(), RegistryError> {
    let registry = InMemoryRegistry::default();
    registry
        .register_version("t-Thing", &record(A_INT), &[])
        .await?;
    let err = registry
        .register_version("t-Thing", &record(r#"{"name":"a","type":"string"}"#), &[])
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("TYPE_MISMATCH") && message.contains("/fields/0/type"),
        "{message}"
    );
    Ok(())
}

#[tokio::test]
async fn removing_a_field_without_a_default_breaks_forward_compatibility()
-> Result<(), RegistryError> {
    let registry = InMemoryRegistry::default();
    registry
        .set_level(Some("t-Thing"), CompatibilityLevel::Forward)
        .await?;
    registry
        .register_version(
            "t-Thing",
            &record(&format!(r#"{A_INT},{{"name":"b","type":"long"}}"#)),
            &[],
        )
        .await?;
    let err = registry
        .register_version("t-Thing", &record(A_INT), &[])
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("FORWARD") && message.contains("'b'"),
        "{message}"
    );
    Ok(())
}

#[tokio::test]
async fn transitive_levels_check_every_version_not_just_the_latest() -> Result<(), RegistryError> {
    let v1 = record(A_INT);
    let v2 = record(r#"{"name":"c","type":"int","default":0}"#);
    let v3 = record(r#"{"name":"a","type":"string","default":""}"#);
    let lenient = InMemoryRegistry::default();
    lenient
        .set_level(None, CompatibilityLevel::Backward)
        .await?;
    for schema in [&v1, &v2, &v3] {
        lenient.register_version("t-Thing", schema, &[]).await?;
    }
    let strict = InMemoryRegistry::default();
    strict.register_version("t-Thing", &v1, &[]).await?;
    strict.register_version("t-Thing", &v2, &[]).await?;
    let err = strict
        .register_version("t-Thing", &v3, &[])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("{oldSchemaVersion: 1}"), "{err}");
    Ok(())
}

#[tokio::test]
async fn an_invalid_schema_is_a_42201() {
    let registry = InMemoryRegistry::default();
    let err = registry
        .register_version("t-Thing", r#"{"type":"nope"}"#, &[])
        .await
        .unwrap_err();
    assert_eq!(err.error_code(), 42201);
    let err = registry
        .register_version("t-Thing", "not json", &[])
        .await
        .unwrap_err();
    assert_eq!(err.error_code(), 42201);
}

#[tokio::test]
async fn lookups_name_what_is_missing() -> Result<(), RegistryError> {
    let registry = InMemoryRegistry::default();
    assert_eq!(
        registry
            .versions("nope", false)
            .await
            .unwrap_err()
            .error_code(),
        40401
    );
    let v1 = registry
        .register_version("t-Thing", &record(A_INT), &[])
        .await?;
    assert_eq!(
        registry
            .lookup("t-Thing", &record(A_INT), &[], false)
            .await?,
        v1
    );
    let unknown = record(r#"{"name":"z","type":"int"}"#);
    assert_eq!(
        registry
            .lookup("t-Thing", &unknown, &[], false)
            .await
            .unwrap_err()
            .error_code(),
        40403
    );
    let err = registry
        .version("t-Thing", VersionRef::Number(9), false)
        .await
        .unwrap_err();
    assert_eq!(err.error_code(), 40402);
    assert_eq!(registry.schema(999).await.unwrap_err().error_code(), 40403);
    assert!("0".parse::<VersionRef>().is_err());
    Ok(())
}

#[tokio::test]
async fn the_default_level_is_backward_transitive_and_levels_parse() -> Result<(), RegistryError> {
    let registry = InMemoryRegistry::default();
    assert_eq!(
        registry.level("any").await?,
        CompatibilityLevel::BackwardTransitive
    );
    registry.set_level(None, "full".parse()?).await?;
    assert_eq!(registry.level("any").await?, CompatibilityLevel::Full);
    registry
        .set_level(Some("any"), CompatibilityLevel::None)
        .await?;
    assert_eq!(registry.level("any").await?, CompatibilityLevel::None);
    assert_eq!(
        "SIDEWAYS"
            .parse::<CompatibilityLevel>()
            .unwrap_err()
            .error_code(),
        42203
    );
    Ok(())
}

async fn refused_under_backward(old: &str, new: &str) -> Result<String, RegistryError> {
    let registry = InMemoryRegistry::default();
    registry
        .set_level(None, CompatibilityLevel::Backward)
        .await?;
    registry.register_version("t-Thing", old, &[]).await?;
    match registry.register_version("t-Thing", new, &[]).await {
        Ok(v) => panic!("{new} was registered after {old} as version {}", v.version),
        Err(e) => Ok(e.to_string()),
    }
}

#[tokio::test]
async fn a_union_narrowed_to_one_of_its_branches_is_refused() -> Result<(), RegistryError> {
    let message = refused_under_backward(r#"["int","string"]"#, r#""int""#).await?;
    // Avro Java tries the reader against each writer branch: the string one fails.
    assert!(
        message.contains("TYPE_MISMATCH") && message.contains("path '/1'"),
        "{message}"
    );
    refused_under_backward(r#"["null","string"]"#, r#""string""#).await?;
    let message = refused_under_backward(
        &record(r#"{"name":"a","type":["null","int"]}"#),
        &record(A_INT),
    )
    .await?;
    assert!(message.contains("'/fields/0/type/0'"), "{message}");
    Ok(())
}

#[tokio::test]
async fn enum_symbols_the_reader_lacks_are_refused_unless_it_has_a_default()
-> Result<(), RegistryError> {
    let e = |symbols: &str, default: &str| {
        format!(r#"{{"type":"enum","name":"E","symbols":[{symbols}]{default}}}"#)
    };
    let message = refused_under_backward(&e(r#""A","B","C""#, ""), &e(r#""A","B""#, "")).await?;
    assert!(
        message.contains("MISSING_ENUM_SYMBOLS") && message.contains("'[C]'"),
        "{message}"
    );
    let field = |schema: String| record(&format!(r#"{{"name":"e","type":{schema}}}"#));
    let message =
        refused_under_backward(&field(e(r#""A","B","C""#, "")), &field(e(r#""A","B""#, "")))
            .await?;
    assert!(message.contains("/fields/0/type/symbols"), "{message}");

    let registry = InMemoryRegistry::default();
    registry
        .set_level(None, CompatibilityLevel::Backward)
        .await?;
    registry
        .register_version("t-E", &e(r#""A","B","C""#, ""), &[])
        .await?;
    let v2 = registry
        .register_version("t-E", &e(r#""A","B""#, r#","default":"A""#), &[])
        .await?;
    assert_eq!(v2.version, 2);
    Ok(())
}
