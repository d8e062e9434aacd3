//! Opening a backup data file from arbitrary bytes: the checksum and footer check and the
//! Parquet reader must give errors, never panics.

#![no_main]

use libfuzzer_sys::fuzz_target;
use quiver_snapshot::{Error, FileDigest, SnapshotReader, file_digest, verify_file};

/// One directory for the whole run: a new one per input would dominate the time.
static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let path = DIR.get_or_init(|| tempfile::tempdir().expect("temp dir")).path().join("data.parquet");
    std::fs::write(&path, data).expect("write");
    let (bytes, crc32) = file_digest(&path).expect("digest");
    // The rows its footer says it holds, when it opens.
    let rows = SnapshotReader::open(&path, 64).map_or(0, |r| r.rows());
    let digest = FileDigest { rows, bytes, crc32 };
    // Its own digest matches; the footer check may still refuse the bytes (an error).
    let verified = verify_file(&path, &digest, None);
    assert!(
        !matches!(
            verified,
            Err(Error::SizeMismatch { .. } | Error::ChecksumMismatch { .. } | Error::RowCountMismatch { .. })
        ),
        "a file matches its own digest: {verified:?}"
    );
    assert!(verify_file(&path, &FileDigest { bytes: bytes + 1, ..digest }, None).is_err());
    // As an encrypted file: the decryptor must refuse what it cannot open, never panic.
    let cipher = quiver_snapshot::FileCipher::new(&[7; 32], b"fuzz".to_vec());
    let _ = verify_file(&path, &digest, Some(&cipher));
    if let Ok(reader) = SnapshotReader::open(&path, 64) {
        for batch in reader {
            if batch.is_err() {
                break;
            }
        }
    }
});
