//! JSON values shaped like Avro schemas: records, enums, fixed, arrays, maps, unions,
//! logical types, defaults of every kind, names that refer back to the record being
//! defined, random names and namespaces, and nesting as deep as JSON goes.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

const NAMES: &[&str] = &["A", "B", "C", "n.A", "n.B", "m.C", "Rec"];

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(NAMES).prop_map(str::to_owned),
        1 => prop::sample::select(vec![
            "", "1a", "a-b", "a..b", ".a", "a.", "int", "null", "record", "é", "a b", "_",
            "string", "B.C.D", "n.int",
        ])
        .prop_map(str::to_owned),
        1 => "[A-Za-z_][A-Za-z0-9_]{0,8}(\\.[A-Za-z_][A-Za-z0-9_]{0,5}){0,2}",
        1 => any::<String>().prop_map(|s| s.chars().take(12).collect()),
    ]
}

fn primitive() -> impl Strategy<Value = Value> {
    prop::sample::select(vec![
        "null", "boolean", "int", "long", "float", "double", "bytes", "string",
    ])
    .prop_map(|p| json!(p))
}

/// Any JSON value, for defaults and odd attributes.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        prop::sample::select(vec!["", "a", "A", "B", "\u{0}", "\u{ff}", "é"])
            .prop_map(|s| json!(s)),
        name().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((field_name(), inner), 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec!["a", "b", "c", "x"]).prop_map(str::to_owned),
        1 => name(),
    ]
}

fn logical() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0i64..40, -2i64..40, any::<bool>()).prop_map(|(p, s, fixed)| if fixed {
            json!({"type": "fixed", "name": "D", "size": (p / 2).max(0), "logicalType": "decimal", "precision": p, "scale": s})
        } else {
            json!({"type": "bytes", "logicalType": "decimal", "precision": p, "scale": s})
        }),
        prop::sample::select(vec![
            json!({"type": "int", "logicalType": "date"}),
            json!({"type": "long", "logicalType": "timestamp-millis"}),
            json!({"type": "string", "logicalType": "uuid"}),
            json!({"type": "fixed", "name": "U", "size": 16, "logicalType": "uuid"}),
            json!({"type": "fixed", "name": "Dur", "size": 12, "logicalType": "duration"}),
            json!({"type": "bytes", "logicalType": "big-decimal"}),
            json!({"type": "int", "logicalType": "nonsense"}),
            json!({"type": "string", "logicalType": 1}),
        ]),
    ]
}

/// A JSON value shaped like an Avro schema (often a valid one).
pub fn schema() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        4 => primitive(),
        2 => name().prop_map(Value::String),
        1 => logical(),
        1 => (name(), prop::collection::vec("[A-Z][A-Z0-9_]{0,3}", 0..4), proptest::option::of(any_json()))
            .prop_map(|(n, symbols, default)| {
                let mut o = json!({"type": "enum", "name": n, "symbols": symbols});
                if let Some(d) = default { o["default"] = d; }
                o
            }),
        1 => (name(), -2i64..40).prop_map(|(n, size)| json!({"type": "fixed", "name": n, "size": size})),
        1 => any_json(),
    ];
    leaf.prop_recursive(5, 48, 5, |inner| {
        let field = (
            field_name(),
            inner.clone(),
            proptest::option::weighted(0.4, any_json()),
            proptest::option::weighted(0.05, prop::sample::select(vec!["ascending", "descending", "ignore", "x"])),
            proptest::option::weighted(0.05, prop::collection::vec(field_name(), 0..3)),
        )
            .prop_map(|(n, t, default, order, aliases)| {
                let mut f = Map::new();
                f.insert("name".into(), json!(n));
                f.insert("type".into(), t);
                if let Some(d) = default { f.insert("default".into(), d); }
                if let Some(o) = order { f.insert("order".into(), json!(o)); }
                if let Some(a) = aliases { f.insert("aliases".into(), json!(a)); }
                Value::Object(f)
            });
        prop_oneof![
            4 => (name(), proptest::option::weighted(0.3, name()), prop::collection::vec(field, 0..4), any::<bool>())
                .prop_map(|(n, ns, fields, error)| {
                    let mut o = json!({"type": if error { "error" } else { "record" }, "name": n, "fields": fields});
                    if let Some(ns) = ns { o["namespace"] = json!(ns); }
                    o
                }),
            2 => prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            1 => inner.clone().prop_map(|i| json!({"type": "array", "items": i})),
            1 => (inner.clone(), proptest::option::weighted(0.3, any_json())).prop_map(|(v, d)| {
                let mut o = json!({"type": "map", "values": v});
                if let Some(d) = d { o["default"] = d; }
                o
            }),
            1 => inner.prop_map(|t| json!({"type": t})),
        ]
    })
}

/// A schema, sometimes wrapped so that a record refers to itself (`A` with fields of
/// type `A`, `[null, A]`, `{array of A}`, with defaults).
pub fn self_referring() -> impl Strategy<Value = Value> {
    (schema(), any_json(), any_json(), 0usize..4).prop_map(|(inner, d1, d2, how)| {
        let recur = match how {
            0 => json!("A"),
            1 => json!(["null", "A"]),
            2 => json!({"type": "array", "items": "A"}),
            _ => json!([{"type": "map", "values": "A"}, "A"]),
        };
        json!({"type": "record", "name": "A", "fields": [
            {"name": "a", "type": recur, "default": d1},
            {"name": "b", "type": inner, "default": d2},
        ]})
    })
}

/// A schema nested `depth` JSON levels deep, in one of several shapes.
pub fn deep(depth: usize, shape: usize) -> Value {
    deep_of(depth, shape, "int")
}

/// A schema nested `depth` JSON levels deep in one of several shapes, `bottom` the type
/// at the bottom.
pub fn deep_of(depth: usize, shape: usize, bottom: &str) -> Value {
    let mut v = json!(bottom);
    let mut level = 0;
    while level < depth {
        v = match shape {
            0 => json!({"type": "array", "items": v}),
            1 => json!({"type": "map", "values": v}),
            // A record per 3 JSON levels (object, fields array, field object).
            2 => {
                json!({"type": "record", "name": format!("R{level}"), "fields": [{"name": "f", "type": v}]})
            }
            // A default nested as deep as the type it is a default of.
            3 => {
                let mut d = json!(1);
                let mut t = json!(bottom);
                for _ in 0..depth / 2 {
                    t = json!({"type": "array", "items": t});
                    d = json!([d]);
                }
                level = depth;
                json!({"type": "record", "name": "R", "fields": [{"name": "f", "type": t, "default": d}]})
            }
            // A union in an array in a union...
            4 => json!(["null", {"type": "array", "items": v}]),
            // A type wrapped in `{"type": …}`.
            _ => json!({"type": v}),
        };
        level += match shape {
            2 => 3,
            4 => 2,
            _ => 1,
        };
    }
    v
}
