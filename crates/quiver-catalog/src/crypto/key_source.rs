//! Where a collection's master key comes from: a key file, the environment, or a
//! passphrase stretched with Argon2id. The definition records which (and the passphrase's
//! parameters), never the key.

use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::secret::{KEY_BYTES, SecretKey, fill_random};

/// The environment variable that may hold a master key, base64.
pub const KEY_ENV: &str = "QUIVER_ENCRYPTION_KEY";
/// The environment variable that may hold a passphrase.
pub const PASSPHRASE_ENV: &str = "QUIVER_PASSPHRASE";
/// The collection setting that names a key file.
pub const KEY_FILE_SETTING: &str = "ENCRYPTION_KEY_FILE";

/// Where a collection's master key comes from, as its definition records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum KeySource {
    /// `ENCRYPTION_KEY_FILE`: a file of 32 bytes (raw, or base64 text).
    File {
        /// The file's path, as given.
        path: String,
    },
    /// `QUIVER_ENCRYPTION_KEY`: 32 bytes, base64.
    Environment,
    /// `QUIVER_PASSPHRASE`, stretched with Argon2id with these parameters.
    Passphrase {
        /// The key derivation's parameters (with the salt).
        kdf: Argon2Params,
    },
}

impl KeySource {
    /// How a user names this source in a message: the setting or variable to set.
    pub fn setting(&self) -> String {
        match self {
            KeySource::File { path } => format!("{KEY_FILE_SETTING} = '{path}'"),
            KeySource::Environment => KEY_ENV.to_string(),
            KeySource::Passphrase { .. } => PASSPHRASE_ENV.to_string(),
        }
    }
}

/// Argon2id's parameters for one collection's passphrase, recorded in its definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Argon2Params {
    /// Memory, in KiB.
    pub m_cost_kib: u32,
    /// Passes over the memory.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
    /// The random salt, base64.
    pub salt: String,
}

impl Argon2Params {
    /// RFC 9106's second recommended setting (64 MiB, 3 passes), one lane, a new salt.
    pub fn new_default() -> Argon2Params {
        let mut salt = [0u8; 16];
        fill_random(&mut salt);
        Argon2Params {
            m_cost_kib: 64 * 1024,
            t_cost: 3,
            p_cost: 1,
            salt: base64::engine::general_purpose::STANDARD.encode(salt),
        }
    }

    /// The key `passphrase` stretches to. The parameters come from a definition that may
    /// be forged: costs beyond 4 times what quiver writes (256 MiB, 6 passes, 4 lanes) are
    /// refused rather than run.
    fn derive(&self, passphrase: &str) -> Result<SecretKey, KeyError> {
        let invalid = |why: String| KeyError::invalid(PASSPHRASE_ENV, why);
        let salt = base64::engine::general_purpose::STANDARD
            .decode(&self.salt)
            .map_err(|_| invalid("the recorded salt is not base64".into()))?;
        if !(16..=64).contains(&salt.len())
            || !(1..=4).contains(&self.p_cost)
            || !(1..=6).contains(&self.t_cost)
            || !(8 * self.p_cost..=256 << 10).contains(&self.m_cost_kib)
        {
            return Err(invalid(
                "the recorded Argon2id parameters are out of range (a damaged or forged definition)".into(),
            ));
        }
        let params =
            argon2::Params::new(self.m_cost_kib, self.t_cost, self.p_cost, Some(KEY_BYTES))
                .map_err(|e| {
                    invalid(format!("the recorded Argon2id parameters are invalid: {e}"))
                })?;
        let mut key = [0u8; KEY_BYTES];
        argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
            .hash_password_into(passphrase.as_bytes(), &salt, &mut key)
            .map_err(|e| invalid(format!("Argon2id failed: {e}")))?;
        Ok(SecretKey::from_bytes(key))
    }
}

