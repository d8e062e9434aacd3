//! Encryption of a collection's backups: keys, where they come from, and the AEAD that
//! seals manifests and definitions.
//!
//! Envelope encryption: the user's *master key* (a key file, `QUIVER_ENCRYPTION_KEY`, or
//! `QUIVER_PASSPHRASE` through Argon2id) never touches a stored file. Each backup, and the
//! collection's definition, gets a random *data key*, stored only wrapped (sealed) by the
//! master key and bound to the collection's id and the backup's id. The data key seals the
//! manifest's contents and encrypts the backup's Parquet files. Re-keying re-wraps data
//! keys; no data file changes.

mod aead;
mod key_source;
mod pin;
mod secret;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

pub use aead::{SEAL_OVERHEAD, Unopened, open, seal, unwrap_key, wrap_key};
pub use key_source::{
    Argon2Params, KEY_ENV, KEY_FILE_SETTING, KeyEnvironment, KeyError, KeySource, MasterKeys,
    PASSPHRASE_ENV, read_key_file,
};
pub use pin::{PinnedFile, PlainBackup, Sha256Writer, sha256_of_file};
pub use secret::{KEY_BYTES, SecretKey};

/// A collection's `ENCRYPTION` setting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Algorithm {
    /// `'none'`: backups are stored as they are.
    #[default]
    #[serde(rename = "none")]
    None,
    /// `'aes-256-gcm'`: manifests and definitions sealed with AES-256-GCM, data files
    /// encrypted with Parquet Modular Encryption (AES-GCM, footer encrypted).
    #[serde(rename = "aes-256-gcm")]
    Aes256Gcm,
}

impl Algorithm {
    /// The setting's value as SQL writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::None => "none",
            Algorithm::Aes256Gcm => "aes-256-gcm",
        }
    }

    /// The algorithm an `ENCRYPTION` value names (case-insensitive).
    pub fn from_setting(value: &str) -> Option<Algorithm> {
        match value.to_ascii_lowercase().as_str() {
            "none" => Some(Algorithm::None),
            "aes-256-gcm" => Some(Algorithm::Aes256Gcm),
            _ => None,
        }
    }
}

/// A collection's encryption, as its definition records it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptionSettings {
    /// `ENCRYPTION`.
    pub algorithm: Algorithm,
    /// Where the master key comes from. Kept when encryption is turned off, so the
    /// encrypted backups taken before still open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<KeySource>,
    /// When encryption was turned on (RFC 3339 UTC): every backup taken later is
    /// encrypted, so a plain manifest dated later is a forgery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// The plain backups the collection had when encryption was turned on, each pinned by
    /// the SHA-256 of its manifest and of each data file: the only plain backups an
    /// encrypted collection accepts (any other manifest, another manifest under one of these
    /// ids, or another data file, is forged).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plain_backups: Vec<PlainBackup>,
    /// In a plain definition that turned encryption off: when, signed with the master key,
    /// so that a forged plain definition cannot pass for one (its encrypted backups are
    /// refused to open under it, and nothing is written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turned_off: Option<TurnedOff>,
}

/// When encryption was turned off, and a keyed hash of that by the master key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TurnedOff {
    /// RFC 3339 UTC.
    pub at: String,
    /// HMAC-SHA256 by the master key of the collection id and `at`, base64.
    pub tag: String,
}

impl TurnedOff {
    fn message(collection_id: &str, at: &str) -> Vec<u8> {
        format!("quiver/1/encryption-off/{collection_id}/{at}").into_bytes()
    }

    /// The record of collection `collection_id` turning encryption off at `at`.
    pub fn new(master: &SecretKey, collection_id: &str, at: &str) -> TurnedOff {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, master.bytes());
        let tag = ring::hmac::sign(&key, &TurnedOff::message(collection_id, at));
        TurnedOff {
            at: at.to_string(),
            tag: base64::engine::general_purpose::STANDARD.encode(tag.as_ref()),
        }
    }

    /// Whether `master` made this record for collection `collection_id`.
    pub fn verify(&self, master: &SecretKey, collection_id: &str) -> bool {
        let Ok(tag) = base64::engine::general_purpose::STANDARD.decode(&self.tag) else {
            return false;
        };
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, master.bytes());
        ring::hmac::verify(&key, &TurnedOff::message(collection_id, &self.at), &tag).is_ok()
    }
}

