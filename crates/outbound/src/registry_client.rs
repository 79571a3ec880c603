//! A client for an external, Confluent-compatible schema registry (the scale-out
//! deployment's), used instead of the embedded one when `ORDERFLOW_SCHEMA_REGISTRY_URL`
//! is set.

use std::time::Duration;

use async_trait::async_trait;
use orderflow_core::registry::{RegistryError, SchemaRegistry};
use serde_json::{Value, json};

const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

#[derive(Clone)]
pub struct HttpSchemaRegistry {
    base: String,
    client: reqwest::Client,
    /// Sent as `Authorization: Bearer …` with every request, when set.
    token: Option<String>,
}

impl std::fmt::Debug for HttpSchemaRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSchemaRegistry")
            .field("base", &self.base)
            .field("token", &self.token.as_ref().map(|_| "…"))
            .finish_non_exhaustive()
    }
}

fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> RegistryError {
    RegistryError::Unavailable(Box::new(e))
}

impl HttpSchemaRegistry {
    /// `base` is the registry's URL, e.g. `http://registry:8081`. Every request is
    /// bounded in time, so a registry that hangs is an error the caller retries rather
    /// than a consumer stuck for good.
    pub fn new(base: &str) -> Result<Self, RegistryError> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(unavailable)?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            client,
            token: None,
        })
    }

    /// Sends `token` as a bearer token with every request (an orderflow's embedded
    /// registry with tokens configured needs an operator one to register schemas).
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.client.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Turns an error answer into the registry error it stands for.
    async fn answer(resp: reqwest::Response, subject: &str) -> Result<Value, RegistryError> {
        let status = resp.status();
        let body: Value = resp.json().await.map_err(unavailable)?;
        if status.is_success() {
            return Ok(body);
        }
        let message = body["message"].as_str().unwrap_or("no message").to_owned();
        Err(match body["error_code"].as_u64() {
            Some(409 | 40901) => RegistryError::Incompatible {
                subject: subject.to_owned(),
                level: Default::default(),
                messages: vec![message],
            },
            Some(42201) => RegistryError::InvalidSchema {
                subject: subject.to_owned(),
                reason: message,
            },
            Some(40401) => RegistryError::SubjectNotFound(subject.to_owned()),
            _ => {
                RegistryError::Unavailable(format!("registry answered {status}: {message}").into())
            }
        })
    }
}

#[async_trait]
impl SchemaRegistry for HttpSchemaRegistry {
    async fn register(&self, subject: &str, schema: &str) -> Result<u32, RegistryError> {
        let resp = self
            .request(
                reqwest::Method::POST,
                &format!("/subjects/{subject}/versions"),
            )
            .header("content-type", CONTENT_TYPE)
            .body(json!({ "schema": schema }).to_string())
            .send()
            .await
            .map_err(unavailable)?;
        let body = Self::answer(resp, subject).await?;
        body["id"]
            .as_u64()
            .map(|id| id as u32)
            .ok_or_else(|| RegistryError::Unavailable("the registry's answer has no id".into()))
    }

    async fn schema(&self, id: u32) -> Result<String, RegistryError> {
        let resp = self
            .request(reqwest::Method::GET, &format!("/schemas/ids/{id}"))
            .send()
            .await
            .map_err(unavailable)?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Err(RegistryError::SchemaNotFound(id));
        }
        let body = Self::answer(resp, "").await?;
        body["schema"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| RegistryError::Unavailable("the registry's answer has no schema".into()))
    }
}