/// Why a master key could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// No key was given where the collection's definition says it comes from.
    #[error("{0}")]
    Missing(String),
    /// A key was given but cannot be one: unreadable file, wrong length, bad base64.
    #[error("{setting}: {message}")]
    Invalid {
        /// The setting or variable that gave it.
        setting: String,
        /// What is wrong (never the key's bytes).
        message: String,
    },
}

impl KeyError {
    fn invalid(setting: impl Into<String>, message: impl Into<String>) -> KeyError {
        KeyError::Invalid {
            setting: setting.into(),
            message: message.into(),
        }
    }
}

/// A string that is a secret: printed as `..`, wiped when dropped.
#[derive(Clone)]
struct SecretText(Arc<zeroize::Zeroizing<String>>);

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("..")
    }
}

/// Finds the master key a stored definition's key source names: the keys of the process
/// ([`KeyEnvironment`]), or a key already had ([`SecretKey`], whatever the source says).
pub trait MasterKeys {
    /// The master key for `source`.
    fn master_key(&self, source: &KeySource) -> Result<SecretKey, KeyError>;

    /// Where the key for `source` was taken from, for messages.
    fn setting(&self, source: &KeySource) -> String {
        source.setting()
    }
}

impl MasterKeys for KeyEnvironment {
    fn master_key(&self, source: &KeySource) -> Result<SecretKey, KeyError> {
        KeyEnvironment::master_key(self, source)
    }

    fn setting(&self, source: &KeySource) -> String {
        self.setting_used(source)
    }
}

impl MasterKeys for SecretKey {
    fn master_key(&self, _: &KeySource) -> Result<SecretKey, KeyError> {
        Ok(self.clone())
    }
}

/// The keys a process was given: `QUIVER_ENCRYPTION_KEY` and `QUIVER_PASSPHRASE` as read
/// once (tests give their own), and what passphrases stretched to, so that Argon2id runs
/// once per collection, not once per file.
#[derive(Debug, Clone, Default)]
pub struct KeyEnvironment {
    encryption_key: Option<SecretText>,
    passphrase: Option<SecretText>,
    stretched: Arc<Mutex<Vec<(Argon2Params, SecretKey)>>>,
}

impl KeyEnvironment {
    /// The keys in this process's environment.
    pub fn from_process() -> KeyEnvironment {
        KeyEnvironment::new(
            std::env::var(KEY_ENV).ok(),
            std::env::var(PASSPHRASE_ENV).ok(),
        )
    }

    /// These keys: a base64 master key and a passphrase, either or both absent (empty
    /// counts as absent).
    pub fn new(encryption_key: Option<String>, passphrase: Option<String>) -> KeyEnvironment {
        let secret = |value: Option<String>| {
            value
                .filter(|v| !v.is_empty())
                .map(|v| SecretText(Arc::new(zeroize::Zeroizing::new(v))))
        };
        KeyEnvironment {
            encryption_key: secret(encryption_key),
            passphrase: secret(passphrase),
            stretched: Arc::default(),
        }
    }

    /// Where a collection made encrypted now takes its key from: the key file if one is
    /// named, else `QUIVER_ENCRYPTION_KEY` if set, else `QUIVER_PASSPHRASE` (with new
    /// Argon2id parameters). The key is read at once, so a bad one is refused here.
    pub fn new_source(&self, key_file: Option<&str>) -> Result<KeySource, KeyError> {
        let source = match key_file {
            Some(path) => KeySource::File {
                path: path.to_string(),
            },
            None if self.encryption_key.is_some() => KeySource::Environment,
            None if self.passphrase.is_some() => KeySource::Passphrase {
                kdf: Argon2Params::new_default(),
            },
            None => {
                return Err(KeyError::Missing(format!(
                    "ENCRYPTION = 'aes-256-gcm' needs a key: set {KEY_FILE_SETTING} = '/path/to/key' (`quiver key generate > key` makes one), or {KEY_ENV} (base64 of 32 bytes), or {PASSPHRASE_ENV}"
                )));
            }
        };
        self.master_key(&source)?;
        Ok(source)
    }

