//! `orderflow schema check`: the CI gate for schema changes.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::support::*;

fn repo_schemas() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas")
}

/// A copy of the repository's schemas, with `edit` applied to one file.
fn schemas_with(dir: &Path, file: &str, edit: impl FnOnce(&mut serde_json::Value)) -> Res<PathBuf> {
    let out = dir.join("schemas-under-review");
    std::fs::create_dir_all(&out)?;
    for entry in std::fs::read_dir(repo_schemas())? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "avsc") {
            std::fs::copy(&path, out.join(path.file_name().ok_or("name")?))?;
        }
    }
    let path = out.join(file);
    let mut schema: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
    edit(&mut schema);
    std::fs::write(&path, schema.to_string())?;
    Ok(out)
}

async fn check(deployment: &Deployment, schemas: &Path, extra: &[&str]) -> Res<(bool, String)> {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_orderflow"))
        .args(["schema", "check", "--data-dir"])
        .arg(deployment.data_dir())
        .arg("--schemas")
        .arg(schemas)
        .args(extra)
        .output()
        .await?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok((out.status.success(), text))
}

fn fields(schema: &mut serde_json::Value) -> &mut Vec<serde_json::Value> {
    schema["fields"].as_array_mut().expect("a record")
}

#[tokio::test]
async fn schema_check_passes_safe_changes_and_fails_breaking_ones_with_a_reason() -> TestResult {
    let deployment = Deployment::new()?;
    let mut app = deployment.start("api", &[]).await?;
    Api::of(&deployment, &app)
        .place("c-s", json!([item("A", 1, 1.0)]))
        .await?;
    app.terminate().await?;

    let (ok, out) = check(&deployment, &repo_schemas(), &["--against-data"]).await?;
    assert!(ok, "{out}");
    assert!(
        out.contains("ok     orders-OrderCreated: registered"),
        "{out}"
    );

    let dir = tempfile::tempdir()?;
    let safe = schemas_with(dir.path(), "OrderCreated.avsc", |s| {
        fields(s).push(json!({"name": "giftWrap", "type": "boolean", "default": false}));
    })?;
    let (ok, out) = check(&deployment, &safe, &["--against-data"]).await?;
    assert!(ok, "{out}");
    assert!(
        out.contains("compatible with 3 version(s) under BACKWARD_TRANSITIVE"),
        "{out}"
    );

    let dir = tempfile::tempdir()?;
    let no_default = schemas_with(dir.path(), "OrderCreated.avsc", |s| {
        fields(s).push(json!({"name": "giftWrap", "type": "boolean"}));
    })?;
    let (ok, out) = check(&deployment, &no_default, &[]).await?;
    assert!(!ok, "{out}");
    assert!(out.contains("BREAK  orders-OrderCreated"), "{out}");
    assert!(
        out.contains("'giftWrap'") && out.contains("default"),
        "{out}"
    );

    let dir = tempfile::tempdir()?;
    let retyped = schemas_with(dir.path(), "OrderCreated.avsc", |s| {
        fields(s)[1] = json!({"name": "customerId", "type": "long"});
    })?;
    let (ok, out) = check(&deployment, &retyped, &["--against-data"]).await?;
    assert!(!ok, "{out}");
    assert!(
        out.contains("TYPE_MISMATCH") && out.contains("'/fields/1/type'"),
        "{out}"
    );
    assert!(
        out.contains("stored events written with schema"),
        "the stored order cannot be read: {out}"
    );
    Ok(())
}

