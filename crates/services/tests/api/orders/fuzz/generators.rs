//! The random requests of the orders fuzzer: headers, content types, JSON of every
//! kind, orders built from valid and edge values, deep nesting, damaged text, and the
//! routes they are sent to.

use std::fmt::Write as _;

use axum::http::Method;
use proptest::prelude::*;

use super::Sent;
use crate::support::fuzz::percent_encoded;
use crate::support::line;

/// Bytes a header value may hold (visible ASCII, space, tab and obs-text).
pub fn header_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![8 => 0x20u8..0x7f, 1 => Just(b'\t'), 1 => 0x80u8..=0xff],
        0..max,
    )
}

pub fn content_type() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        8 => Just(Some(b"application/json".to_vec())),
        1 => prop::sample::select(vec![
            "Application/JSON; charset=utf-8",
            "application/merge-patch+json",
            "application/json;",
            " application/json ",
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/",
            "+json",
            "",
        ])
        .prop_map(|s| Some(s.as_bytes().to_vec())),
        1 => Just(None),
        1 => header_bytes(40).prop_map(Some),
    ]
}

pub fn headers() -> impl Strategy<Value = Vec<(&'static str, Vec<u8>)>> {
    let name = prop::sample::select(vec![
        "idempotency-key",
        "content-length",
        "origin",
        "sec-fetch-site",
        "authorization",
        "accept",
        "x-forwarded-for",
    ]);
    let value = prop_oneof![
        header_bytes(48),
        prop::sample::select(vec![
            "0",
            "1",
            "18446744073709551616",
            "-1",
            "k-1",
            "same-site",
            "cross-site",
            "null"
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        (0u64..200_000).prop_map(|n| n.to_string().into_bytes()),
    ];
    prop::collection::vec((name, value), 0..3)
}

/// JSON number text, valid or on the edge of what the API reads.
pub fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "0", "-0", "1", "2", "19.99", "0.01", "0.001", "1.0", "1.00", "1.000", "-1",
            "1e2", "1E2", "1e-2", "1.5e1", "1e400", "-1e400", "1e-400", "4.9e-324",
            "9007199254740993", "9223372036854775807", "9223372036854775808",
            "-9223372036854775809", "18446744073709551615", "99999999999.99",
            "99999999999999999999999999999999999999", "0.30000000000000004",
            "1e9223372036854775807", "1e-9223372036854775808", "0e99999", "123456789e-7",
        ])
        .prop_map(str::to_owned),
        2 => any::<i64>().prop_map(|n| n.to_string()),
        2 => any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| f.to_string()),
        1 => (0u32..100_000, 0u32..1_000).prop_map(|(a, b)| format!("{a}.{b}")),
        1 => "-?[0-9]{1,30}(\\.[0-9]{0,30})?([eE][+-]?[0-9]{1,6})?",
    ]
}

/// A JSON string literal: ids that pass, ids on the edge, anything.
pub fn string() -> impl Strategy<Value = String> {
    let text = prop_oneof![
        3 => "[a-zA-Z0-9][a-zA-Z0-9._-]{0,15}",
        1 => prop::sample::select(vec![
            "", " ", "a:b", ":", ".x", "x.", "a..b", "SKU-1", "c-1", "EUR", "eur", "USD", "XXX",
            "\u{0}", "\u{7f}", "é", "👍", "\u{202e}", "a\"b", "a\\b", "a/b", "%2F", "../x",
        ])
        .prop_map(str::to_owned),
        1 => "[a-z]{60,70}",
        1 => any::<String>().prop_map(|s| s.chars().take(30).collect()),
    ];
    text.prop_map(|s| serde_json::Value::String(s).to_string())
}

/// Any JSON text, nesting included.
pub fn json() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_owned()),
        Just("true".to_owned()),
        Just("false".to_owned()),
        number(),
        string(),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec((key(), inner), 0..6).prop_map(|m| {
                let members: Vec<String> = m.iter().map(|(k, v)| format!("{k}:{v}")).collect();
                format!("{{{}}}", members.join(","))
            }),
        ]
    })
}

/// An object key: a member the API knows, or another.
pub fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "customerId", "items", "currency", "shippingAddress", "sku", "quantity",
            "unitPrice", "available", "CustomerId", "customer_id",
        ])
        .prop_map(|k| format!("{k:?}")),
        1 => string(),
    ]
}

/// A member value: mostly the kind the member takes, sometimes anything.
pub fn value_or(typed: BoxedStrategy<String>) -> impl Strategy<Value = String> {
    prop_oneof![6 => typed, 1 => json()]
}

pub fn item() -> impl Strategy<Value = String> {
    let members = (
        proptest::option::weighted(0.95, value_or(string().boxed())),
        proptest::option::weighted(0.95, value_or(number().boxed())),
        proptest::option::weighted(0.95, value_or(number().boxed())),
        proptest::option::weighted(0.05, (key(), json())),
    );
    prop_oneof![
        10 => members.prop_map(|(sku, quantity, price, extra)| {
            let mut m = Vec::new();
            if let Some(v) = sku { m.push(format!("\"sku\":{v}")); }
            if let Some(v) = quantity { m.push(format!("\"quantity\":{v}")); }
            if let Some(v) = price { m.push(format!("\"unitPrice\":{v}")); }
            if let Some((k, v)) = extra { m.push(format!("{k}:{v}")); }
            format!("{{{}}}", m.join(","))
        }),
        1 => json(),
    ]
}