    /// Where the key for `source` is taken from, as a user names it: the key file's
    /// setting, or `QUIVER_ENCRYPTION_KEY` when that stands in for a missing key file.
    pub fn setting_used(&self, source: &KeySource) -> String {
        match source {
            KeySource::File { path }
                if !Path::new(path).exists() && self.encryption_key.is_some() =>
            {
                format!("{KEY_ENV} (standing in for the missing {KEY_FILE_SETTING} '{path}')")
            }
            _ => source.setting(),
        }
    }

    /// The master key `source` gives. A key file that is not there (a copy of the
    /// collection on another machine, say) gives way to `QUIVER_ENCRYPTION_KEY` when that
    /// is set: a wrong key is caught by the first thing it fails to open.
    pub fn master_key(&self, source: &KeySource) -> Result<SecretKey, KeyError> {
        match source {
            KeySource::File { path } => {
                let path = Path::new(path);
                if !path.exists() && self.encryption_key.is_some() {
                    return self.master_key(&KeySource::Environment);
                }
                read_key_file(path)
            }
            KeySource::Environment => {
                let text = self.encryption_key.as_ref().ok_or_else(|| {
                    KeyError::Missing(format!(
                        "its key comes from {KEY_ENV}, which is not set (base64 of the 32-byte key)"
                    ))
                })?;
                decode_key_text(&text.0)
                    .ok_or_else(|| KeyError::invalid(KEY_ENV, "it is not base64 of 32 bytes"))
            }
            KeySource::Passphrase { kdf } => {
                let passphrase = self.passphrase.as_ref().ok_or_else(|| {
                    KeyError::Missing(format!(
                        "its key comes from a passphrase: set {PASSPHRASE_ENV}"
                    ))
                })?;
                let mut stretched = self.stretched.lock().unwrap_or_else(|e| e.into_inner());
                if let Some((_, key)) = stretched.iter().find(|(params, _)| params == kdf) {
                    return Ok(key.clone());
                }
                let key = kdf.derive(&passphrase.0)?;
                stretched.push((kdf.clone(), key.clone()));
                Ok(key)
            }
        }
    }
}

/// Base64 text of a 32-byte key (surrounding white space ignored).
fn decode_key_text(text: &str) -> Option<SecretKey> {
    let mut bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()?;
    let key: Option<[u8; KEY_BYTES]> = bytes.as_slice().try_into().ok();
    zeroize::Zeroize::zeroize(&mut bytes);
    key.map(SecretKey::from_bytes)
}

