//! The JSON form of a generated schema, defaults included.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::schema::{
    FIXED_LOGICAL, Field, FieldDefault, FullName, LOGICAL, NameStyle, Named, NamedKind,
    ODD_DEFAULTS, Prim, Ty,
};

/// The schema's JSON, written inside a named type of namespace `ns`.
pub fn to_json(ty: &Ty, ns: Option<&str>, defs: &BTreeMap<FullName, Named>) -> Value {
    match ty {
        Ty::Prim(p) => json!(p.as_str()),
        Ty::Logical(i) => serde_json::from_str(LOGICAL[*i].0).expect("valid JSON"),
        Ty::Ref(full) if full.namespace.as_deref() == ns => json!(full.name),
        Ty::Ref(full) => json!(full.display()),
        Ty::Array(t) => json!({"type": "array", "items": to_json(t, ns, defs)}),
        Ty::Map(t) => json!({"type": "map", "values": to_json(t, ns, defs)}),
        Ty::Union(branches) => branches.iter().map(|b| to_json(b, ns, defs)).collect(),
        Ty::Named(n) => named_to_json(n, ns, defs),
    }
}

fn named_to_json(n: &Named, ns: Option<&str>, defs: &BTreeMap<FullName, Named>) -> Value {
    let own = n.full.namespace.as_deref();
    let mut o = Map::new();
    let kind = match n.kind {
        NamedKind::Record(_) => "record",
        NamedKind::Enum { .. } => "enum",
        NamedKind::Fixed(..) => "fixed",
    };
    o.insert("type".into(), json!(kind));
    match (n.style, own) {
        (NameStyle::Inherit, _) if own == ns => {
            o.insert("name".into(), json!(n.full.name));
        }
        (NameStyle::Dotted, Some(_)) => {
            o.insert("name".into(), json!(n.full.display()));
        }
        _ => {
            o.insert("name".into(), json!(n.full.name));
            o.insert("namespace".into(), json!(own.unwrap_or("")));
        }
    }
    if !n.aliases.is_empty() {
        o.insert("aliases".into(), json!(n.aliases));
    }
    match &n.kind {
        NamedKind::Record(fields) => {
            let fields: Vec<Value> = fields
                .iter()
                .map(|f| field_to_json(f, fields, own, defs))
                .collect();
            o.insert("fields".into(), Value::Array(fields));
        }
        NamedKind::Enum { symbols, default } => {
            o.insert("symbols".into(), json!(symbols));
            if let Some(d) = default {
                o.insert("default".into(), json!(d));
            }
        }
        NamedKind::Fixed(size, logical) => {
            o.insert("size".into(), json!(size));
            if let Some(Value::Object(attributes)) =
                logical.and_then(|i| serde_json::from_str(FIXED_LOGICAL[i].0).ok())
            {
                o.extend(attributes);
            }
        }
    }
    Value::Object(o)
}

/// A field of a record with fields `siblings`. An alias that names another of them is
/// left out: the registry refuses such a record on purpose (apache-avro: "Duplicate
/// field name"), since which field data written under that name belongs to is then
/// ambiguous; Avro Java parses it, but its check throws on such a pair.
fn field_to_json(
    f: &Field,
    siblings: &[Field],
    ns: Option<&str>,
    defs: &BTreeMap<FullName, Named>,
) -> Value {
    let mut o = Map::new();
    o.insert("name".into(), json!(f.name));
    o.insert("type".into(), to_json(&f.ty, ns, defs));
    let aliases: Vec<&String> = f
        .aliases
        .iter()
        .filter(|a| !siblings.iter().any(|s| &s.name == *a))
        .collect();
    if !aliases.is_empty() {
        o.insert("aliases".into(), json!(aliases));
    }
    let default = match f.default {
        FieldDefault::None => None,
        FieldDefault::Null => Some(Value::Null),
        // apache-avro 0.22 overflows its stack resolving an object default against a
        // union that also holds a record (which may be recursive): leave those out.
        FieldDefault::Natural if object_in_union_with_record(&f.ty, defs) => None,
        FieldDefault::Natural => natural(&f.ty, defs, &mut Vec::new()),
        FieldDefault::Odd(i) => serde_json::from_str(ODD_DEFAULTS[i]).ok(),
    };
    if let Some(d) = default {
        o.insert("default".into(), d);
    }
    Value::Object(o)
}

fn object_in_union_with_record(ty: &Ty, defs: &BTreeMap<FullName, Named>) -> bool {
    let is_record = |t: &Ty| match t {
        Ty::Named(n) => matches!(n.kind, NamedKind::Record(_)),
        Ty::Ref(full) => defs
            .get(full)
            .is_some_and(|n| matches!(n.kind, NamedKind::Record(_))),
        _ => false,
    };
    match ty {
        Ty::Union(branches) => {
            let first_is_object = branches
                .first()
                .is_some_and(|b| matches!(b, Ty::Map(_)) || is_record(b));
            first_is_object && branches.iter().skip(1).any(is_record)
        }
        _ => false,
    }
}

/// A value of `ty` (of a union's first branch), or none for a record that contains
/// itself without a way out.
fn natural(
    ty: &Ty,
    defs: &BTreeMap<FullName, Named>,
    visiting: &mut Vec<FullName>,
) -> Option<Value> {
    let named = match ty {
        Ty::Prim(p) => {
            return Some(match p {
                Prim::Null => Value::Null,
                Prim::Boolean => json!(true),
                Prim::Int => json!(7),
                Prim::Long => json!(9_000_000_000_i64),
                Prim::Float => json!(1.5),
                Prim::Double => json!(2.25),
                Prim::Bytes => json!("ab"),
                Prim::String => json!("s"),
            });
        }
        Ty::Logical(i) if LOGICAL[*i].0.contains("uuid") => {
            return Some(json!("6f1c8a2e-3d4b-4c5d-8e9f-0a1b2c3d4e5f"));
        }
        Ty::Logical(i) => return natural(&Ty::Prim(LOGICAL[*i].1), defs, visiting),
        Ty::Array(_) => return Some(json!([])),
        Ty::Map(_) => return Some(json!({})),
        Ty::Union(branches) => return natural(branches.first()?, defs, visiting),
        Ty::Named(n) => &**n,
        Ty::Ref(full) => defs.get(full)?,
    };
    if visiting.contains(&named.full) {
        return None;
    }
    visiting.push(named.full.clone());
    let value = match &named.kind {
        NamedKind::Record(fields) => {
            let mut o = Map::new();
            for f in fields {
                o.insert(f.name.clone(), natural(&f.ty, defs, visiting)?);
            }
            Some(Value::Object(o))
        }
        NamedKind::Enum { symbols, default } => default
            .clone()
            .or(symbols.first().cloned())
            .map(Value::String),
        NamedKind::Fixed(size, _) => Some(json!("x".repeat(*size))),
    };
    visiting.pop();
    value
}
