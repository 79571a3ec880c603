//! `spawn_app`: the API's router in process over a fresh data dir, and requests to it
//! that read as the HTTP calls they are. Every test of this binary starts here.
//!
//! - `support/registry.rs`: the schema registry's router alone, as Confluent's API.
//! - `support/fuzz.rs`: a runtime that sends random requests and bounds each answer.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request};
use orderflow_core::EventCodec;
use orderflow_core::bus::EventBus;
use orderflow_core::registry::Registry;
use orderflow_core::store::EventStore;
use orderflow_services::context::Recorder;
use orderflow_services::http::{self, Access, AppState, Limits, Locations, Tokens};
use orderflow_sqlite::{SqliteBus, SqliteEventStore, SqliteGenerations, SqliteReadModel};
use serde_json::{Value, json};
use tempfile::TempDir;
use tower::ServiceExt;

pub mod fuzz;
pub mod registry;

pub use registry::RegistryApp;

pub type TestResult = Result<(), Box<dyn std::error::Error>>;
pub type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Where an app spawned [`Spawn::over_store`] says its event store and read models
/// live.
pub const STORE_FILE: &str = "/srv/orderflow/events.db";
pub const READ_MODELS_FILE: &str = "/srv/orderflow/read.db";

/// A token of each role, for [`Spawn::with_tokens`].
pub const SHOP: &str = "shop-token-0123456789";
pub const OPERATOR: &str = "operator-token-0123456789";
pub const ADMIN: &str = "admin-token-0123456789";

/// The API, open, without the embedded registry, at the default limits.
pub async fn spawn_app() -> Res<TestApp> {
    TestApp::builder().spawn().await
}

/// How to spawn the API: [`TestApp::builder`], then [`Spawn::spawn`].
#[derive(Default)]
pub struct Spawn {
    limits: Option<Limits>,
    access: Access,
    registry: bool,
    store: Option<Arc<dyn EventStore>>,
    bus: Option<Arc<dyn EventBus>>,
}

impl Spawn {
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = Some(limits);
        self
    }

    /// Behind the access guard with `access`.
    pub fn access(mut self, access: Access) -> Self {
        self.access = access;
        self
    }

    /// Behind a token of each role: [`SHOP`], [`OPERATOR`], [`ADMIN`].
    pub fn with_tokens(self) -> Res<Self> {
        let mut tokens = Tokens::new();
        tokens.add_file(&format!(
            "shop {SHOP}\noperator {OPERATOR}\nadmin {ADMIN}\n"
        ))?;
        Ok(self.access(Access::with(tokens)))
    }

    /// With the embedded schema registry under `/schema-registry`.
    pub fn with_registry(mut self) -> Self {
        self.registry = true;
        self
    }

    /// Over `store` (for stores that misbehave on purpose), naming the storage
    /// [`STORE_FILE`] and [`READ_MODELS_FILE`].
    pub fn over_store(mut self, store: Arc<dyn EventStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Over `bus` instead of an embedded one of its own (for buses that misbehave on
    /// purpose).
    pub fn over_bus(mut self, bus: Arc<dyn EventBus>) -> Self {
        self.bus = Some(bus);
        self
    }

    pub async fn spawn(self) -> Res<TestApp> {
        let dir = tempfile::tempdir()?;
        let sqlite = Arc::new(SqliteEventStore::open(&dir.path().join("events.db"))?);
        let registry = Arc::new(Registry::default());
        let keys: Arc<dyn orderflow_core::keys::KeyStore> =
            Arc::new(orderflow_core::keys::InMemoryKeyStore::default());
        let codec = Arc::new(
            EventCodec::new(registry.clone())
                .await?
                .with_keys(keys.clone()),
        );
        let read_model = Arc::new(SqliteReadModel::open(&dir.path().join("read.db"))?);
        let bus_file = dir.path().join("bus.db");
        let mut locations = match self.store {
            Some(_) => Locations {
                event_store: STORE_FILE.into(),
                read_models: READ_MODELS_FILE.into(),
                ..Locations::default()
            },
            None => Locations::default(),
        };
        locations.bus = bus_file.display().to_string();
        let store = self.store.unwrap_or_else(|| sqlite.clone());
        let state = AppState {
            recorder: Recorder::new(store, codec),
            registry: self.registry.then_some(registry),
            read_model: read_model.clone(),
            analytics: read_model.clone(),
            generations: Arc::new(SqliteGenerations::new(
                read_model.as_ref().clone(),
                &dir.path().join("read.db"),
            )),
            bus: match self.bus {
                Some(bus) => bus,
                None => Arc::new(SqliteBus::open(&bus_file)?),
            },
            checkpoints: sqlite.clone(),
            groups: Default::default(),
            limits: self.limits.unwrap_or(Limits::DEFAULT),
            locations,
            keys,
            shutdown: Default::default(),
        };
        Ok(TestApp {
            router: http::guarded_router(state.clone(), self.access),
            state,
            store: sqlite,
            read_model,
            dir,
        })
    }
}

/// The API over a data dir of its own.
pub struct TestApp {
    router: Router,
    state: AppState,
    store: Arc<SqliteEventStore>,
    read_model: Arc<SqliteReadModel>,
    dir: TempDir,
}

/// An answer: the status, the challenge, the content type and the JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    /// `WWW-Authenticate`, if any.
    pub challenge: Option<String>,
    pub content_type: String,
    pub body: Value,
}

