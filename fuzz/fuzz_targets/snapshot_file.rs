//! Opening a backup data file from arbitrary bytes: the checksum and footer check and the
//! Parquet reader must give errors, never panics.

#![no_main]

use libfuzzer_sys::fuzz_target;
use quiver_snapshot::{Error, SnapshotReader, file_digest, verify_file};

/// One directory for the whole run: a new one per input would dominate the time.
static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let path = DIR.get_or_init(|| tempfile::tempdir().expect("temp dir")).path().join("data.parquet");
    std::fs::write(&path, data).expect("write");
    let (bytes, crc) = file_digest(&path).expect("digest");
    // Its own digest matches; the footer check may still refuse the bytes (an error).
    let verified = verify_file(&path, bytes, crc, None);
    assert!(
        !matches!(verified, Err(Error::SizeMismatch { .. } | Error::ChecksumMismatch { .. })),
        "a file matches its own digest: {verified:?}"
    );
    assert!(verify_file(&path, bytes + 1, crc, None).is_err());
    // As an encrypted file: the decryptor must refuse what it cannot open, never panic.
    let cipher = quiver_snapshot::FileCipher::new(&[7; 32], b"fuzz".to_vec());
    let _ = verify_file(&path, bytes, crc, Some(&cipher));
    if let Ok(reader) = SnapshotReader::open(&path, 64) {
        for batch in reader {
            if batch.is_err() {
                break;
            }
        }
    }
});
