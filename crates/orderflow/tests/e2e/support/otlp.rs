//! A small OTLP trace receiver, over HTTP (`POST /v1/traces`, protobuf) or gRPC, that
//! keeps every span it is sent with the service that sent it.

use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use prost::Message as _;

use super::Res;

/// One span as a receiver saw it, ids in lowercase hex.
#[derive(Debug, Clone)]
pub struct SpanSeen {
    pub service: String,
    /// The resource's `deployment.environment.name`, if it has one.
    pub environment: Option<String>,
    pub name: String,
    pub trace_id: String,
    pub span_id: String,
    /// Empty for a root span.
    pub parent_span_id: String,
}

/// A receiver listening on 127.0.0.1; it stops when dropped.
pub struct Collector {
    /// What `OTEL_EXPORTER_OTLP_ENDPOINT` should say.
    pub endpoint: String,
    spans: Arc<Mutex<Vec<SpanSeen>>>,
    _stop: tokio_util::sync::DropGuard,
}

#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<SpanSeen>>>);

impl Received {
    fn keep(&self, request: ExportTraceServiceRequest) {
        let mut spans = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for resource_spans in request.resource_spans {
            let attribute = |key: &str| {
                resource_spans
                    .resource
                    .iter()
                    .flat_map(|r| &r.attributes)
                    .find(|a| a.key == key)
                    .and_then(|a| a.value.as_ref()?.value.as_ref())
                    .map(|v| match v {
                        AnyValue::StringValue(s) => s.clone(),
                        other => format!("{other:?}"),
                    })
            };
            let service = attribute("service.name").unwrap_or_default();
            let environment = attribute("deployment.environment.name");
            for span in resource_spans.scope_spans.into_iter().flat_map(|s| s.spans) {
                spans.push(SpanSeen {
                    service: service.clone(),
                    environment: environment.clone(),
                    name: span.name,
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                });
            }
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tonic::async_trait]
impl TraceService for Received {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.keep(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

impl Collector {
    /// OTLP over HTTP with protobuf bodies.
    pub async fn http() -> Res<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let received = Received::default();
        let app = axum::Router::new()
            .route(
                "/v1/traces",
                axum::routing::post(
                    |axum::extract::State(received): axum::extract::State<Received>,
                     body: axum::body::Bytes| async move {
                        match ExportTraceServiceRequest::decode(body) {
                            Ok(request) => {
                                received.keep(request);
                                let reply = ExportTraceServiceResponse::default().encode_to_vec();
                                (
                                    axum::http::StatusCode::OK,
                                    [("content-type", "application/x-protobuf")],
                                    reply,
                                )
                            }
                            Err(_) => (
                                axum::http::StatusCode::BAD_REQUEST,
                                [("content-type", "text/plain")],
                                b"not an ExportTraceServiceRequest".to_vec(),
                            ),
                        }
                    },
                ),
            )
            .with_state(received.clone());
        let stop = tokio_util::sync::CancellationToken::new();
        let stopped = stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(stopped.cancelled_owned())
                .await;
        });
        Ok(Self {
            endpoint,
            spans: received.0,
            _stop: stop.drop_guard(),
        })
    }

    /// OTLP over gRPC.
    pub async fn grpc() -> Res<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let received = Received::default();
        let stop = tokio_util::sync::CancellationToken::new();
        let stopped = stop.clone();
        let server = tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(received.clone()))
            .serve_with_incoming_shutdown(
                tokio_stream::wrappers::TcpListenerStream::new(listener),
                stopped.cancelled_owned(),
            );
        tokio::spawn(server);
        Ok(Self {
            endpoint,
            spans: received.0,
            _stop: stop.drop_guard(),
        })
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<SpanSeen> {
        self.spans.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
