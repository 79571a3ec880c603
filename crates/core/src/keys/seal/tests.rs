use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};

use super::*;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn key(generation: u32) -> SubjectKey {
    SubjectKey {
        generation,
        key: DataKey::generate(),
    }
}

/// The GCM specification's (McGrew and Viega) test cases 13 and 14: AES-256, a zero key
/// and a zero 96-bit IV, an empty and a one-block zero plaintext.
#[test]
fn the_cipher_gives_the_gcm_specifications_own_test_vectors() {
    let cipher = Aes256Gcm::new(&[0u8; 32].into());
    let nonce = &Nonce::from([0u8; 12]);
    assert_eq!(
        cipher.encrypt(nonce, &[][..]).unwrap(),
        hex("530f8afbc74536b9a963b4f1c4cb738b")
    );
    assert_eq!(
        cipher.encrypt(nonce, &[0u8; 16][..]).unwrap(),
        hex("cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919")
    );
}

#[test]
fn a_sealed_value_opens_with_its_key_and_shows_no_plaintext() {
    let key = key(3);
    let sealed = seal("c-1", &key, b"1 Main Street, Springfield");
    assert!(
        !sealed
            .windows(b"Main Street".len())
            .any(|w| w == b"Main Street")
    );
    let envelope = parse(&sealed).unwrap();
    assert_eq!((envelope.subject, envelope.generation), ("c-1", 3));
    assert_eq!(
        open_with(&envelope, &key.key).unwrap(),
        b"1 Main Street, Springfield"
    );
    assert_ne!(
        sealed,
        seal("c-1", &key, b"1 Main Street, Springfield"),
        "a fresh nonce each time"
    );
}

#[test]
fn a_sealed_value_altered_anywhere_or_moved_to_another_subject_does_not_open() {
    let key = key(1);
    let sealed = seal("c-1", &key, b"secret");
    for i in 4..sealed.len() {
        let mut altered = sealed.clone();
        altered[i] ^= 0x01;
        let opened = parse(&altered).and_then(|e| open_with(&e, &key.key));
        assert!(opened.is_err(), "byte {i} altered still opens");
    }
    let other = seal("c-2", &key, b"secret");
    let mut moved = sealed.clone();
    moved.splice(6..9, b"c-2".iter().copied());
    assert_eq!(parse(&moved).unwrap().subject, "c-2");
    assert!(matches!(
        open_with(&parse(&moved).unwrap(), &key.key),
        Err(SealError::Tampered { .. })
    ));
    assert!(open_with(&parse(&other).unwrap(), &key.key).is_ok());
}

#[test]
fn what_is_not_a_sealed_value_says_so() {
    assert!(matches!(parse(b"1 Main Street"), Err(SealError::NotSealed)));
    assert!(matches!(parse(&MAGIC), Err(SealError::Malformed(_))));
    let sealed = seal("c-1", &key(1), b"x");
    for cut in 5..sealed.len() - 1 {
        assert!(
            parse(&sealed[..cut]).is_err()
                || open_with(&parse(&sealed[..cut]).unwrap(), &DataKey([0; 32])).is_err(),
            "cut at {cut}"
        );
    }
}
