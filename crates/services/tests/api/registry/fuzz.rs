//! Random requests to the schema registry's REST API in process, against one registry
//! that keeps what the requests register: random Avro-shaped schemas (records, enums,
//! unions, defaults, names that refer back, nesting), random bodies, subjects, versions,
//! ids and levels. Every answer is a 200, or a 4xx in Confluent's shape
//! (`{"error_code": …, "message": …}`, its content type); never a 5xx, a panic, an
//! abort (a stack overflow) or a request that does not end (a generous bound stands in
//! for "no stall"). The engine's own parser is fuzzed harder in orderflow-core's
//! `schema_fuzz`; this is the REST layer over it.
//!
//! Deterministic: proptest with a fixed RNG seed and a fixed number of cases, no
//! failure persistence (inputs found are kept below as named regression tests).

use axum::body::Body;
use axum::http::{Method, Request};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Map, Value, json};

use crate::support::fuzz::{Driver, percent_encoded};
use crate::support::registry::CONTENT_TYPE;
use crate::support::{RegistryApp, TestResult};

const CASES: u32 = 2_000;

/// One random request.
#[derive(Debug, Clone)]
struct Sent {
    method: Method,
    path: String,
    content_type: Option<&'static str>,
    body: Option<String>,
}

/// A registry that keeps what the requests register, and a runtime to drive it.
struct Fixture {
    driver: Driver,
    app: RegistryApp,
}

impl Fixture {
    fn new() -> Self {
        Self {
            driver: Driver::new(),
            app: RegistryApp::new(),
        }
    }

    /// The answer's status and body, checked for Confluent's shape.
    fn check(&self, sent: &Sent) -> Result<u16, TestCaseError> {
        let mut builder = Request::builder()
            .method(sent.method.clone())
            .uri(&sent.path);
        if let Some(ct) = sent.content_type {
            builder = builder.header("content-type", ct);
        }
        let body = sent
            .body
            .clone()
            .map(Body::from)
            .unwrap_or_else(Body::empty);
        let request = builder
            .body(body)
            .map_err(|e| TestCaseError::fail(format!("the test made a bad request: {e}")))?;
        let answer = self
            .driver
            .block_on(Driver::answer(self.app.router(), request))?;
        let (status, body) = (answer.status, &answer.body);
        prop_assert!(
            status == 200 || (400..500).contains(&status),
            "{status}: {body}"
        );
        prop_assert_eq!(
            answer.content_type.as_str(),
            CONTENT_TYPE,
            "{}: {}",
            status,
            body
        );
        if status >= 400 {
            prop_assert!(
                body["error_code"].is_u64() && body["message"].is_string(),
                "{status}: not Confluent's error shape: {body}"
            );
        }
        Ok(status)
    }

    fn run(&self, cases: u32, strategy: impl Strategy<Value = Sent>) -> Vec<u16> {
        self.driver.run(cases, strategy, |sent| self.check(sent))
    }
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(vec!["A", "B", "C", "n.A", "n.B", "Rec"]).prop_map(str::to_owned),
        1 => prop::sample::select(vec!["", "1a", "a-b", ".a", "int", "null", "é", "a b"])
            .prop_map(str::to_owned),
        1 => any::<String>().prop_map(|s| s.chars().take(10).collect()),
    ]
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        name().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-c]", inner), 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A JSON value shaped like an Avro schema.
fn schema() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        4 => prop::sample::select(vec!["null", "boolean", "int", "long", "float", "double", "bytes", "string"])
            .prop_map(|p| json!(p)),
        2 => name().prop_map(Value::String),
        1 => (name(), prop::collection::vec("[A-Z]{1,3}", 0..3), proptest::option::of(any_json()))
            .prop_map(|(n, symbols, default)| {
                let mut o = json!({"type": "enum", "name": n, "symbols": symbols});
                if let Some(d) = default { o["default"] = d; }
                o
            }),
        1 => (name(), -1i64..20).prop_map(|(n, size)| json!({"type": "fixed", "name": n, "size": size})),
        1 => any_json(),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        let field = (
            "[a-c]",
            inner.clone(),
            proptest::option::weighted(0.4, any_json()),
        )
            .prop_map(|(n, t, default)| {
                let mut f = Map::new();
                f.insert("name".into(), json!(n));
                f.insert("type".into(), t);
                if let Some(d) = default {
                    f.insert("default".into(), d);
                }
                Value::Object(f)
            });
        prop_oneof![
            4 => (name(), prop::collection::vec(field, 0..4))
                .prop_map(|(n, fields)| json!({"type": "record", "name": n, "fields": fields})),
            2 => prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            1 => inner.clone().prop_map(|i| json!({"type": "array", "items": i})),
            1 => inner.prop_map(|v| json!({"type": "map", "values": v})),
        ]
    })
}

