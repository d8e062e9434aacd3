//! AES-256-GCM over byte strings: what seals manifests, definitions and wrapped data keys.
//!
//! A sealed value is `nonce (12 bytes) || ciphertext || tag (16 bytes)`, with a fresh
//! random nonce each time (a key seals a few values at most, far below GCM's bound for
//! random nonces). The associated data binds it to where it belongs: opening it with
//! other associated data (another backup's id, another collection's) fails like a wrong
//! key does.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

use super::secret::{KEY_BYTES, SecretKey, fill_random};

/// Bytes a sealed value has beyond its plaintext.
pub const SEAL_OVERHEAD: usize = NONCE_LEN + 16;

/// Why a sealed value did not open: the key is not the one it was sealed with, or the
/// bytes (or what they are bound to) were altered. GCM cannot tell these apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unopened;

fn cipher(key: &SecretKey) -> LessSafeKey {
    LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, key.bytes()).expect("a 32-byte key is an AES-256 key"),
    )
}

/// Encrypts and authenticates `plaintext` under `key`, bound to `aad`.
pub fn seal(key: &SecretKey, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    fill_random(&mut nonce);
    let mut in_out = plaintext.to_vec();
    cipher(key)
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut in_out,
        )
        .expect("plaintexts are far below GCM's length limit");
    let mut sealed = Vec::with_capacity(NONCE_LEN + in_out.len());
    sealed.extend_from_slice(&nonce);
    sealed.extend_from_slice(&in_out);
    sealed
}

/// Checks and decrypts what [`seal`] made with the same key and `aad`.
pub fn open(key: &SecretKey, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, Unopened> {
    if sealed.len() < SEAL_OVERHEAD {
        return Err(Unopened);
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| Unopened)?;
    let mut in_out = ciphertext.to_vec();
    let plaintext = cipher(key)
        .open_in_place(nonce, Aad::from(aad), &mut in_out)
        .map_err(|_| Unopened)?;
    Ok(plaintext.to_vec())
}

/// `data_key` sealed under `master`, bound to `aad`.
pub fn wrap_key(master: &SecretKey, aad: &[u8], data_key: &SecretKey) -> Vec<u8> {
    seal(master, aad, data_key.bytes())
}

/// The data key [`wrap_key`] sealed.
pub fn unwrap_key(master: &SecretKey, aad: &[u8], wrapped: &[u8]) -> Result<SecretKey, Unopened> {
    let mut bytes = open(master, aad, wrapped)?;
    let key: [u8; KEY_BYTES] = bytes.as_slice().try_into().map_err(|_| Unopened)?;
    zeroize::Zeroize::zeroize(&mut bytes);
    Ok(SecretKey::from_bytes(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn sealed_values_open_only_with_their_key_aad_and_bytes(
            plaintext in proptest::collection::vec(any::<u8>(), 0..200),
            flip in any::<prop::sample::Index>(),
        ) {
            let key = SecretKey::generate();
            let sealed = seal(&key, b"here", &plaintext);
            prop_assert_eq!(open(&key, b"here", &sealed).unwrap(), plaintext.clone());
            prop_assert_eq!(open(&key, b"there", &sealed), Err(Unopened));
            prop_assert_eq!(open(&SecretKey::generate(), b"here", &sealed), Err(Unopened));
            let mut altered = sealed.clone();
            altered[flip.index(sealed.len())] ^= 1;
            prop_assert_eq!(open(&key, b"here", &altered), Err(Unopened));
            prop_assert_eq!(open(&key, b"here", &sealed[..sealed.len() - 1]), Err(Unopened));
        }
    }

    #[test]
    fn wrapped_keys_unwrap_to_themselves() {
        let master = SecretKey::generate();
        let data = SecretKey::generate();
        let wrapped = wrap_key(&master, b"b1", &data);
        assert!(
            !wrapped
                .windows(8)
                .any(|w| data.bytes().windows(8).any(|d| d == w))
        );
        assert_eq!(unwrap_key(&master, b"b1", &wrapped).unwrap(), data);
        assert!(unwrap_key(&master, b"b2", &wrapped).is_err());
        assert_eq!(format!("{data:?}"), "SecretKey(..)");
    }
}
