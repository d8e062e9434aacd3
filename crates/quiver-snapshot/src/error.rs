//! The snapshot crate's error type.

use std::path::PathBuf;

/// Result alias for snapshot operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors reading, writing or verifying data files.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A filesystem operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The Parquet encoder or decoder failed (a damaged file reads as this).
    #[error("{path}: {source}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// A batch does not match the file's schema, or Arrow failed.
    #[error("{path}: {source}")]
    Arrow {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: arrow::error::ArrowError,
    },
    /// The file is not a readable data file (the decoder gave up on it).
    #[error("{path} is damaged: {message}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        message: String,
    },
    /// The Parquet decoder panicked on the file (it asserts on some malformed input rather
    /// than returning an error); the panic was caught, and nothing else was affected.
    #[error("{path} is damaged: the Parquet decoder failed on it: {message}")]
    DecoderPanic {
        /// The file.
        path: PathBuf,
        /// The decoder's panic message.
        message: String,
    },
    /// The file's size is not the one recorded.
    #[error("{path} is damaged: it has {actual} bytes, the manifest says {expected}")]
    SizeMismatch {
        /// The file.
        path: PathBuf,
        /// Size recorded at backup time.
        expected: u64,
        /// Size found.
        actual: u64,
    },
    /// The file's row groups hold another number of rows than the manifest records.
    #[error("{path} is damaged: it holds {actual} rows, the manifest says {expected}")]
    RowCountMismatch {
        /// The file.
        path: PathBuf,
        /// Rows recorded at backup time.
        expected: u64,
        /// Rows its row groups say they hold.
        actual: u64,
    },
    /// The file's checksum is not the one recorded.
    #[error("{path} is damaged: its crc32 is {actual:08x}, the manifest says {expected:08x}")]
    ChecksumMismatch {
        /// The file.
        path: PathBuf,
        /// crc32 recorded at backup time.
        expected: u32,
        /// crc32 found.
        actual: u32,
    },
}