impl Answer {
    /// The `error` message of an API error answer (empty when there is none).
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or_default()
    }

    /// `(status, error_code)` of a registry error answer.
    pub fn code(&self) -> (u16, u64) {
        (self.status, self.body["error_code"].as_u64().unwrap_or(0))
    }
}

/// Sends `request` to `router`; the answer must be JSON.
pub async fn answer(router: &Router, request: Request<Body>) -> Res<Answer> {
    let response = router.clone().oneshot(request).await?;
    let status = response.status().as_u16();
    let (parts, body) = response.into_parts();
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let challenge = header("www-authenticate");
    let content_type = header("content-type").unwrap_or_default();
    let bytes = axum::body::to_bytes(body, usize::MAX).await?;
    let body = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{status}: not JSON ({e}): {bytes:?}"))?;
    Ok(Answer {
        status,
        challenge,
        content_type,
        body,
    })
}

/// A request of `method` to `path`, with a bearer `token` and a body of a content type
/// when given.
pub fn request(
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<(&str, String)>,
) -> Res<Request<Body>> {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    Ok(match body {
        Some((content_type, body)) => builder
            .header("content-type", content_type)
            .body(Body::from(body))?,
        None => builder.body(Body::empty())?,
    })
}

impl TestApp {
    pub fn builder() -> Spawn {
        Spawn::default()
    }

    /// Sends `request`; every answer is JSON, API errors `{"error": "…"}`.
    pub async fn send(&self, request: Request<Body>) -> Res<Answer> {
        let is_registry = request.uri().path().starts_with("/schema-registry");
        let answer = answer(&self.router, request).await?;
        if answer.status >= 400 && !is_registry && !answer.body["error"].is_string() {
            return Err(format!(
                "{} without an error message: {}",
                answer.status, answer.body
            )
            .into());
        }
        Ok(answer)
    }

    /// Sends `request` and returns the status and the JSON body, whatever they are.
    pub async fn raw(&self, request: Request<Body>) -> Res<(u16, Value)> {
        let answer = answer(&self.router, request).await?;
        Ok((answer.status, answer.body))
    }

