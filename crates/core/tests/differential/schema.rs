//! A small Avro schema model the generator mutates.
//!
//! Named types are referred to by full name; [`normalize`] keeps a mutated tree valid
//! (each name defined once, before its references; unions flat and without duplicates;
//! defaults that fit their field).

use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prim {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
}

impl Prim {
    pub const ALL: [Prim; 8] = [
        Prim::Null,
        Prim::Boolean,
        Prim::Int,
        Prim::Long,
        Prim::Float,
        Prim::Double,
        Prim::Bytes,
        Prim::String,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Prim::Null => "null",
            Prim::Boolean => "boolean",
            Prim::Int => "int",
            Prim::Long => "long",
            Prim::Float => "float",
            Prim::Double => "double",
            Prim::Bytes => "bytes",
            Prim::String => "string",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FullName {
    pub namespace: Option<String>,
    pub name: String,
}

impl FullName {
    pub fn display(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{ns}.{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// How a named type spells its name: relying on the enclosing namespace, with a
/// `namespace` attribute, or as a dotted full name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameStyle {
    Inherit,
    Explicit,
    Dotted,
}

#[derive(Clone, Debug)]
pub struct Named {
    pub full: FullName,
    pub style: NameStyle,
    pub aliases: Vec<String>,
    pub kind: NamedKind,
}

#[derive(Clone, Debug)]
pub enum NamedKind {
    Record(Vec<Field>),
    Enum {
        symbols: Vec<String>,
        default: Option<String>,
    },
    /// A size, and maybe a logical type (an index into [`FIXED_LOGICAL`]).
    Fixed(usize, Option<usize>),
}

/// Logical types on primitives (the last three invalid: each parser keeps the base type
/// or rejects), each with its base type.
pub const LOGICAL: [(&str, Prim); 14] = [
    (r#"{"type":"int","logicalType":"date"}"#, Prim::Int),
    (r#"{"type":"int","logicalType":"time-millis"}"#, Prim::Int),
    (r#"{"type":"long","logicalType":"time-micros"}"#, Prim::Long),
    (
        r#"{"type":"long","logicalType":"timestamp-millis"}"#,
        Prim::Long,
    ),
    (
        r#"{"type":"long","logicalType":"timestamp-micros"}"#,
        Prim::Long,
    ),
    (
        r#"{"type":"long","logicalType":"timestamp-nanos"}"#,
        Prim::Long,
    ),
    (
        r#"{"type":"long","logicalType":"local-timestamp-millis"}"#,
        Prim::Long,
    ),
    (
        r#"{"type":"long","logicalType":"local-timestamp-nanos"}"#,
        Prim::Long,
    ),
    (r#"{"type":"string","logicalType":"uuid"}"#, Prim::String),
    (
        r#"{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}"#,
        Prim::Bytes,
    ),
    (
        r#"{"type":"bytes","logicalType":"big-decimal"}"#,
        Prim::Bytes,
    ),
    (
        r#"{"type":"bytes","logicalType":"decimal","precision":4,"scale":6}"#,
        Prim::Bytes,
    ),
    (r#"{"type":"string","logicalType":"date"}"#, Prim::String),
    (r#"{"type":"int","logicalType":"no-such-type"}"#, Prim::Int),
];

/// Logical types on fixed, with the size each needs.
pub const FIXED_LOGICAL: [(&str, usize); 3] = [
    (r#"{"logicalType":"duration"}"#, 12),
    (r#"{"logicalType":"decimal","precision":10,"scale":2}"#, 8),
    (r#"{"logicalType":"uuid"}"#, 16),
];

#[derive(Clone, Debug)]
pub struct Field {
    pub name: String,
    pub aliases: Vec<String>,
    pub ty: Ty,
    pub default: FieldDefault,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FieldDefault {
    None,
    /// A value of the type's first branch, computed when written.
    Natural,
    /// `"default": null`.
    Null,
    /// One of [`ODD_DEFAULTS`], whether it fits or not: probes the parsers.
    Odd(usize),
}

/// Defaults the parsers may judge differently against some field types.
pub const ODD_DEFAULTS: [&str; 8] = [
    "1",
    "1.0",
    "1.5",
    "\"x\"",
    "\"\\u00ff\"",
    "true",
    "[1]",
    "{\"a\":1}",
];

#[derive(Clone, Debug)]
pub enum Ty {
    Prim(Prim),
    /// An index into [`LOGICAL`].
    Logical(usize),
    Named(Box<Named>),
    Ref(FullName),
    Array(Box<Ty>),
    Map(Box<Ty>),
    Union(Vec<Ty>),
}

impl Ty {
    /// What a union tells its branches apart by.
    fn union_key(&self) -> String {
        match self {
            Ty::Prim(p) => p.as_str().to_owned(),
            Ty::Logical(i) => LOGICAL[*i].1.as_str().to_owned(),
            Ty::Named(n) => n.full.display(),
            Ty::Ref(full) => full.display(),
            Ty::Array(_) => "array".to_owned(),
            Ty::Map(_) => "map".to_owned(),
            Ty::Union(_) => "union".to_owned(),
        }
    }

    fn admits_null(&self) -> bool {
        match self {
            Ty::Prim(Prim::Null) => true,
            Ty::Union(branches) => branches.iter().any(Ty::admits_null),
            _ => false,
        }
    }

    /// Every node, parents before children (named types' field types included).
    pub fn count(&self) -> usize {
        1 + match self {
            Ty::Array(t) | Ty::Map(t) => t.count(),
            Ty::Union(branches) => branches.iter().map(Ty::count).sum(),
            Ty::Named(n) => match &n.kind {
                NamedKind::Record(fields) => fields.iter().map(|f| f.ty.count()).sum(),
                _ => 0,
            },
            Ty::Prim(_) | Ty::Logical(_) | Ty::Ref(_) => 0,
        }
    }

    /// Calls `f` on the `k`-th node in the order of [`Ty::count`].
    pub fn at(&mut self, k: &mut usize, f: &mut dyn FnMut(&mut Ty)) -> bool {
        if *k == 0 {
            f(self);
            return true;
        }
        *k -= 1;
        match self {
            Ty::Array(t) | Ty::Map(t) => t.at(k, f),
            Ty::Union(branches) => branches.iter_mut().any(|b| b.at(k, f)),
            Ty::Named(n) => match &mut n.kind {
                NamedKind::Record(fields) => fields.iter_mut().any(|fd| fd.ty.at(k, f)),
                _ => false,
            },
            Ty::Prim(_) | Ty::Logical(_) | Ty::Ref(_) => false,
        }
    }

    /// Points every reference to `from` at `to`.
    pub fn rename_refs(&mut self, from: &FullName, to: &FullName) {
        match self {
            Ty::Ref(full) if full == from => *full = to.clone(),
            Ty::Array(t) | Ty::Map(t) => t.rename_refs(from, to),
            Ty::Union(branches) => branches.iter_mut().for_each(|b| b.rename_refs(from, to)),
            Ty::Named(n) => {
                if let NamedKind::Record(fields) = &mut n.kind {
                    fields.iter_mut().for_each(|f| f.ty.rename_refs(from, to));
                }
            }
            Ty::Prim(_) | Ty::Logical(_) | Ty::Ref(_) => {}
        }
    }

    /// Every named type defined in the tree, by full name (the first definition wins).
    pub fn definitions(&self, defs: &mut BTreeMap<FullName, Named>) {
        match self {
            Ty::Array(t) | Ty::Map(t) => t.definitions(defs),
            Ty::Union(branches) => branches.iter().for_each(|b| b.definitions(defs)),
            Ty::Named(n) => {
                defs.entry(n.full.clone()).or_insert_with(|| (**n).clone());
                if let NamedKind::Record(fields) = &n.kind {
                    fields.iter().for_each(|f| f.ty.definitions(defs));
                }
            }
            Ty::Prim(_) | Ty::Logical(_) | Ty::Ref(_) => {}
        }
    }
}

/// Makes a mutated tree a valid schema again: unions flattened and deduplicated, each
/// named type defined at its first use in document order (from `defs` when a mutation
/// removed the definition) and referred to afterwards, defaults that fit.
pub fn normalize(ty: &mut Ty, defs: &BTreeMap<FullName, Named>, seen: &mut BTreeSet<FullName>) {
    match ty {
        Ty::Ref(full) => {
            if !seen.contains(full)
                && let Some(def) = defs.get(full)
            {
                *ty = Ty::Named(Box::new(def.clone()));
                normalize(ty, defs, seen);
            }
        }
        Ty::Named(n) => {
            if !seen.insert(n.full.clone()) {
                *ty = Ty::Ref(n.full.clone());
                return;
            }
            match &mut n.kind {
                NamedKind::Record(fields) => {
                    for field in fields.iter_mut() {
                        normalize(&mut field.ty, defs, seen);
                        if field.default == FieldDefault::Null && !field.ty.admits_null() {
                            field.default = FieldDefault::Natural;
                        }
                    }
                }
                NamedKind::Enum { symbols, default } => {
                    if default.as_ref().is_some_and(|d| !symbols.contains(d)) {
                        *default = None;
                    }
                }
                NamedKind::Fixed(..) => {}
            }
        }
        Ty::Array(t) | Ty::Map(t) => normalize(t, defs, seen),
        Ty::Union(branches) => {
            fn flatten(branches: Vec<Ty>, into: &mut Vec<Ty>) {
                for branch in branches {
                    match branch {
                        Ty::Union(inner) => flatten(inner, into),
                        other => into.push(other),
                    }
                }
            }
            let mut flat = Vec::new();
            flatten(std::mem::take(branches), &mut flat);
            let mut keys = BTreeSet::new();
            flat.retain(|b| keys.insert(b.union_key()));
            *branches = flat;
            for branch in branches.iter_mut() {
                normalize(branch, defs, seen);
            }
        }
        Ty::Prim(_) | Ty::Logical(_) => {}
    }
}
