//! Reader/writer pairs: a random base schema, and each side a few mutations of it, so
//! that compatible and incompatible pairs are both common.

use std::collections::{BTreeMap, BTreeSet};

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::Value;

use super::json::to_json;
use super::schema::{
    FIXED_LOGICAL, Field, FieldDefault, FullName, LOGICAL, NameStyle, Named, NamedKind,
    ODD_DEFAULTS, Prim, Ty, normalize,
};

const RECORDS: [&str; 8] = [
    "Order", "Item", "Address", "Node", "Money", "Customer", "Line", "Tree",
];
const ENUMS: [&str; 4] = ["Status", "Color", "Kind", "Level"];
const FIXEDS: [&str; 3] = ["Md5", "Hash", "Uuid"];
pub(crate) const NAMESPACES: [Option<&str>; 4] =
    [None, Some("shop"), Some("shop.v2"), Some("org.events")];
pub(crate) const FIELDS: [&str; 12] = [
    "id", "amount", "name", "items", "status", "next", "note", "price", "count", "tags", "meta",
    "code",
];
pub(crate) const SYMBOLS: [&str; 8] = ["A", "B", "C", "_Z", "b2", "D", "Aa", "E"];

#[derive(Debug)]
pub struct Pair {
    pub reader: Value,
    pub writer: Value,
}

/// `count` pairs, the same ones for the same `seed`.
pub fn pairs(seed: u64, count: usize) -> Vec<Pair> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut pairs = Vec::with_capacity(count);
    while pairs.len() < count {
        let base = Gen::new(&mut rng).base();
        let (r, w) = *[(1, 0), (0, 1), (1, 1), (2, 0), (0, 2), (2, 1), (0, 0)]
            .choose(&mut rng)
            .expect("not empty");
        let reader = mutated(&base, r, &mut rng);
        let writer = mutated(&base, w, &mut rng);
        if let (Some(reader), Some(writer)) = (reader, writer) {
            pairs.push(Pair { reader, writer });
        }
    }
    pairs
}

/// Whether Avro Java's name lookup may read `ty` otherwise than the specification (and
/// apache-avro) do. Avro Java looks a short name up in the current namespace and, when
/// no type of that full name is defined yet, in the null namespace. So a reference from
/// inside a namespace to a type of the null namespace (which the specification has no
/// way to write: a short name there means the enclosing namespace's), or a short-name
/// reference to an enclosing record while a type of the null namespace has the same
/// short name, means another type to Avro Java. The generator does not make such
/// schemas.
fn java_reads_names_otherwise(ty: &Ty) -> bool {
    let mut defs = BTreeMap::new();
    ty.definitions(&mut defs);
    let shadowed = defs.keys().any(|a| {
        a.namespace.is_none()
            && defs
                .keys()
                .any(|b| b.namespace.is_some() && b.name == a.name)
    });
    shadowed || refers_to_null_namespace_from_inside_one(ty, None)
}

/// Whether `ty`, written inside namespace `ns`, refers to a named type of the null
/// namespace from inside a namespace.
fn refers_to_null_namespace_from_inside_one(ty: &Ty, ns: Option<&str>) -> bool {
    match ty {
        Ty::Ref(full) => full.namespace.is_none() && ns.is_some(),
        Ty::Array(t) | Ty::Map(t) => refers_to_null_namespace_from_inside_one(t, ns),
        Ty::Union(branches) => branches
            .iter()
            .any(|b| refers_to_null_namespace_from_inside_one(b, ns)),
        Ty::Named(n) => match &n.kind {
            NamedKind::Record(fields) => fields.iter().any(|f| {
                refers_to_null_namespace_from_inside_one(&f.ty, n.full.namespace.as_deref())
            }),
            _ => false,
        },
        Ty::Prim(_) | Ty::Logical(_) => false,
    }
}

