//! A registry router in process, and requests to it that read as the REST calls they are.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request};
use orderflow_core::registry::Registry;
use orderflow_services::http::Access;
use serde_json::Value;
use tower::ServiceExt;

pub type TestResult = Result<(), Box<dyn std::error::Error>>;
pub type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// A fresh registry in memory behind Confluent's REST API.
pub struct App {
    router: Router,
    /// Sent as `Authorization: Bearer …` with every request, when set.
    token: Option<String>,
}

/// An answer: the HTTP status and the JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    /// `(status, error_code)`, for error answers.
    pub fn error(&self) -> (u16, u64) {
        (self.status, self.body["error_code"].as_u64().unwrap_or(0))
    }
}

impl App {
    pub fn new() -> Self {
        Self::over(Registry::default())
    }

    pub fn over(registry: Registry) -> Self {
        Self {
            router: orderflow_services::http::schema_registry(Arc::new(registry)),
            token: None,
        }
    }

    /// A fresh registry behind the access guard, as orderflow serves it.
    pub fn guarded(access: Access) -> Self {
        Self {
            router: orderflow_services::http::guarded_schema_registry(
                Arc::new(Registry::default()),
                access,
            ),
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

    /// Sends a request with an optional raw body and content type.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<(&str, String)>,
    ) -> Res<Answer> {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(token) = &self.token {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        let request = match body {
            Some((content_type, body)) => builder
                .header("content-type", content_type)
                .body(Body::from(body))?,
            None => builder.body(Body::empty())?,
        };
        let response = self.router.clone().oneshot(request).await?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
        assert_eq!(
            content_type,
            "application/vnd.schemaregistry.v1+json",
            "{path}: {}",
            String::from_utf8_lossy(&bytes)
        );
        Ok(Answer {
            status,
            body: serde_json::from_slice(&bytes)?,
        })
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Res<Answer> {
        let body = body.map(|b| ("application/vnd.schemaregistry.v1+json", b.to_string()));
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
        self.post(
            &format!("/subjects/{subject}/versions"),
            serde_json::json!({ "schema": schema.to_string() }),
        )
        .await
    }

    pub async fn set_level(&self, subject: &str, level: &str) -> Res<()> {
        let answer = self
            .put(
                &format!("/config/{subject}"),
                serde_json::json!({ "compatibility": level }),
            )
            .await?;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        Ok(())
    }
}
