//! The embedded schema registry over HTTP, in Confluent's dialect.

use serde_json::{Value, json};

use crate::support::*;

async fn call(
    api: &Api,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Res<(u16, Value)> {
    let mut req = api
        .client
        .request(method, format!("{}/schema-registry{path}", api.base));
    if let Some(body) = body {
        req = req
            .header("content-type", "application/vnd.schemaregistry.v1+json")
            .body(body.to_string());
    }
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "application/vnd.schemaregistry.v1+json");
    Ok((status, resp.json().await?))
}

fn thing(fields: &str) -> Value {
    json!({ "schema": format!(r#"{{"type":"record","name":"Thing","fields":[{fields}]}}"#) })
}

#[tokio::test]
async fn the_registry_speaks_confluents_rest_api() -> TestResult {
    use reqwest::Method;
    let deployment = Deployment::new()?;
    let app = deployment.start("api", &[]).await?;
    let api = Api::of(&deployment, &app);

    let (status, subjects) = call(&api, Method::GET, "/subjects", None).await?;
    assert_eq!(status, 200);
    assert!(
        subjects
            .as_array()
            .is_some_and(|s| s.contains(&json!("orders-OrderCreated"))),
        "{subjects}"
    );
    let (_, latest) = call(
        &api,
        Method::GET,
        "/subjects/orders-OrderCreated/versions/latest",
        None,
    )
    .await?;
    let id = latest["id"].as_u64().ok_or("no id")?;
    let (_, by_id) = call(&api, Method::GET, &format!("/schemas/ids/{id}"), None).await?;
    assert_eq!(by_id["schema"], latest["schema"]);

    let (_, config) = call(&api, Method::GET, "/config", None).await?;
    assert_eq!(config["compatibilityLevel"], "BACKWARD_TRANSITIVE");

    let v1 = thing(r#"{"name":"a","type":"int"}"#);
    let (status, registered) = call(
        &api,
        Method::POST,
        "/subjects/t-Thing/versions",
        Some(v1.clone()),
    )
    .await?;
    assert_eq!(status, 200, "{registered}");
    let (_, again) = call(
        &api,
        Method::POST,
        "/subjects/t-Thing/versions",
        Some(v1.clone()),
    )
    .await?;
    assert_eq!(registered["id"], again["id"]);
    let (_, found) = call(&api, Method::POST, "/subjects/t-Thing", Some(v1)).await?;
    assert_eq!(
        (found["version"].as_u64(), &found["id"]),
        (Some(1), &registered["id"])
    );

    let breaking = thing(r#"{"name":"a","type":"int"},{"name":"b","type":"string"}"#);
    let (status, check) = call(
        &api,
        Method::POST,
        "/compatibility/subjects/t-Thing/versions/latest",
        Some(breaking.clone()),
    )
    .await?;
    assert_eq!((status, &check["is_compatible"]), (200, &json!(false)));
    let (status, refused) = call(
        &api,
        Method::POST,
        "/subjects/t-Thing/versions",
        Some(breaking),
    )
    .await?;
    assert_eq!((status, &refused["error_code"]), (409, &json!(40901)));
    assert!(
        refused["message"]
            .as_str()
            .is_some_and(|m| m.contains("'b'")),
        "{refused}"
    );

    let (status, invalid) = call(
        &api,
        Method::POST,
        "/subjects/t-Thing/versions",
        Some(json!({"schema": "{\"type\":\"nope\"}"})),
    )
    .await?;
    assert_eq!((status, &invalid["error_code"]), (422, &json!(42201)));

    let (status, set) = call(
        &api,
        Method::PUT,
        "/config/t-Thing",
        Some(json!({"compatibility": "NONE"})),
    )
    .await?;
    assert_eq!((status, &set["compatibility"]), (200, &json!("NONE")));
    let (status, _) = call(
        &api,
        Method::POST,
        "/subjects/t-Thing/versions",
        Some(thing(r#"{"name":"b","type":"string"}"#)),
    )
    .await?;
    assert_eq!(status, 200);
    let (_, versions) = call(&api, Method::GET, "/subjects/t-Thing/versions", None).await?;
    assert_eq!(versions, json!([1, 2]));

    for (path, code) in [
        ("/subjects/nope/versions", 40401),
        ("/subjects/t-Thing/versions/9", 40402),
        ("/schemas/ids/9999", 40403),
        ("/config/never-configured", 40408),
    ] {
        let (status, err) = call(&api, Method::GET, path, None).await?;
        assert_eq!((status, &err["error_code"]), (404, &json!(code)), "{path}");
    }
    Ok(())
}

/// Registers `n` schemas that orderflow does not use in the registry kept in `data_dir`,
/// before any orderflow opens it: the ids orderflow's own schemas get there come after
/// them.
async fn register_unrelated_schemas(data_dir: &std::path::Path, n: usize) -> TestResult {
    std::fs::create_dir_all(data_dir)?;
    let store = orderflow_sqlite::SqliteSchemaStore::open(&data_dir.join("events.db"))?;
    let registry = orderflow_core::registry::Registry::new(store);
    for i in 0..n {
        let schema = format!(r#"{{"type":"record","name":"Unrelated{i}","fields":[]}}"#);
        registry
            .register_version(&format!("other-Unrelated{i}"), &schema, &[])
            .await?;
    }
    Ok(())
}

/// The record name of the schema a registry at `api` has under `id` (its last part).
async fn record_name(api: &Api, id: &Value) -> Res<String> {
    let (status, found) = api
        .get(&format!("/schema-registry/schemas/ids/{id}"))
        .await?;
    assert_eq!(status, 200, "schema {id}: {found}");
    let schema: Value = serde_json::from_str(found["schema"].as_str().ok_or("no schema")?)?;
    let name = schema["name"].as_str().ok_or("a schema without a name")?;
    Ok(name.rsplit('.').next().unwrap_or(name).to_owned())
}

#[tokio::test]
async fn with_an_external_registry_configured_orderflow_uses_it_for_every_schema() -> TestResult {
    // One orderflow serves as "the" registry; a second one is configured to use it. The
    // host's registry held other schemas first, so its ids for orderflow's schemas are
    // not the ones a registry of orderflow's own hands out.
    let registry_host = Deployment::new()?;
    register_unrelated_schemas(&registry_host.data_dir(), 5).await?;
    let host = registry_host.start("api", &[]).await?;
    let host_api = Api::of(&registry_host, &host);
    let url = format!("{}/schema-registry", host_api.base);
    let latest_id = |api: Api| async move {
        let (_, latest) = api
            .get("/schema-registry/subjects/orders-OrderCreated/versions/latest")
            .await?;
        Res::Ok(latest["id"].clone())
    };
    let standalone = Deployment::new()?;
    let own = standalone.start("api", &[]).await?;
    let own_id = latest_id(Api::of(&standalone, &own)).await?;
    let host_id = latest_id(host_api.clone()).await?;
    assert!(own_id.is_u64() && host_id.is_u64(), "{own_id} {host_id}");
    assert_ne!(own_id, host_id, "the host's ids are its own");

    let deployment = Deployment::new()?;
    let app = deployment
        .start("run", &["--schema-registry", &url])
        .await?;
    let api = Api::of(&deployment, &app);
    api.set_stock("X-1", 3).await?;
    let (order_id, _) = api.place("c-ext", json!([item("X-1", 1, 1.0)])).await?;
    api.wait_status(&order_id, "SHIPPED").await?;

    let history = api.history(&order_id).await?;
    assert_eq!(
        history[0]["schemaId"], host_id,
        "ids come from the external registry"
    );
    // Every event was written under the host's id for its own type.
    for event in &history {
        let named = record_name(&host_api, &event["schemaId"]).await?;
        assert_eq!(event["type"], named.as_str(), "{event}");
    }
    let (status, _) = api.get("/schema-registry/subjects").await?;
    assert_eq!(
        status, 404,
        "no embedded registry is served beside an external one"
    );
    Ok(())
}
