//! The API's router in process over a fresh SQLite store, and requests to it that read
//! as the HTTP calls they are.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request};
use orderflow_core::EventCodec;
use orderflow_core::registry::Registry;
use orderflow_core::store::EventStore;
use orderflow_services::context::Recorder;
use orderflow_services::http::{self, AppState, Limits, Locations};
use orderflow_sqlite::{SqliteBus, SqliteEventStore, SqliteReadModel};
use serde_json::{Value, json};
use tempfile::TempDir;
use tower::ServiceExt;

/// Where [`App::over_store`] says its event store and read models live.
pub const STORE_FILE: &str = "/srv/orderflow/events.db";
pub const READ_MODELS_FILE: &str = "/srv/orderflow/read.db";

pub type TestResult = Result<(), Box<dyn std::error::Error>>;
pub type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// The API over an empty data dir of its own.
pub struct App {
    router: Router,
    state: AppState,
    store: Arc<SqliteEventStore>,
    read_model: Arc<SqliteReadModel>,
    _dir: TempDir,
}

/// An answer: the HTTP status and the JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    /// The `error` message of an error answer (empty when there is none).
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or_default()
    }
}

impl App {
    pub async fn new() -> Res<Self> {
        Self::with_limits(Limits::DEFAULT).await
    }

    pub async fn with_limits(limits: Limits) -> Res<Self> {
        Self::serving(limits, None).await
    }

    /// The API with the embedded schema registry under `/schema-registry`.
    pub async fn with_registry() -> Res<Self> {
        Self::serving(Limits::DEFAULT, Some(Arc::new(Registry::default()))).await
    }

    async fn serving(limits: Limits, registry: Option<Arc<Registry>>) -> Res<Self> {
        let dir = tempfile::tempdir()?;
        let store = Arc::new(SqliteEventStore::open(&dir.path().join("events.db"))?);
        let codec_registry = registry.clone().unwrap_or_default();
        let codec = Arc::new(EventCodec::new(codec_registry).await?);
        let read_model = Arc::new(SqliteReadModel::open(&dir.path().join("read.db"))?);
        let state = AppState {
            recorder: Recorder::new(store.clone(), codec),
            registry,
            read_model: read_model.clone(),
            analytics: read_model.clone(),
            bus: Arc::new(SqliteBus::open(&dir.path().join("bus.db"))?),
            checkpoints: store.clone(),
            limits,
            locations: Default::default(),
        };
        Ok(Self {
            router: http::router(state.clone()),
            state,
            store,
            read_model,
            _dir: dir,
        })
    }

    /// The API over `store` (with read models and a bus of its own), for stores that
    /// misbehave on purpose; it names the storage [`STORE_FILE`] and [`READ_MODELS_FILE`].
    pub async fn over_store(store: Arc<dyn EventStore>) -> Res<Self> {
        let dir = tempfile::tempdir()?;
        let sqlite = Arc::new(SqliteEventStore::open(&dir.path().join("events.db"))?);
        let codec = Arc::new(EventCodec::new(Arc::new(Registry::default())).await?);
        let read_model = Arc::new(SqliteReadModel::open(&dir.path().join("read.db"))?);
        let state = AppState {
            recorder: Recorder::new(store, codec),
            registry: None,
            read_model: read_model.clone(),
            analytics: read_model.clone(),
            bus: Arc::new(SqliteBus::open(&dir.path().join("bus.db"))?),
            checkpoints: sqlite.clone(),
            limits: Limits::DEFAULT,
            locations: Locations {
                event_store: STORE_FILE.into(),
                read_models: READ_MODELS_FILE.into(),
            },
        };
        Ok(Self {
            router: http::router(state.clone()),
            state,
            store: sqlite,
            read_model,
            _dir: dir,
        })
    }

    /// Sends `request` and returns the status and the JSON body, whatever they are.
    pub async fn raw(&self, request: Request<Body>) -> Res<(u16, Value)> {
        let response = self.router.clone().oneshot(request).await?;
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
        Ok((status, serde_json::from_slice(&bytes)?))
    }

    /// The data dir the API's files live in.
    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// Sends `request`; every answer is JSON, errors `{"error": "…"}`.
    pub async fn send(&self, request: Request<Body>) -> Res<Answer> {
        let response = self.router.clone().oneshot(request).await?;
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
        let body: Value = serde_json::from_slice(&bytes)
            .map_err(|e| format!("{status}: not JSON ({e}): {bytes:?}"))?;
        if status >= 400 && !body["error"].is_string() {
            return Err(format!("{status} without an error message: {body}").into());
        }
        Ok(Answer { status, body })
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

    pub async fn get(&self, path: &str) -> Res<Answer> {
        self.send(Request::builder().uri(path).body(Body::empty())?)
            .await
    }

    /// The state the router was made with.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The read models the API reads, to put views in as the projections would.
    pub fn read_model(&self) -> &SqliteReadModel {
        &self.read_model
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
