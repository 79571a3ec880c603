//! Damage done to a valid body: truncated, bytes flipped or inserted, a huge or
//! negative declared length spliced in, bytes appended.

use proptest::prelude::*;

/// An Avro long (zig-zag varint), as lengths and counts are written.
pub fn varint(n: i64) -> Vec<u8> {
    let mut z = ((n << 1) ^ (n >> 63)) as u64;
    let mut out = Vec::new();
    loop {
        let byte = (z & 0x7f) as u8;
        z >>= 7;
        if z == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

/// What is done to a valid body.
#[derive(Debug, Clone)]
pub enum Mutation {
    None,
    Truncate(prop::sample::Index),
    Flip(Vec<(prop::sample::Index, u8)>),
    Insert(prop::sample::Index, Vec<u8>),
    /// A declared length or count, huge or negative, spliced in (replacing a byte).
    Length(prop::sample::Index, i64),
    Append(Vec<u8>),
}

pub fn mutation() -> impl Strategy<Value = Mutation> {
    let huge = prop_oneof![
        Just(i64::MAX),
        Just(i64::MIN),
        Just(-1i64),
        Just(1i64 << 31),
        Just(1i64 << 40),
        (1i64 << 20)..(1i64 << 29),
        any::<i64>(),
    ];
    prop_oneof![
        1 => Just(Mutation::None),
        3 => any::<prop::sample::Index>().prop_map(Mutation::Truncate),
        4 => prop::collection::vec((any::<prop::sample::Index>(), 1u8..), 1..4).prop_map(Mutation::Flip),
        2 => (any::<prop::sample::Index>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
        3 => (any::<prop::sample::Index>(), huge).prop_map(|(i, n)| Mutation::Length(i, n)),
        1 => prop::collection::vec(any::<u8>(), 1..8).prop_map(Mutation::Append),
    ]
}

pub fn mutate(mut body: Vec<u8>, m: &Mutation) -> Vec<u8> {
    if body.is_empty() {
        return body;
    }
    match m {
        Mutation::None => {}
        Mutation::Truncate(i) => body.truncate(i.index(body.len())),
        Mutation::Flip(flips) => {
            for (i, x) in flips {
                let at = i.index(body.len());
                body[at] ^= x;
            }
        }
        Mutation::Insert(i, bytes) => {
            let at = i.index(body.len() + 1);
            body.splice(at..at, bytes.iter().copied());
        }
        Mutation::Length(i, n) => {
            let at = i.index(body.len());
            body.splice(at..=at, varint(*n));
        }
        Mutation::Append(bytes) => body.extend_from_slice(bytes),
    }
    body
}
