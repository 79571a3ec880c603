//! The schema registry's router alone, at its root, and requests to it that read as
//! Confluent's REST calls; every answer must be in Confluent's content type.

use std::sync::Arc;

use axum::Router;
use axum::http::Method;
use orderflow_core::registry::Registry;
use orderflow_services::http::{self, Access};
use serde_json::{Value, json};

use super::{Answer, Res, answer, request};

/// Confluent's content type, which every answer of the registry has.
pub const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

/// A registry behind Confluent's REST API.
pub struct RegistryApp {
    router: Router,
    /// Sent as `Authorization: Bearer …` with every request, when set.
    token: Option<String>,
}

impl RegistryApp {
    /// A fresh registry in memory.
    pub fn new() -> Self {
        Self::over(Registry::default())
    }

    pub fn over(registry: Registry) -> Self {
        Self {
            router: http::schema_registry(Arc::new(registry)),
            token: None,
        }
    }

    /// A fresh registry behind the access guard, as orderflow serves it.
    pub fn guarded(access: Access) -> Self {
        Self {
            router: http::guarded_schema_registry(Arc::new(Registry::default()), access),
            token: None,
        }
    }

    /// The same registry, called with `token` (or none).
    pub fn with_token(&self, token: Option<&str>) -> Self {
        Self {
            router: self.router.clone(),
            token: token.map(str::to_owned),
        }
    }

    /// The router itself, for requests the helpers do not make.
    pub fn router(&self) -> &Router {
        &self.router
    }

    /// Sends a request with an optional raw body and content type.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<(&str, String)>,
    ) -> Res<Answer> {
        let request = request(method, path, self.token.as_deref(), body)?;
        let answer = answer(&self.router, request).await?;
        assert_eq!(answer.content_type, CONTENT_TYPE, "{path}: {}", answer.body);
        Ok(answer)
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Res<Answer> {
        let body = body.map(|b| (CONTENT_TYPE, b.to_string()));
        self.send(method, path, body).await
    }

    pub async fn get(&self, path: &str) -> Res<Answer> {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Res<Answer> {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Res<Answer> {
        self.call(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Res<Answer> {
        self.call(Method::DELETE, path, None).await
    }

    /// Registers `schema` (a JSON value, sent as its text) and returns the answer.
    pub async fn register(&self, subject: &str, schema: &Value) -> Res<Answer> {
        let body = json!({ "schema": schema.to_string() });
        self.post(&format!("/subjects/{subject}/versions"), body)
            .await
    }

    pub async fn set_level(&self, subject: &str, level: &str) -> Res<()> {
        let body = json!({ "compatibility": level });
        let answer = self.put(&format!("/config/{subject}"), body).await?;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        Ok(())
    }
}
