//! The registry behind the access guard: Confluent's 40101 and 40301 for a missing or
//! weak token, each role's writes, and no POST a web page could send cross-site.

use axum::http::Method;
use orderflow_services::http::{Access, Tokens};
use serde_json::json;

use crate::support::*;

const SHOP: &str = "shop-token-0123456789";
const OPERATOR: &str = "operator-token-0123456789";
const ADMIN: &str = "admin-token-0123456789";

fn guarded() -> Res<RegistryApp> {
    let mut tokens = Tokens::new();
    tokens.add_list(&format!("shop:{SHOP},operator:{OPERATOR},admin:{ADMIN}"))?;
    Ok(RegistryApp::guarded(Access::with(tokens)))
}

fn schema() -> serde_json::Value {
    json!({ "schema": json!({ "type": "record", "name": "A", "fields": [] }).to_string() })
}

#[tokio::test]
async fn without_a_token_or_with_an_unknown_one_the_registry_answers_40101() -> TestResult {
    let app = guarded()?;
    for token in [None, Some("unknown-token-0123456789")] {
        let caller = app.with_token(token);
        assert_eq!(caller.get("/subjects").await?.code(), (401, 40101));
        let register = caller.post("/subjects/s/versions", schema()).await?;
        assert_eq!(register.code(), (401, 40101));
    }
    Ok(())
}

#[tokio::test]
async fn a_shop_token_reads_and_looks_up_but_registering_is_40301() -> TestResult {
    let app = guarded()?;
    let operator = app.with_token(Some(OPERATOR));
    assert_eq!(
        operator
            .post("/subjects/s/versions", schema())
            .await?
            .status,
        200
    );
    let shop = app.with_token(Some(SHOP));
    assert_eq!(shop.get("/subjects").await?.body, json!(["s"]));
    assert_eq!(shop.post("/subjects/s", schema()).await?.status, 200);
    let register = shop.post("/subjects/t/versions", schema()).await?;
    assert_eq!(register.code(), (403, 40301));
    assert!(
        register.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("operator")),
        "{:?}",
        register.body
    );
    assert_eq!(shop.delete("/subjects/s").await?.code(), (403, 40301));
    Ok(())
}

#[tokio::test]
async fn the_global_level_and_permanent_deletes_need_an_admin() -> TestResult {
    let app = guarded()?;
    let operator = app.with_token(Some(OPERATOR));
    let admin = app.with_token(Some(ADMIN));
    operator.post("/subjects/s/versions", schema()).await?;
    let level = json!({ "compatibility": "NONE" });
    assert_eq!(operator.put("/config/s", level.clone()).await?.status, 200);
    assert_eq!(
        operator.put("/config", level.clone()).await?.code(),
        (403, 40301)
    );
    assert_eq!(admin.put("/config", level).await?.status, 200);
    assert_eq!(operator.delete("/subjects/s").await?.status, 200);
    let permanent = "/subjects/s?permanent=true";
    assert_eq!(operator.delete(permanent).await?.code(), (403, 40301));
    assert_eq!(admin.delete(permanent).await?.status, 200);
    Ok(())
}

#[tokio::test]
async fn without_tokens_a_post_with_no_json_content_type_is_refused_as_a_cross_site_one()
-> TestResult {
    let app = RegistryApp::guarded(Access::Open);
    let body = schema().to_string();
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let answer = app
            .send(
                Method::POST,
                "/subjects/s/versions",
                Some((content_type, body.clone())),
            )
            .await?;
        assert_eq!(answer.code(), (415, 415), "{content_type}");
    }
    let bare = app.send(Method::POST, "/subjects/s/versions", None).await?;
    assert_eq!(bare.code(), (415, 415));
    assert_eq!(app.register("s", &json!("int")).await?.status, 200);
    Ok(())
}

#[tokio::test]
async fn with_a_token_a_post_without_a_content_type_reaches_the_registry() -> TestResult {
    let app = guarded()?.with_token(Some(OPERATOR));
    // No content type: read as JSON, as Confluent's registry does.
    let answer = app.send(Method::POST, "/subjects/s/versions", None).await?;
    assert_eq!(answer.code(), (400, 400), "{:?}", answer.body);
    Ok(())
}