/// `base` mutated, as JSON; none when Avro Java would read its names otherwise (see
/// [`java_reads_names_otherwise`]).
fn mutated(base: &Ty, mutations: usize, rng: &mut StdRng) -> Option<Value> {
    let mut ty = base.clone();
    for _ in 0..mutations {
        let mut k = rng.random_range(0..ty.count());
        let mut defs = BTreeMap::new();
        ty.definitions(&mut defs);
        let mut mutator = Gen {
            rng: &mut *rng,
            used: defs.keys().cloned().collect(),
            done: defs.into_keys().collect(),
            enclosing: Vec::new(),
            renamed: Vec::new(),
        };
        ty.at(&mut k, &mut |node| mutator.mutate(node));
        for (from, to) in std::mem::take(&mut mutator.renamed) {
            ty.rename_refs(&from, &to);
        }
    }
    let mut defs = BTreeMap::new();
    ty.definitions(&mut defs);
    base.definitions(&mut defs);
    normalize(&mut ty, &defs, &mut BTreeSet::new());
    if java_reads_names_otherwise(&ty) {
        return None;
    }
    let mut defs = BTreeMap::new();
    ty.definitions(&mut defs);
    Some(to_json(&ty, None, &defs))
}

pub(crate) struct Gen<'a> {
    pub(crate) rng: &'a mut StdRng,
    /// Full names of the named types in the schema (short names may repeat across
    /// namespaces, which Avro Java's name check ignores).
    pub(crate) used: BTreeSet<FullName>,
    /// Named types defined so far (references to them may follow).
    pub(crate) done: Vec<FullName>,
    /// The records being generated, innermost last: references to them recurse.
    pub(crate) enclosing: Vec<FullName>,
    /// Named types a mutation renamed, whose references must follow.
    pub(crate) renamed: Vec<(FullName, FullName)>,
}