/// A path segment: mostly one of a few subjects (so registrations meet), any text
/// percent-encoded, or bytes that are not UTF-8.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(vec!["s", "t", "orders-OrderCreated", "u"]).prop_map(str::to_owned),
        2 => percent_encoded(24),
        1 => prop::sample::select(vec!["%00", "%FF", "%C3", "__GLOBAL", "%1F", "a%2Fb"]).prop_map(str::to_owned),
    ]
}

fn version() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "latest",
            "1",
            "2",
            "-1",
            "0",
            "99999999999",
            "x",
            "%FF"
        ])
        .prop_map(str::to_owned),
        any::<i64>().prop_map(|n| n.to_string()),
    ]
}

/// A valid record: distinct fields of primitive types, some with a default of their
/// type (so that versions are compatible or not).
fn valid_record() -> impl Strategy<Value = Value> {
    let field = (
        prop::sample::select(vec![
            ("int", json!(1)),
            ("long", json!(2)),
            ("string", json!("x")),
            ("double", json!(0.5)),
            ("boolean", json!(true)),
        ]),
        any::<bool>(),
    );
    (
        prop::sample::select(vec!["A", "B"]),
        prop::collection::vec(field, 0..5),
    )
        .prop_map(|(name, fields)| {
            let fields: Vec<Value> = fields
                .into_iter()
                .enumerate()
                .map(|(i, ((ty, default), with_default))| {
                    let mut f = json!({"name": format!("f{i}"), "type": ty});
                    if with_default {
                        f["default"] = default;
                    }
                    f
                })
                .collect();
            json!({"type": "record", "name": name, "fields": fields})
        })
}

/// A registration, lookup or check body: mostly `{"schema": "<text>"}`.
fn schema_body() -> impl Strategy<Value = String> {
    let text = prop_oneof![
        8 => prop_oneof![schema(), self_referring()].prop_map(|s| s.to_string()),
        6 => valid_record().prop_map(|s| s.to_string()),
        1 => any::<String>(),
        1 => (1usize..140).prop_map(|d| format!("{}\"int\"{}", "[".repeat(d), "]".repeat(d))),
    ];
    let extra = prop_oneof![
        6 => Just(None),
        1 => prop::sample::select(vec!["AVRO", "JSON", "PROTOBUF", ""]).prop_map(|t| Some(("schemaType", json!(t)))),
        1 => any_json().prop_map(|r| Some(("references", r))),
        1 => (segment(), any::<u32>()).prop_map(|(s, v)| Some(("references", json!([{"name": "A", "subject": s, "version": v}])))),
    ];
    prop_oneof![
        10 => (text, extra).prop_map(|(text, extra)| {
            let mut body = json!({"schema": text});
            if let Some((k, v)) = extra { body[k] = v; }
            body.to_string()
        }),
        1 => any_json().prop_map(|v| v.to_string()),
        1 => any::<String>(),
    ]
}

/// A record that refers to itself, with random defaults.
fn self_referring() -> impl Strategy<Value = Value> {
    (schema(), any_json(), any_json(), 0usize..3).prop_map(|(inner, d1, d2, how)| {
        let recur = match how {
            0 => json!(["null", "A"]),
            1 => json!({"type": "array", "items": "A"}),
            _ => json!([{"type": "map", "values": "A"}, "A"]),
        };
        json!({"type": "record", "name": "A", "fields": [
            {"name": "a", "type": recur, "default": d1},
            {"name": "b", "type": inner, "default": d2},
        ]})
    })
}