#[tokio::test]
async fn a_legacy_event_in_the_store_is_upcast_and_the_order_flows_to_shipped() -> TestResult {
    use apache_avro::types::Value as Avro;
    use orderflow_core::registry::{Registry, SchemaRegistry};
    use orderflow_core::{AppendRequest, EventStore, ExpectedVersion, NewEvent};

    let deployment = Deployment::new()?;
    let app = deployment.start("run", &[]).await?;
    let api = Api::of(&deployment, &app);
    api.set_stock("SKU-OLD", 10).await?;

    // What the predecessor system wrote: an OrderPlaced, amounts in cents.
    let events_db = deployment.data_dir().join("events.db");
    let registry = Registry::new(orderflow_sqlite::SqliteSchemaStore::open(&events_db)?);
    let (_, legacy_text) = orderflow_core::codec::LEGACY_FILES[0];
    let legacy_id = registry.register("orders-OrderPlaced", legacy_text).await?;
    let legacy = apache_avro::Schema::parse_str(legacy_text)?;
    let line = Avro::Record(vec![
        ("sku".into(), "SKU-OLD".into()),
        ("qty".into(), Avro::Int(2)),
        ("priceCents".into(), Avro::Long(1250)),
    ]);
    let record = Avro::Record(vec![
        ("orderId".into(), "legacy-7".into()),
        ("customer".into(), "c-old".into()),
        ("lines".into(), Avro::Array(vec![line])),
        ("totalCents".into(), Avro::Long(2500)),
        (
            "placedAt".into(),
            Avro::Long(chrono::Utc::now().timestamp_millis()),
        ),
    ]);
    let payload = apache_avro::writer::datum::GenericDatumWriter::builder(&legacy)
        .build()?
        .write_value_to_vec(record)?;
    let store = orderflow_sqlite::SqliteEventStore::open(&events_db)?;
    store
        .append(vec![AppendRequest {
            stream_id: "order-legacy-7".into(),
            expected: ExpectedVersion::NoStream,
            events: vec![NewEvent {
                event_id: uuid::Uuid::new_v4(),
                event_type: "OrderPlaced".into(),
                schema_id: legacy_id,
                payload,
                occurred_at: chrono::Utc::now(),
                correlation_id: "legacy-7".into(),
                causation_id: None,
                actor: "legacy-import".into(),
                trace_context: None,
            }],
        }])
        .await?;

    let order = api.wait_status("legacy-7", "SHIPPED").await?;
    assert_eq!(order["customerId"], "c-old");
    assert_eq!(order["totalAmount"], 25.0);
    let history = api.history("legacy-7").await?;
    assert_eq!(history[0]["type"], "OrderPlaced");
    assert_eq!(
        history[0]["data"]["customerId"], "c-old",
        "read in the current shape"
    );
    Ok(())
}

/// `orderflow schema check` on its own, with `args` after `schema check`; returns
/// (exit code, stdout and stderr).
async fn check_with(args: &[&str]) -> Res<(Option<i32>, String)> {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_orderflow"))
        .args(["schema", "check"])
        .args(args)
        .output()
        .await?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok((out.status.code(), text))
}

#[tokio::test]
async fn on_postgres_schema_check_passes_safe_changes_and_names_the_subject_and_reason_of_breaking_ones()
-> TestResult {
    let url = fresh_postgres_database().await?;
    let deployment = Deployment::new()?;
    let store = ["--store", url.as_str(), "--db-max-connections", "4"];
    let mut app = deployment.start("api", &store).await?;
    Api::of(&deployment, &app)
        .place("c-pg", json!([item("A", 1, 1.0)]))
        .await?;
    app.terminate().await?;
    assert!(
        !deployment.data_dir().join("events.db").exists(),
        "the events are in PostgreSQL only"
    );
    let store = ["--store", url.as_str()];
    let against_data = [&store[..], &["--against-data"]].concat();

    let (ok, out) = check(&deployment, &repo_schemas(), &against_data).await?;
    assert!(ok, "{out}");
    assert!(
        out.contains("ok     orders-OrderCreated: registered"),
        "{out}"
    );
    assert!(out.contains("stored event(s) decode"), "{out}");

    let dir = tempfile::tempdir()?;
    let safe = schemas_with(dir.path(), "OrderCreated.avsc", |s| {
        fields(s).push(json!({"name": "giftWrap", "type": "boolean", "default": false}));
    })?;
    let (ok, out) = check(&deployment, &safe, &against_data).await?;
    assert!(ok, "{out}");
    assert!(
        out.contains("compatible with 3 version(s) under BACKWARD_TRANSITIVE"),
        "{out}"
    );

    let dir = tempfile::tempdir()?;
    let no_default = schemas_with(dir.path(), "OrderCreated.avsc", |s| {
        fields(s).push(json!({"name": "giftWrap", "type": "boolean"}));
    })?;
    let (ok, out) = check(&deployment, &no_default, &store).await?;
    assert!(!ok, "{out}");
    assert!(out.contains("BREAK  orders-OrderCreated"), "{out}");
    assert!(
        out.contains("'giftWrap'") && out.contains("default"),
        "{out}"
    );

    let dir = tempfile::tempdir()?;
    let retyped = schemas_with(dir.path(), "OrderCreated.avsc", |s| {
        fields(s)[1] = json!({"name": "customerId", "type": "long"});
    })?;
    let (ok, out) = check(&deployment, &retyped, &against_data).await?;
    assert!(!ok, "{out}");
    assert!(out.contains("BREAK  orders-OrderCreated"), "{out}");
    assert!(
        out.contains("TYPE_MISMATCH") && out.contains("'/fields/1/type'"),
        "{out}"
    );
    assert!(
        out.contains("stored events written with schema") && out.contains("cannot be read"),
        "the stored order cannot be read: {out}"
    );
    Ok(())
}