impl Gen<'_> {
    fn new(rng: &mut StdRng) -> Gen<'_> {
        Gen {
            rng,
            used: BTreeSet::new(),
            done: Vec::new(),
            enclosing: Vec::new(),
            renamed: Vec::new(),
        }
    }

    pub(crate) fn p(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    pub(crate) fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        *from.choose(self.rng).expect("not empty")
    }

    fn base(&mut self) -> Ty {
        let ns = self.pick(&NAMESPACES).map(str::to_owned);
        if self.p(0.9) {
            self.record(0, ns)
        } else {
            self.ty(1, ns)
        }
    }

    pub(crate) fn fresh(&mut self, pool: &[&str], namespace: Option<String>) -> FullName {
        let base = self.pick(pool);
        let full = (0..)
            .map(|i| FullName {
                namespace: namespace.clone(),
                name: if i == 0 {
                    base.to_owned()
                } else {
                    format!("{base}{i}")
                },
            })
            .find(|n| !self.used.contains(n))
            .expect("a free name");
        self.used.insert(full.clone());
        full
    }

    fn named(&mut self, pool: &[&str], ns: Option<String>, kind: NamedKind) -> Ty {
        let (namespace, style) = match self.rng.random_range(0..10) {
            0..7 => (ns, NameStyle::Inherit),
            7..9 => (
                self.pick(&NAMESPACES).map(str::to_owned),
                NameStyle::Explicit,
            ),
            _ => (
                self.pick(&NAMESPACES[1..]).map(str::to_owned),
                NameStyle::Dotted,
            ),
        };
        let full = self.fresh(pool, namespace);
        let aliases = if self.p(0.15) {
            vec![format!("{}Old", full.name)]
        } else {
            Vec::new()
        };
        Ty::Named(Box::new(Named {
            full,
            style,
            aliases,
            kind,
        }))
    }

    fn record(&mut self, depth: usize, ns: Option<String>) -> Ty {
        let Ty::Named(mut named) = self.named(&RECORDS, ns, NamedKind::Record(Vec::new())) else {
            unreachable!("named() makes a named type")
        };
        self.enclosing.push(named.full.clone());
        let mut fields: Vec<Field> = Vec::new();
        for _ in 0..self.rng.random_range(1..=4) {
            let ty = self.ty(depth + 1, named.full.namespace.clone());
            fields.push(self.field(&fields, ty));
        }
        if self.p(0.25) {
            let me = Ty::Ref(named.full.clone());
            let ty = match self.rng.random_range(0..4) {
                0 => Ty::Union(vec![Ty::Prim(Prim::Null), me]),
                1 => Ty::Union(vec![me, Ty::Prim(Prim::Null)]),
                2 => Ty::Array(Box::new(me)),
                _ => Ty::Map(Box::new(me)),
            };
            fields.push(self.field(&fields, ty));
        }
        self.enclosing.pop();
        named.kind = NamedKind::Record(fields);
        self.done.push(named.full.clone());
        Ty::Named(named)
    }

    pub(crate) fn field(&mut self, siblings: &[Field], ty: Ty) -> Field {
        let free: Vec<&str> = FIELDS
            .into_iter()
            .filter(|n| siblings.iter().all(|f| f.name != *n))
            .collect();
        let name = self.pick(&free).to_owned();
        let aliases = if self.p(0.1) {
            vec![format!("{name}_v0")]
        } else {
            Vec::new()
        };
        let default = match self.rng.random_range(0..100) {
            0..40 => FieldDefault::None,
            40..80 => FieldDefault::Natural,
            80..98 => FieldDefault::Null,
            _ => FieldDefault::Odd(self.rng.random_range(0..ODD_DEFAULTS.len())),
        };
        Field {
            name,
            aliases,
            ty,
            default,
        }
    }

    pub(crate) fn ty(&mut self, depth: usize, ns: Option<String>) -> Ty {
        let roll = self.rng.random_range(0..100);
        match roll {
            0..32 => Ty::Prim(self.pick(&Prim::ALL[1..])),
            32..40 => Ty::Logical(self.rng.random_range(0..LOGICAL.len())),
            40..50 if depth < 3 => self.record(depth, ns),
            50..60 => self.enumeration(ns),
            60..66 => {
                let logical = self
                    .p(0.3)
                    .then(|| self.rng.random_range(0..FIXED_LOGICAL.len()));
                let size = logical.map_or_else(|| self.pick(&[4, 8, 16]), |i| FIXED_LOGICAL[i].1);
                self.named(&FIXEDS, ns, NamedKind::Fixed(size, logical))
            }
            66..74 if depth < 4 => Ty::Array(Box::new(self.ty(depth + 1, ns))),
            74..80 if depth < 4 => Ty::Map(Box::new(self.ty(depth + 1, ns))),
            80..92 if depth < 4 => self.union(depth, ns),
            92..97 if !self.done.is_empty() => Ty::Ref(self.pick_done()),
            97..100 if !self.enclosing.is_empty() => {
                let outer = Ty::Ref(self.enclosing.choose(self.rng).expect("not empty").clone());
                match self.rng.random_range(0..3) {
                    0 => Ty::Union(vec![Ty::Prim(Prim::Null), outer]),
                    1 => Ty::Array(Box::new(outer)),
                    _ => Ty::Union(vec![Ty::Prim(Prim::String), outer, Ty::Prim(Prim::Null)]),
                }
            }
            _ => Ty::Prim(self.pick(&Prim::ALL[1..])),
        }
    }

    fn pick_done(&mut self) -> FullName {
        self.done.choose(self.rng).expect("not empty").clone()
    }

    fn enumeration(&mut self, ns: Option<String>) -> Ty {
        let n = self.rng.random_range(1..=4);
        let symbols: Vec<String> = SYMBOLS[..n].iter().map(|s| (*s).to_owned()).collect();
        let default = if self.p(0.3) {
            symbols.choose(self.rng).cloned()
        } else {
            None
        };
        self.named(&ENUMS, ns, NamedKind::Enum { symbols, default })
    }

    fn union(&mut self, depth: usize, ns: Option<String>) -> Ty {
        let mut branches = vec![Ty::Prim(Prim::Null)];
        for _ in 0..self.rng.random_range(1..=3) {
            branches.push(self.ty(depth + 1, ns.clone()));
        }
        if self.p(0.3) {
            branches.rotate_left(1);
        }
        Ty::Union(branches)
    }
}