fn request() -> impl Strategy<Value = Sent> {
    let content_type = prop_oneof![
        8 => Just(Some(CONTENT_TYPE)),
        1 => Just(Some("application/json")),
        1 => Just(None),
        1 => Just(Some("text/plain")),
    ];
    let with_body = (
        prop::sample::select(vec![
            "/subjects/{s}/versions",
            "/subjects/{s}",
            "/compatibility/subjects/{s}/versions/{v}",
            "/compatibility/subjects/{s}/versions",
        ]),
        segment(),
        version(),
        content_type,
        schema_body(),
    )
        .prop_map(|(route, s, v, content_type, body)| Sent {
            method: Method::POST,
            path: route.replace("{s}", &s).replace("{v}", &v),
            content_type,
            body: Some(body),
        });
    let config = (
        proptest::option::of(segment()),
        prop_oneof![
            prop::sample::select(vec!["NONE", "BACKWARD", "FULL_TRANSITIVE", "none", "X"])
                .prop_map(|l| json!({"compatibility": l}).to_string()),
            any_json().prop_map(|v| v.to_string()),
        ],
    )
        .prop_map(|(s, body)| Sent {
            method: Method::PUT,
            path: s.map_or("/config".to_owned(), |s| format!("/config/{s}")),
            content_type: Some(CONTENT_TYPE),
            body: Some(body),
        });
    let read = (
        prop::sample::select(vec![
            (Method::GET, "/subjects/{s}/versions"),
            (Method::GET, "/subjects/{s}/versions/{v}"),
            (Method::GET, "/subjects/{s}/versions/{v}/schema"),
            (Method::GET, "/subjects/{s}/versions/{v}/referencedby"),
            (Method::GET, "/schemas/ids/{v}"),
            (Method::GET, "/schemas/ids/{v}/schema"),
            (Method::GET, "/schemas/ids/{v}/versions"),
            (Method::GET, "/config/{s}"),
            (Method::DELETE, "/subjects/{s}/versions/{v}"),
            (Method::DELETE, "/subjects/{s}"),
            (Method::GET, "/subjects?deleted=true"),
        ]),
        segment(),
        version(),
        prop::sample::select(vec!["", "?deleted=true", "?permanent=true", "?%FF=%FF"]),
    )
        .prop_map(|((method, route), s, v, query)| Sent {
            method,
            path: format!("{}{query}", route.replace("{s}", &s).replace("{v}", &v)),
            content_type: None,
            body: None,
        });
    prop_oneof![8 => with_body, 1 => config, 2 => read]
}

// ---- Properties ----------------------------------------------------------------------

#[test]
fn random_requests_get_200_or_a_confluent_shaped_4xx() {
    let fixture = Fixture::new();
    let statuses = fixture.run(CASES, request());
    let registered = statuses.iter().filter(|s| **s == 200).count();
    assert!(
        registered * 10 > statuses.len(),
        "{registered} answered 200"
    );
}

// ---- Regressions: inputs found, kept by name ------------------------------------------

/// A path parameter whose percent-encoding is not UTF-8 got axum's plain-text 400
/// (`Invalid URL: Invalid UTF-8 in \`subject\``), not Confluent's shape and content type.
/// Found by `random_requests_…` (`POST /subjects/%FF/versions`).
#[tokio::test]
async fn a_path_parameter_that_is_not_utf8_is_a_confluent_shaped_400() -> TestResult {
    let app = RegistryApp::new();
    for (method, path) in [
        (Method::POST, "/subjects/%FF/versions"),
        (Method::POST, "/subjects/%C3"),
        (Method::GET, "/subjects/%FF/versions/latest"),
        (Method::GET, "/subjects/s/versions/%FF/schema"),
        (Method::DELETE, "/subjects/%80"),
        (Method::GET, "/schemas/ids/%FF"),
        (Method::PUT, "/config/%FF"),
        (Method::POST, "/compatibility/subjects/%FF/versions/latest"),
    ] {
        let body = json!({ "schema": "\"int\"", "compatibility": "NONE" });
        // `call` checks Confluent's content type and that the body is JSON.
        let answer = app.call(method, path, Some(body)).await?;
        assert_eq!(answer.code(), (400, 400), "{path}: {}", answer.body);
        assert!(
            answer.body["message"]
                .as_str()
                .is_some_and(|m| m.contains("UTF-8")),
            "{path}: {}",
            answer.body
        );
    }
    Ok(())
}
