//! Pins of the plain backups an encrypted collection accepts: the SHA-256 of each one's
//! manifest and of each of its data files, taken when encryption was turned on and kept in
//! the sealed definition. A plain backup is checked by crc32 only, which anyone who can
//! write the location can make match; a SHA-256 no one can.

use std::io::{self, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

/// A plain backup an encrypted collection accepts: its id, its manifest's digest and its
/// data files' digests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlainBackup {
    /// The backup id.
    pub id: String,
    /// SHA-256 of the manifest's canonical JSON, hex.
    pub sha256: String,
    /// Every data file the manifest lists, with its SHA-256.
    pub files: Vec<PinnedFile>,
}

/// One data file of a pinned plain backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinnedFile {
    /// Its path in the backup, as the manifest says it.
    pub path: String,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
}

impl PlainBackup {
    /// The pin of `manifest` (a plain one), each data file's digest given by `file_sha256`
    /// (`Err` names why it could not be read).
    pub fn of(
        manifest: &crate::BackupManifest,
        file_sha256: &mut dyn FnMut(&crate::DataFile) -> Result<String, String>,
    ) -> Result<PlainBackup, String> {
        let files = manifest
            .tables
            .iter()
            .flat_map(|t| &t.files)
            .map(|f| {
                Ok(PinnedFile {
                    path: f.path.clone(),
                    sha256: file_sha256(f)?,
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(PlainBackup {
            id: manifest.id.clone(),
            sha256: manifest_sha256(manifest),
            files,
        })
    }

    /// Whether this pins `manifest` (its id and exact contents).
    pub fn pins(&self, manifest: &crate::BackupManifest) -> bool {
        self.id == manifest.id && self.sha256 == manifest_sha256(manifest)
    }

    /// The pinned SHA-256 of data file `path`.
    pub fn file_sha256(&self, path: &str) -> Option<&str> {
        self.files
            .iter()
            .find(|f| f.path == path)
            .map(|f| f.sha256.as_str())
    }
}

fn manifest_sha256(manifest: &crate::BackupManifest) -> String {
    let json = serde_json::to_vec(manifest).expect("catalog values serialize");
    hex(ring::digest::digest(&ring::digest::SHA256, &json).as_ref())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of the bytes written to it (a data file streamed past), hex when finished.
pub struct Sha256Writer(ring::digest::Context);

impl Default for Sha256Writer {
    fn default() -> Sha256Writer {
        Sha256Writer(ring::digest::Context::new(&ring::digest::SHA256))
    }
}

impl Sha256Writer {
    /// The digest of everything written, hex.
    pub fn finish(self) -> String {
        hex(self.0.finish().as_ref())
    }
}

impl Write for Sha256Writer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// SHA-256 of the file at `path`, hex, read in 1 MiB chunks.
pub fn sha256_of_file(path: &Path) -> io::Result<String> {
    let mut file = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(path)?);
    let mut digest = Sha256Writer::default();
    io::copy(&mut file, &mut digest)?;
    Ok(digest.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_known_bytes() {
        let mut w = Sha256Writer::default();
        w.write_all(b"abc").unwrap();
        assert_eq!(
            w.finish(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
