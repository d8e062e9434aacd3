//! Parquet Modular Encryption of one data file: AES-GCM with the footer encrypted, every
//! column under the file's key, bound to an AAD prefix (its collection, backup and path)
//! that the reader supplies.

use std::fmt;
use std::sync::Arc;

use parquet::encryption::decrypt::FileDecryptionProperties;
use parquet::encryption::encrypt::FileEncryptionProperties;

/// The key and AAD prefix of one encrypted data file.
#[derive(Clone)]
pub struct FileCipher {
    key: Vec<u8>,
    aad_prefix: Vec<u8>,
}

impl fmt::Debug for FileCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FileCipher(..)")
    }
}

impl Drop for FileCipher {
    fn drop(&mut self) {
        self.key.iter_mut().for_each(|b| *b = 0);
    }
}

impl FileCipher {
    /// A file encrypted with the 256-bit `key`, bound to `aad_prefix` (its place: a file
    /// moved elsewhere does not decrypt).
    pub fn new(key: &[u8; 32], aad_prefix: Vec<u8>) -> FileCipher {
        FileCipher {
            key: key.to_vec(),
            aad_prefix,
        }
    }

    /// The writer's properties: uniform encryption (every column and the footer under the
    /// one key). The AAD prefix is stored in the file too, so that other engines given the
    /// key can read it; quiver's reader supplies the prefix it expects instead, which takes
    /// precedence, so a file moved from elsewhere still fails to decrypt.
    pub fn encryption(&self) -> parquet::errors::Result<Arc<FileEncryptionProperties>> {
        FileEncryptionProperties::builder(self.key.clone())
            .with_aad_prefix(self.aad_prefix.clone())
            .with_aad_prefix_storage(true)
            .build()
    }

    /// The reader's properties.
    pub fn decryption(&self) -> parquet::errors::Result<Arc<FileDecryptionProperties>> {
        FileDecryptionProperties::builder(self.key.clone())
            .with_aad_prefix(self.aad_prefix.clone())
            .build()
    }

    /// The reader's properties taking the AAD prefix stored in the file (as other engines
    /// do): decrypts only if the stored prefix is the one this cipher supplies.
    pub(crate) fn decryption_with_stored_prefix(
        &self,
    ) -> parquet::errors::Result<Arc<FileDecryptionProperties>> {
        FileDecryptionProperties::builder(self.key.clone()).build()
    }

    /// The key, for engines that take it as hex (DataFusion's options).
    pub fn key_hex(&self) -> String {
        self.key.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The AAD prefix.
    pub fn aad_prefix(&self) -> &[u8] {
        &self.aad_prefix
    }
}