/// An order built member by member from valid and edge values.
pub fn order_text() -> impl Strategy<Value = String> {
    let items = prop_oneof![
        10 => prop::collection::vec(item(), 0..5).prop_map(|v| format!("[{}]", v.join(","))),
        1 => (1usize..130).prop_map(|n| format!("[{}]", vec![line("S", 1, "1"); n].join(","))),
        1 => json(),
    ];
    (
        proptest::option::weighted(0.95, value_or(string().boxed())),
        proptest::option::weighted(0.95, items),
        proptest::option::weighted(0.5, value_or(string().boxed())),
        proptest::option::weighted(0.5, value_or(string().boxed())),
        proptest::option::weighted(0.1, (key(), json())),
        any::<bool>(),
    )
        .prop_map(|(customer, items, currency, address, extra, spaced)| {
            let mut m = Vec::new();
            if let Some(v) = customer {
                m.push(format!("\"customerId\":{v}"));
            }
            if let Some(v) = items {
                m.push(format!("\"items\":{v}"));
            }
            if let Some(v) = currency {
                m.push(format!("\"currency\":{v}"));
            }
            if let Some(v) = address {
                m.push(format!("\"shippingAddress\":{v}"));
            }
            if let Some((k, v)) = extra {
                m.push(format!("{k}:{v}"));
            }
            let sep = if spaced { " ,\n\t" } else { "," };
            format!("{{{}}}", m.join(sep))
        })
}

/// An order the API takes (within the default limits), spelled in random ways.
pub fn valid_order() -> impl Strategy<Value = String> {
    let item = (
        "[A-Z][A-Z0-9-]{0,10}",
        1u32..1_000,
        "[1-9][0-9]{0,5}(\\.[0-9]{1,2})?",
    )
        .prop_map(|(sku, q, price)| line(&sku, q.into(), &price));
    (
        "[a-z][a-z0-9-]{0,10}",
        prop::collection::vec(item, 1..6),
        proptest::option::of(prop::sample::select(vec!["EUR", "USD", "GBP", "JPY"])),
        proptest::option::of(any::<String>().prop_map(|s| s.chars().take(200).collect::<String>())),
    )
        .prop_map(|(customer, items, currency, address)| {
            let mut order = format!(
                r#"{{"customerId":"{customer}","items":[{}]"#,
                items.join(",")
            );
            if let Some(c) = currency {
                let _ = write!(order, r#","currency":"{c}""#);
            }
            if let Some(a) = address {
                let _ = write!(
                    order,
                    r#","shippingAddress":{}"#,
                    serde_json::Value::String(a)
                );
            }
            order.push('}');
            order
        })
}

/// Nesting past serde_json's recursion limit (128), in the body or inside a member.
pub fn deep() -> impl Strategy<Value = String> {
    (1usize..400, any::<bool>(), 0usize..4).prop_map(|(depth, objects, at)| {
        let (open, close) = if objects {
            ("{\"a\":", "}")
        } else {
            ("[", "]")
        };
        let nest = format!("{}1{}", open.repeat(depth), close.repeat(depth));
        match at {
            0 => nest,
            1 => format!(r#"{{"customerId":"c-1","items":{nest}}}"#),
            2 => format!(
                r#"{{"customerId":"c-1","items":[{{"sku":"S","quantity":1,"unitPrice":{nest}}}]}}"#
            ),
            _ => format!(r#"{{"available":{nest}}}"#),
        }
    })
}

/// Bytes around JSON: cut short, bytes flipped, not UTF-8, padded.
pub fn damaged(text: impl Strategy<Value = String>) -> impl Strategy<Value = Vec<u8>> {
    (text, any::<prop::sample::Index>(), any::<u8>(), 0u8..6).prop_map(|(t, i, b, how)| {
        let mut bytes = t.into_bytes();
        let at = i.index(bytes.len().max(1));
        match how {
            0 => bytes.truncate(at),
            1 if !bytes.is_empty() => {
                let last = bytes.len() - 1;
                bytes[at.min(last)] ^= b.max(1);
            }
            2 => bytes.insert(at.min(bytes.len()), b),
            3 => bytes.extend_from_slice(b" \n"),
            4 => bytes.extend_from_slice(b"{}"),
            _ => bytes.insert(0, 0xEF),
        }
        bytes
    })
}

pub fn orders_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => valid_order().prop_map(String::into_bytes),
        6 => order_text().prop_map(String::into_bytes),
        2 => json().prop_map(String::into_bytes),
        2 => damaged(order_text()),
        1 => damaged(valid_order()),
        1 => deep().prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 0..128),
    ]
}

pub fn post_orders(body: impl Strategy<Value = Vec<u8>>) -> impl Strategy<Value = Sent> {
    (content_type(), headers(), body).prop_map(|(content_type, headers, body)| Sent {
        method: Method::POST,
        path: "/orders".into(),
        content_type,
        headers,
        body,
    })
}

/// A path segment: any text, percent-encoded.
pub fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-zA-Z0-9][a-zA-Z0-9._-]{0,15}",
        1 => "[a-z]{60,70}",
        2 => percent_encoded(40),
        1 => prop::sample::select(vec!["%00", "%FF", "%2F", "..", ".", "%", "%zz", "a%20b"]).prop_map(str::to_owned),
    ]
}

pub fn stock_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => any::<u64>().prop_map(|n| format!(r#"{{"available":{}}}"#, n >> (n % 64)).into_bytes()),
        6 => (value_or(number().boxed()), proptest::option::weighted(0.1, (key(), json())))
            .prop_map(|(n, extra)| match extra {
                Some((k, v)) => format!(r#"{{"available":{n},{k}:{v}}}"#),
                None => format!(r#"{{"available":{n}}}"#),
            }.into_bytes()),
        2 => json().prop_map(String::into_bytes),
        1 => deep().prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 0..64),
    ]
}
