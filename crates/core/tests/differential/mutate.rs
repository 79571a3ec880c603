//! The mutations that turn a base schema into a reader or a writer: promotions,
//! unions widened and narrowed, fields added, removed, renamed, enums and fixed changed,
//! names and namespaces changed, with or without aliases.

use rand::Rng;
use rand::seq::IndexedRandom;

use super::generate::{FIELDS, Gen, NAMESPACES, SYMBOLS};
use super::schema::{Field, FieldDefault, FullName, LOGICAL, Named, NamedKind, Prim, Ty};

impl Gen<'_> {
    /// One change to one node; named types change where they are defined.
    pub(crate) fn mutate(&mut self, node: &mut Ty) {
        let ns = Some("shop".to_owned());
        match self.rng.random_range(0..10) {
            0 => *node = self.ty(2, ns),
            1 => {
                let inner = std::mem::replace(node, Ty::Prim(Prim::Null));
                let other = if self.p(0.7) {
                    Ty::Prim(Prim::Null)
                } else {
                    self.ty(3, ns)
                };
                *node = Ty::Union(if self.p(0.5) {
                    vec![other, inner]
                } else {
                    vec![inner, other]
                });
            }
            _ => match node {
                Ty::Prim(p) => match LOGICAL.iter().position(|(_, base)| base == p) {
                    Some(_) if self.p(0.2) => {
                        let same_base: Vec<usize> =
                            (0..LOGICAL.len()).filter(|i| LOGICAL[*i].1 == *p).collect();
                        *node = Ty::Logical(self.pick(&same_base));
                    }
                    _ => *p = self.promoted_or_demoted(*p),
                },
                Ty::Logical(i) => {
                    let base = LOGICAL[*i].1;
                    *node = Ty::Prim(if self.p(0.5) {
                        base
                    } else {
                        self.promoted_or_demoted(base)
                    });
                }
                Ty::Array(t) if self.p(0.3) => *node = Ty::Map(t.clone()),
                Ty::Map(t) if self.p(0.3) => *node = Ty::Array(t.clone()),
                Ty::Union(branches) => self.mutate_union(branches),
                Ty::Named(named) => self.mutate_named(named),
                _ => *node = self.ty(2, ns),
            },
        }
    }

    fn promoted_or_demoted(&mut self, p: Prim) -> Prim {
        use Prim::*;
        let ladder = [Int, Long, Float, Double];
        if let Some(i) = ladder.iter().position(|x| *x == p) {
            return self.pick(
                &ladder[..i]
                    .iter()
                    .chain(&ladder[i + 1..])
                    .copied()
                    .collect::<Vec<_>>(),
            );
        }
        match p {
            Bytes => String,
            String => Bytes,
            _ => self.pick(&Prim::ALL),
        }
    }

    fn mutate_union(&mut self, branches: &mut Vec<Ty>) {
        match self.rng.random_range(0..5) {
            0 if branches.len() > 1 => {
                let i = self.rng.random_range(0..branches.len());
                branches.remove(i);
            }
            1 => {
                let i = self.rng.random_range(0..branches.len());
                let one = branches.swap_remove(i);
                *branches = vec![one];
            }
            2 => branches.reverse(),
            _ => {
                let extra = self.ty(3, Some("shop".to_owned()));
                let i = self.rng.random_range(0..=branches.len());
                branches.insert(i, extra);
            }
        }
    }

    fn mutate_named(&mut self, named: &mut Named) {
        let old = named.full.clone();
        match self.rng.random_range(0..10) {
            0 => {
                named.full = self.fresh(&[old.name.as_str()], old.namespace.clone());
                match self.rng.random_range(0..3) {
                    0 => named.aliases.push(old.display()),
                    1 => named.aliases.push(old.name.clone()),
                    _ => {}
                }
                self.renamed.push((old, named.full.clone()));
            }
            1 => {
                let moved = FullName {
                    namespace: self.pick(&NAMESPACES).map(str::to_owned),
                    name: old.name.clone(),
                };
                if self.used.insert(moved.clone()) {
                    named.full = moved;
                    self.renamed.push((old, named.full.clone()));
                }
            }
            2 => {
                named.aliases = if named.aliases.is_empty() {
                    vec![format!("{}Old", named.full.name)]
                } else {
                    Vec::new()
                }
            }
            _ => match &mut named.kind {
                NamedKind::Fixed(size, logical) => {
                    if self.p(0.3) {
                        *logical = None;
                    } else {
                        *size = if *size == 8 { 16 } else { 8 };
                    }
                }
                NamedKind::Enum { symbols, default } => self.mutate_enum(symbols, default),
                NamedKind::Record(fields) => self.mutate_record(fields),
            },
        }
    }

    fn mutate_enum(&mut self, symbols: &mut Vec<String>, default: &mut Option<String>) {
        match self.rng.random_range(0..4) {
            0 if symbols.len() > 1 => {
                let i = self.rng.random_range(0..symbols.len());
                symbols.remove(i);
            }
            1 => {
                *default = if default.is_some() {
                    None
                } else {
                    symbols.choose(self.rng).cloned()
                }
            }
            2 => symbols.reverse(),
            _ => {
                if let Some(s) = SYMBOLS.iter().find(|s| !symbols.iter().any(|x| x == *s)) {
                    let i = self.rng.random_range(0..=symbols.len());
                    symbols.insert(i, (*s).to_owned());
                }
            }
        }
    }

    fn mutate_record(&mut self, fields: &mut Vec<Field>) {
        let i = self.rng.random_range(0..fields.len());
        match self.rng.random_range(0..13) {
            0 => {
                // An alias naming another field: Java's check throws if the writer has both.
                let other = fields.choose(self.rng).expect("not empty").name.clone();
                fields[i].aliases.push(other);
            }
            1 | 2 if fields.len() > 1 => {
                fields.remove(i);
            }
            3 | 4 if fields.len() < FIELDS.len() => {
                let ty = self.ty(3, Some("shop".to_owned()));
                let field = self.field(fields, ty);
                fields.insert(self.rng.random_range(0..=fields.len()), field);
            }
            5 | 6 if fields.len() < FIELDS.len() => {
                let renamed = self.field(fields, Ty::Prim(Prim::Null)).name;
                let old = std::mem::replace(&mut fields[i].name, renamed);
                fields[i].aliases = if self.p(0.6) { vec![old] } else { Vec::new() };
            }
            7 | 8 => {
                fields[i].default = match fields[i].default {
                    FieldDefault::None => self.pick(&[FieldDefault::Natural, FieldDefault::Null]),
                    _ => FieldDefault::None,
                }
            }
            9 if fields.len() > 1 => {
                let j = self.rng.random_range(0..fields.len());
                fields.swap(i, j);
            }
            _ => {
                let ns = Some("shop".to_owned());
                fields[i].ty = if self.p(0.5) {
                    self.ty(3, ns)
                } else {
                    Ty::Prim(self.pick(&Prim::ALL))
                };
            }
        }
    }
}