impl EncryptionSettings {
    /// Whether nothing is set (no encryption, no key).
    pub fn is_unset(&self) -> bool {
        *self == EncryptionSettings::default()
    }

    /// Whether new backups are encrypted.
    pub fn enabled(&self) -> bool {
        self.algorithm == Algorithm::Aes256Gcm
    }
}

/// The data key of one sealed object (a backup or a definition), with its wrapped form
/// as stored. Held in memory beside the object it opened, so that it can be sealed again
/// (compaction's re-linking, export) without the master key.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealing {
    key: SecretKey,
    wrapped: Vec<u8>,
    /// While a re-keying runs: the key wrapped by the old master key too, so that a crash
    /// half-way leaves every backup open to the key the definition then names.
    previous: Option<Vec<u8>>,
}

impl std::fmt::Debug for Sealing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealing(..)")
    }
}

/// What a wrapped data key is bound to: its collection and object (a backup id, or
/// `definition`). A key wrapped for one backup does not unwrap for another.
fn binding(collection_id: &str, object: &str) -> Vec<u8> {
    format!("quiver/1/data-key/{collection_id}/{object}").into_bytes()
}

impl Sealing {
    /// A new random data key, wrapped by `master` for `object` of collection `collection_id`.
    pub fn new(master: &SecretKey, collection_id: &str, object: &str) -> Sealing {
        let key = SecretKey::generate();
        let wrapped = wrap_key(master, &binding(collection_id, object), &key);
        Sealing {
            key,
            wrapped,
            previous: None,
        }
    }

    /// Unwraps a stored data key (base64) with `master`: the current wrapping, else the
    /// one a re-keying still keeps.
    pub fn open(
        master: &SecretKey,
        collection_id: &str,
        object: &str,
        envelope: &Envelope,
    ) -> Result<Sealing, Unopened> {
        let decode = |text: &str| {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|_| Unopened)
        };
        let wrapped = decode(&envelope.data_key)?;
        let previous = envelope
            .previous_data_key
            .as_deref()
            .map(decode)
            .transpose()?;
        let aad = binding(collection_id, object);
        if let Ok(key) = unwrap_key(master, &aad, &wrapped) {
            return Ok(Sealing {
                key,
                wrapped,
                previous,
            });
        }
        // Opened by the wrapping an interrupted re-keying kept: that one is `master`'s, so
        // it is the one a re-keying from `master` must keep.
        let previous = previous.ok_or(Unopened)?;
        let key = unwrap_key(master, &aad, &previous)?;
        Ok(Sealing {
            key,
            wrapped: previous,
            previous: Some(wrapped),
        })
    }

    /// The same data key wrapped by `master` instead (re-keying), still wrapped by the old
    /// master key too until [`Sealing::without_previous`].
    pub fn rewrapped(&self, master: &SecretKey, collection_id: &str, object: &str) -> Sealing {
        Sealing {
            key: self.key.clone(),
            wrapped: wrap_key(master, &binding(collection_id, object), &self.key),
            previous: Some(self.wrapped.clone()),
        }
    }

    /// Whether a re-keying left the data key wrapped by the old master key too.
    pub fn has_previous(&self) -> bool {
        self.previous.is_some()
    }

    /// The data key wrapped by the current master key only: the old key no longer opens it.
    pub fn without_previous(&self) -> Sealing {
        Sealing {
            previous: None,
            ..self.clone()
        }
    }

    /// The envelope of `contents` as stored: the wrapped key(s), the contents sealed bound
    /// to `aad` (a function of the envelope without its contents: the public part).
    pub fn envelope(&self, aad: impl FnOnce(&Envelope) -> Vec<u8>, contents: &[u8]) -> Envelope {
        let mut envelope = Envelope {
            data_key: self.wrapped(),
            previous_data_key: self
                .previous
                .as_ref()
                .map(|p| base64::engine::general_purpose::STANDARD.encode(p)),
            contents: String::new(),
        };
        envelope.contents = self.seal(&aad(&envelope), contents);
        envelope
    }

    /// The data key.
    pub fn key(&self) -> &SecretKey {
        &self.key
    }

    /// The wrapped key as stored, base64.
    pub fn wrapped(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.wrapped)
    }

    /// `plaintext` sealed under the data key, bound to `aad`, base64.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(seal(&self.key, aad, plaintext))
    }

    /// What [`Sealing::seal`] sealed.
    pub fn open_contents(&self, aad: &[u8], sealed: &str) -> Result<Vec<u8>, Unopened> {
        let sealed = base64::engine::general_purpose::STANDARD
            .decode(sealed)
            .map_err(|_| Unopened)?;
        open(&self.key, aad, &sealed)
    }
}

