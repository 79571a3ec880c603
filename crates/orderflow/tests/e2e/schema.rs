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
        out.contains("compatible with 2 version(s) under BACKWARD_TRANSITIVE"),
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
    assert!(out.contains("'customerId'"), "{out}");
    assert!(
        out.contains("stored events written with schema"),
        "the stored order cannot be read: {out}"
    );
    Ok(())
}