    /// `method path` with `token`, and a body of `content_type` when one is given.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<(&str, String)>,
    ) -> Res<Answer> {
        self.send(request(method, path, token, body)?).await
    }

    /// `method path` with `token` and a JSON `body`.
    pub async fn json(&self, method: Method, path: &str, token: &str, body: Value) -> Res<Answer> {
        let body = Some(("application/json", body.to_string()));
        self.call(method, path, Some(token), body).await
    }

    /// `GET path` of a page: its status, `Location` (for a redirect) and HTML.
    pub async fn page(&self, path: &str) -> Res<(u16, Option<String>, String)> {
        let request = Request::builder().uri(path).body(Body::empty())?;
        let response = self.router.clone().oneshot(request).await?;
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
        Ok((status, location, String::from_utf8(bytes.to_vec())?))
    }

    pub async fn get(&self, path: &str) -> Res<Answer> {
        self.call(Method::GET, path, None, None).await
    }

    /// `POST /orders` with `body` as its text, as JSON.
    pub async fn place_raw(&self, body: impl Into<String>) -> Res<Answer> {
        self.send(post("/orders", "application/json", body.into())?)
            .await
    }

    /// `POST /orders` with an `Idempotency-Key`.
    pub async fn place_with_key(&self, key: &str, body: &Value) -> Res<Answer> {
        self.place_raw_with_key(key, &body.to_string()).await
    }

    /// `POST /orders` of raw JSON text with an `Idempotency-Key`.
    pub async fn place_raw_with_key(&self, key: &str, body: &str) -> Res<Answer> {
        let request = Request::builder()
            .method(Method::POST)
            .uri("/orders")
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(Body::from(body.to_owned()))?;
        self.send(request).await
    }

    /// Places an order of one line as `token` and returns its id.
    pub async fn place_as(&self, token: &str) -> Res<String> {
        let order = json!({
            "customerId": "c-1",
            "items": [{ "sku": "SKU-1", "quantity": 1, "unitPrice": 2.5 }],
        });
        let placed = self.json(Method::POST, "/orders", token, order).await?;
        assert_eq!(placed.status, 202, "{:?}", placed.body);
        Ok(placed.body["orderId"]
            .as_str()
            .ok_or("no orderId")?
            .to_owned())
    }

    /// The state the router was made with.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The router itself, for requests the helpers do not make.
    pub fn router(&self) -> &Router {
        &self.router
    }

    /// The data dir the API's files live in.
    pub fn data_dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// The read models the API reads, to put views in as the projections would.
    pub fn read_model(&self) -> &SqliteReadModel {
        &self.read_model
    }

    /// The key store of personal data the API seals and opens with.
    pub fn keys(&self) -> &dyn orderflow_core::keys::KeyStore {
        self.state.keys.as_ref()
    }

    /// The event store's head: how many events were ever written.
    pub async fn head(&self) -> Res<u64> {
        Ok(self.store.head_position().await?)
    }

    /// The unit prices the store recorded for `order_id`, as the API shows them.
    pub async fn recorded_prices(&self, order_id: &str) -> Res<Vec<Value>> {
        let order = self
            .get(&format!("/orders/{order_id}?as_of=2999-01-01T00:00:00Z"))
            .await?;
        let items = order.body["items"].as_array().ok_or("no items")?;
        Ok(items.iter().map(|i| i["unitPrice"].clone()).collect())
    }
}

/// A `POST` of `body` with `content_type`.
pub fn post(path: &str, content_type: &str, body: impl Into<Body>) -> Res<Request<Body>> {
    Ok(Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("content-type", content_type)
        .body(body.into())?)
}

/// One line of an order, with the price as JSON text (so that `1.0000001` is sent as
/// written).
pub fn line(sku: &str, quantity: i64, price: &str) -> String {
    format!(r#"{{"sku":"{sku}","quantity":{quantity},"unitPrice":{price}}}"#)
}

/// An order of one line, with the price as JSON text.
pub fn order_priced(price: &str) -> String {
    format!(
        r#"{{"customerId":"c-1","items":[{}]}}"#,
        line("SKU-1", 1, price)
    )
}

/// A valid order of one line.
pub fn order() -> Value {
    json!({
        "customerId": "c-1",
        "items": [{ "sku": "SKU-1", "quantity": 2, "unitPrice": 19.99 }],
        "currency": "EUR",
        "shippingAddress": "1 Main St, Springfield",
    })
}