/// A stored object made of a public part and an [`Envelope`] (a sealed manifest or
/// definition): its contents are sealed bound to everything else in it.
pub(crate) trait Enveloped: Serialize + Clone {
    /// Its envelope.
    fn envelope_mut(&mut self) -> &mut Envelope;

    /// The associated data its contents are sealed with: its canonical JSON without them.
    fn aad(&self) -> Vec<u8> {
        let mut public = self.clone();
        public.envelope_mut().contents.clear();
        serde_json::to_vec(&public).expect("catalog values serialize")
    }

    /// Seals `contents` into its envelope with `sealing`'s data key.
    fn seal_contents(&mut self, sealing: &Sealing, contents: &[u8]) {
        let envelope = sealing.envelope(
            |envelope| {
                let mut public = self.clone();
                *public.envelope_mut() = envelope.clone();
                public.aad()
            },
            contents,
        );
        *self.envelope_mut() = envelope;
    }
}

/// The sealed part of a stored manifest or definition: the wrapped data key and the
/// contents it sealed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// The data key wrapped by the master key, base64.
    pub data_key: String,
    /// While a re-keying runs, the data key wrapped by the old master key, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_data_key: Option<String>,
    /// The object's full JSON sealed by the data key, base64.
    pub contents: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_keys_are_bound_to_their_object_and_survive_rewrapping() {
        let master = SecretKey::generate();
        let sealing = Sealing::new(&master, "c1", "b1");
        let envelope = sealing.envelope(|_| Vec::new(), b"");
        assert_eq!(
            Sealing::open(&master, "c1", "b1", &envelope).unwrap(),
            sealing
        );
        assert!(Sealing::open(&master, "c1", "b2", &envelope).is_err());
        assert!(Sealing::open(&master, "c2", "b1", &envelope).is_err());
        let new_master = SecretKey::generate();
        // Half-way through a re-keying both keys open it; after, only the new one.
        let both = sealing.rewrapped(&new_master, "c1", "b1");
        let envelope = both.envelope(|_| Vec::new(), b"");
        let opened = Sealing::open(&master, "c1", "b1", &envelope).unwrap();
        assert_eq!(opened.key(), sealing.key());
        let rewrapped = both.without_previous().envelope(|_| Vec::new(), b"");
        assert!(Sealing::open(&master, "c1", "b1", &rewrapped).is_err());
        let opened = Sealing::open(&new_master, "c1", "b1", &rewrapped).unwrap();
        assert_eq!(opened.key(), sealing.key());
        // Interrupted twice before the definition switched: the second run opens the
        // envelope (new, old) with the old key and must keep the old key's wrapping.
        let again = Sealing::open(&master, "c1", "b1", &envelope)
            .unwrap()
            .rewrapped(&new_master, "c1", "b1")
            .envelope(|_| Vec::new(), b"");
        assert!(Sealing::open(&master, "c1", "b1", &again).is_ok());
        assert!(Sealing::open(&new_master, "c1", "b1", &again).is_ok());
        let sealed = opened.seal(b"aad", b"contents");
        assert_eq!(opened.open_contents(b"aad", &sealed).unwrap(), b"contents");
        assert!(opened.open_contents(b"other", &sealed).is_err());
    }
}