#[tokio::test]
async fn schema_check_refuses_a_postgres_database_without_this_build_s_migrations_and_leaves_it_unchanged()
-> TestResult {
    let schemas = repo_schemas();
    let schemas = schemas.to_str().ok_or("path")?;

    // A database orderflow never used: refused, and no table appears.
    let url = fresh_postgres_database().await?;
    let (code, out) = check_with(&["--schemas", schemas, "--store", &url]).await?;
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("no orderflow event store"), "{out}");
    let db = sqlx::PgPool::connect(&url).await?;
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .fetch_one(&db)
    .await?;
    assert_eq!(tables, 0, "the check created tables");

    // A database one migration behind: refused, and the migration is not run.
    let migrated = tokio::process::Command::new(env!("CARGO_BIN_EXE_orderflow"))
        .args(["migrate", "--store", &url])
        .output()
        .await?;
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    sqlx::query(
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT max(version) FROM _sqlx_migrations)",
    )
    .execute(&db)
    .await?;
    let applied =
        || sqlx::query_scalar::<_, i64>("SELECT count(*) FROM _sqlx_migrations").fetch_one(&db);
    let behind = applied().await?;
    let (code, out) = check_with(&["--schemas", schemas, "--store", &url]).await?;
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("lacks migrations") && out.contains("orderflow migrate"),
        "{out}"
    );
    assert_eq!(applied().await?, behind, "the check ran a migration");
    Ok(())
}

#[tokio::test]
async fn schema_check_says_which_postgres_database_or_server_it_cannot_reach() -> TestResult {
    let schemas = repo_schemas();
    let schemas = schemas.to_str().ok_or("path")?;
    let url = fresh_postgres_database().await?;
    let (server, _) = url.rsplit_once('/').ok_or("database URL without a path")?;

    let missing = format!(
        "{server}/orderflow_missing_{}",
        uuid::Uuid::new_v4().simple()
    );
    let (code, out) = check_with(&["--schemas", schemas, "--store", &missing]).await?;
    assert_eq!(code, Some(1), "an error, not a panic: {out}");
    assert!(
        out.contains("cannot connect to PostgreSQL at") && out.contains("does not exist"),
        "{out}"
    );

    // A port nothing listens on any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let unreachable = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    let (code, out) = check_with(&[
        "--schemas",
        schemas,
        "--store",
        &unreachable,
        "--db-acquire-timeout-ms",
        "500",
    ])
    .await?;
    assert_eq!(code, Some(1), "an error, not a panic: {out}");
    assert!(
        out.contains(&format!(
            "no PostgreSQL server answered at 127.0.0.1:{port}/postgres"
        )),
        "{out}"
    );
    Ok(())
}