/// Reads a key file: exactly 32 bytes, or base64 text of 32 bytes. Refuses a file other
/// users can read, as ssh does for private keys.
pub fn read_key_file(path: &Path) -> Result<SecretKey, KeyError> {
    use std::io::Read;
    let setting = format!("{KEY_FILE_SETTING} '{}'", path.display());
    let invalid = |message: String| KeyError::invalid(setting.clone(), message);
    // Checked before opening: opening a FIFO would wait for a writer.
    let metadata = std::fs::metadata(path).map_err(|e| invalid(format!("cannot be read: {e}")))?;
    if !metadata.is_file() {
        return Err(invalid("is not a file".into()));
    }
    let file = std::fs::File::open(path).map_err(|e| invalid(format!("cannot be read: {e}")))?;
    let metadata = file
        .metadata()
        .map_err(|e| invalid(format!("cannot be read: {e}")))?;
    if !metadata.is_file() {
        return Err(invalid("is not a file".into()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(invalid(format!(
                "other users can access it (mode {mode:04o}): run `chmod 600 {}`",
                path.display()
            )));
        }
    }
    let mut bytes = zeroize::Zeroizing::new(Vec::new());
    file.take(1024)
        .read_to_end(&mut bytes)
        .map_err(|e| invalid(format!("cannot be read: {e}")))?;
    if let Ok(raw) = <[u8; KEY_BYTES]>::try_from(bytes.as_slice()) {
        return Ok(SecretKey::from_bytes(raw));
    }
    std::str::from_utf8(&bytes)
        .ok()
        .and_then(decode_key_text)
        .ok_or_else(|| {
            invalid(format!(
                "it holds {} bytes, not a key: a key file holds 32 bytes (raw, or base64); `quiver key generate > key` makes one",
                bytes.len()
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_file(dir: &Path, bytes: &[u8], mode: u32) -> String {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join("key");
        std::fs::write(&path, bytes).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path.to_string_lossy().into_owned()
    }

    #[test]
    fn key_files_hold_32_bytes_raw_or_base64_and_only_their_owner_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        let keys = KeyEnvironment::default();
        let raw = [7u8; 32];
        let path = key_file(dir.path(), &raw, 0o600);
        let source = keys.new_source(Some(&path)).unwrap();
        assert_eq!(keys.master_key(&source).unwrap().bytes(), &raw);
        let text = base64::engine::general_purpose::STANDARD.encode(raw) + "\n";
        key_file(dir.path(), text.as_bytes(), 0o400);
        assert_eq!(keys.master_key(&source).unwrap().bytes(), &raw);
        key_file(dir.path(), &raw, 0o644);
        let err = keys.master_key(&source).unwrap_err().to_string();
        assert!(
            err.contains("chmod 600") && err.contains("ENCRYPTION_KEY_FILE"),
            "{err}"
        );
        key_file(dir.path(), b"short secret", 0o600);
        let err = keys.master_key(&source).unwrap_err().to_string();
        assert!(
            err.contains("holds 12 bytes") && !err.contains("short secret"),
            "{err}"
        );
        std::fs::remove_file(&path).unwrap();
        assert!(keys.master_key(&source).is_err());
    }

    #[test]
    fn the_environment_key_and_the_passphrase_are_used_in_that_order() {
        let none = KeyEnvironment::default();
        let err = none.new_source(None).unwrap_err().to_string();
        assert!(
            err.contains(KEY_ENV) && err.contains(PASSPHRASE_ENV),
            "{err}"
        );
        let encoded = base64::engine::general_purpose::STANDARD.encode([1u8; 32]);
        let both = KeyEnvironment::new(Some(encoded), Some("horse battery".into()));
        assert_eq!(both.new_source(None).unwrap(), KeySource::Environment);
        let bad = KeyEnvironment::new(Some("not a key".into()), None);
        let err = bad.new_source(None).unwrap_err().to_string();
        assert!(!err.contains("not a key") && err.contains(KEY_ENV), "{err}");
        let pass = KeyEnvironment::new(None, Some("horse battery".into()));
        let source = pass.new_source(None).unwrap();
        let KeySource::Passphrase { kdf } = &source else {
            panic!("{source:?}")
        };
        // Same passphrase and salt, same key; another salt, another key.
        let again = KeyEnvironment::new(None, Some("horse battery".into()));
        assert_eq!(
            pass.master_key(&source).unwrap(),
            again.master_key(&source).unwrap()
        );
        let other = KeySource::Passphrase {
            kdf: Argon2Params::new_default(),
        };
        assert_ne!(
            pass.master_key(&source).unwrap(),
            pass.master_key(&other).unwrap()
        );
        let forged = KeySource::Passphrase {
            kdf: Argon2Params {
                m_cost_kib: u32::MAX,
                ..kdf.clone()
            },
        };
        assert!(
            pass.master_key(&forged)
                .unwrap_err()
                .to_string()
                .contains("out of range")
        );
        let err = none.master_key(&source).unwrap_err();
        assert!(matches!(err, KeyError::Missing(_)), "{err}");
    }
}
