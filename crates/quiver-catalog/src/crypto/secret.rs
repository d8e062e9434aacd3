//! 256-bit keys held in memory: random or given, never printed, wiped when dropped.

use std::fmt;
use std::sync::Arc;

use ring::rand::{SecureRandom, SystemRandom};

/// Bytes in every key quiver uses (AES-256).
pub const KEY_BYTES: usize = 32;

/// A 256-bit secret key: a collection's master key or a backup's data key.
///
/// `Debug` prints no byte of it; the bytes are overwritten when the last clone goes.
#[derive(Clone)]
pub struct SecretKey(Arc<KeyBytes>);

struct KeyBytes([u8; KEY_BYTES]);

impl Drop for KeyBytes {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl SecretKey {
    /// A new key from the system's secure random numbers.
    pub fn generate() -> SecretKey {
        let mut bytes = [0u8; KEY_BYTES];
        fill_random(&mut bytes);
        SecretKey::from_bytes(bytes)
    }

    /// The key made of these bytes.
    pub fn from_bytes(bytes: [u8; KEY_BYTES]) -> SecretKey {
        SecretKey(Arc::new(KeyBytes(bytes)))
    }

    /// The key's bytes, for a cipher.
    pub fn bytes(&self) -> &[u8; KEY_BYTES] {
        &self.0.0
    }

    /// The key as base64 text, as `QUIVER_ENCRYPTION_KEY` and key files may hold it.
    pub fn to_base64(&self) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(self.bytes())
    }

    /// A short, non-secret name of the key: the first 8 hex digits of a keyed hash of
    /// it, so two keys can be told apart in messages without revealing either.
    pub fn fingerprint(&self) -> String {
        let tag = ring::hmac::sign(
            &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, self.bytes()),
            b"quiver key fingerprint",
        );
        tag.as_ref()[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

impl PartialEq for SecretKey {
    fn eq(&self, other: &SecretKey) -> bool {
        // Constant time: no early exit on the first differing byte.
        self.bytes()
            .iter()
            .zip(other.bytes())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
    }
}

impl Eq for SecretKey {}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

/// Fills `out` from the system's secure random numbers.
pub(crate) fn fill_random(out: &mut [u8]) {
    // The system's generator fails only where no secure source exists at all; nothing
    // could be encrypted safely there.
    SystemRandom::new()
        .fill(out)
        .expect("the system's secure random number generator is available");
}
