//! Checking a data file against the size and crc32 recorded when it was written.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::{Error, Result};

/// Size and crc32 of the file at `path`, read sequentially in 1 MiB chunks.
pub fn file_digest(path: &Path) -> Result<(u64, u32)> {
    let io = |source| Error::Io {
        action: "reading",
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let mut hasher = crc32fast::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok((bytes, hasher.finalize()))
}

/// Fails unless the file at `path` has exactly `expected`'s bytes and crc32, and a Parquet
/// footer that reads (an encrypted file's decrypts and authenticates with `cipher`) and
/// holds `expected`'s rows.
pub fn verify_file(
    path: &Path,
    expected: &crate::FileDigest,
    cipher: Option<&crate::FileCipher>,
) -> Result<()> {
    let (bytes, crc32) = (expected.bytes, expected.crc32);
    let (actual_bytes, actual_crc) = file_digest(path)?;
    if actual_bytes != bytes {
        return Err(Error::SizeMismatch {
            path: path.to_path_buf(),
            expected: bytes,
            actual: actual_bytes,
        });
    }
    if actual_crc != crc32 {
        return Err(Error::ChecksumMismatch {
            path: path.to_path_buf(),
            expected: crc32,
            actual: actual_crc,
        });
    }
    check_footer(path, expected.rows, cipher)
}

/// Fails unless the Parquet footer of the file at `path` reads (an encrypted file's
/// decrypts and authenticates with `cipher`) and its row groups hold `rows` rows: the part
/// of [`verify_file`] that a crc32 anyone can make match does not cover.
pub fn check_footer(path: &Path, rows: u64, cipher: Option<&crate::FileCipher>) -> Result<()> {
    // A forged file can carry a matching crc32: its footer is read here, by the reader
    // that turns the Parquet decoder's panics into errors, before any other reader (QUERY's
    // DataFusion) trusts it.
    let reader = crate::SnapshotReader::open_columns(path, 1, Some(&[]), cipher)?;
    // A manifest and a file whose crc32s were both forged may still disagree on the rows:
    // a restore would bring back other rows than the backup lists.
    if reader.rows() != rows {
        return Err(Error::RowCountMismatch {
            path: path.to_path_buf(),
            expected: rows,
            actual: reader.rows(),
        });
    }
    Ok(())
}
