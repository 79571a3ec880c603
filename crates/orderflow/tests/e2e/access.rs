//! Access control of the binary: without tokens the API serves loopback only, and with
//! tokens every route but `GET /health` needs one, the embedded registry's included. And
//! a PostgreSQL URL asking for TLS, which this build lacks, is refused saying so.

use std::process::Stdio;

use reqwest::Method;
use serde_json::json;
use tokio::process::Command;

use crate::support::*;

const SHOP: &str = "shop-e2e-token-0123456789";
const OPERATOR: &str = "operator-e2e-token-0123456789";

/// A deployment whose API takes the tokens of a `--tokens` file, and that file's path.
fn with_tokens_file() -> Res<(Deployment, String)> {
    let deployment = Deployment::new()?;
    let path = deployment.dir.path().join("tokens");
    std::fs::write(
        &path,
        format!("# who may call\nshop {SHOP}\noperator {OPERATOR}\n"),
    )?;
    let path = path.to_str().ok_or("temp path is not UTF-8")?.to_owned();
    Ok((deployment, path))
}

async fn call(api: &Api, method: Method, path: &str, token: Option<&str>) -> Res<u16> {
    let mut request = api.client.request(method, format!("{}{path}", api.base));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    Ok(request.send().await?.status().as_u16())
}

#[tokio::test]
async fn without_tokens_an_address_other_than_loopback_is_refused_at_start_saying_why() -> TestResult
{
    let deployment = Deployment::new()?;
    let run = Command::new(env!("CARGO_BIN_EXE_orderflow"))
        .args(["serve", "api", "--http", "0.0.0.0:0", "--data-dir"])
        .arg(deployment.data_dir())
        .env_remove("ORDERFLOW_TOKENS")
        .env_remove("ORDERFLOW_TOKENS_FILE")
        .env_remove("ORDERFLOW_ALLOW_UNAUTHENTICATED")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(PATIENCE, run).await??;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "it started: {stderr}");
    assert!(
        stderr.contains("refusing to serve the API without tokens on 0.0.0.0:0")
            && stderr.contains("--allow-unauthenticated"),
        "{stderr}"
    );
    assert!(
        !deployment.data_dir().join("events.db").exists(),
        "refused before anything was opened"
    );
    Ok(())
}

#[tokio::test]
async fn without_tokens_the_api_answers_only_requests_addressed_to_a_loopback_name() -> TestResult {
    let deployment = Deployment::new()?;
    let process = deployment.start("api", &[]).await?;
    let api = Api::of(&deployment, &process);
    assert_eq!(call(&api, Method::GET, "/orders/x", None).await?, 404);
    // A page whose name was made to resolve to 127.0.0.1 (DNS rebinding) sends its own.
    let rebound = api
        .client
        .get(format!("{}/orders/x", api.base))
        .header("host", "evil.example")
        .send()
        .await?;
    assert_eq!(rebound.status().as_u16(), 403);
    Ok(())
}

#[tokio::test]
async fn with_tokens_a_request_without_one_is_401_and_each_role_does_what_it_may() -> TestResult {
    let (deployment, tokens) = with_tokens_file()?;
    let process = deployment.start("api", &["--tokens", &tokens]).await?;
    let api = Api::of(&deployment, &process);

    let response = api
        .client
        .get(format!("{}/orders/some-order", api.base))
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(
        response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer")
    );
    assert_eq!(call(&api, Method::GET, "/health", None).await?, 200);
    assert_eq!(
        call(
            &api,
            Method::GET,
            "/orders/x",
            Some("not-a-known-token-123")
        )
        .await?,
        401
    );
    assert_eq!(call(&api, Method::GET, "/orders/x", Some(SHOP)).await?, 404);
    assert_eq!(
        call(&api, Method::GET, "/consumers", Some(SHOP)).await?,
        403
    );
    assert_eq!(
        call(&api, Method::GET, "/consumers", Some(OPERATOR)).await?,
        200
    );
    let registry = "/schema-registry/subjects";
    assert_eq!(call(&api, Method::GET, registry, None).await?, 401);
    assert_eq!(call(&api, Method::GET, registry, Some(SHOP)).await?, 200);
    Ok(())
}

#[tokio::test]
async fn an_orderflow_sends_its_registry_token_to_an_external_registry_that_needs_one() -> TestResult
{
    let (registry_host, tokens) = with_tokens_file()?;
    let host = registry_host.start("api", &["--tokens", &tokens]).await?;
    let host_api = Api::of(&registry_host, &host);
    let url = format!("{}/schema-registry", host_api.base);

    // Without a token the schemas cannot be registered: it stops at start, saying so.
    let anonymous = Deployment::new()?;
    let refused = tokio::time::timeout(
        PATIENCE,
        anonymous.command(&[
            "serve",
            "api",
            "--http",
            "127.0.0.1:0",
            "--schema-registry",
            &url,
        ]),
    )
    .await??;
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{stderr}");
    assert!(stderr.contains("401"), "{stderr}");

    // With an operator's token it registers them there.
    let mut deployment = Deployment::new()?;
    deployment
        .env
        .push(("ORDERFLOW_SCHEMA_REGISTRY_TOKEN".into(), OPERATOR.into()));
    let app = deployment
        .start("api", &["--schema-registry", &url])
        .await?;
    let api = Api::of(&deployment, &app);
    let (status, placed) = api
        .send(
            Method::POST,
            "/orders",
            Some(json!({ "customerId": "c-1", "items": [item("X-1", 1, 1.0)] })),
        )
        .await?;
    assert_eq!(status, 202, "{placed}");
    let subjects: Vec<String> = host_api
        .client
        .get(format!("{url}/subjects"))
        .bearer_auth(SHOP)
        .send()
        .await?
        .json()
        .await?;
    assert!(
        subjects.iter().any(|s| s == "orders-OrderCreated"),
        "{subjects:?}"
    );
    Ok(())
}
