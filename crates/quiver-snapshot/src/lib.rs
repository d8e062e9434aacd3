//! Arrow record batches to and from Parquet files, with a crc32 of every file.
//!
//! Files are written in the order the batches arrive (callers hand them over in primary-key
//! order, and the key columns are recorded as the file's sorting columns), compressed with
//! zstd, with column and page statistics for readers that prune. Every file's size and crc32
//! are computed while it is written, so verifying it later is one sequential read.
//!
//! ```
//! use std::sync::Arc;
//! use arrow::array::{Int64Array, StringArray};
//! use arrow::datatypes::{DataType, Field, Schema};
//! use arrow::record_batch::RecordBatch;
//! use quiver_snapshot::{SnapshotReader, SnapshotWriter, WriteOptions, verify_file};
//!
//! let schema = Arc::new(Schema::new(vec![
//!     Field::new("id", DataType::Int64, false),
//!     Field::new("name", DataType::Utf8, true),
//! ]));
//! let batch = RecordBatch::try_new(schema.clone(), vec![
//!     Arc::new(Int64Array::from(vec![1, 2])),
//!     Arc::new(StringArray::from(vec![Some("a"), None])),
//! ]).unwrap();
//!
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("t.parquet");
//! let mut writer = SnapshotWriter::create(&path, schema, &WriteOptions::sorted_by(vec![0])).unwrap();
//! writer.write(&batch).unwrap();
//! let digest = writer.finish().unwrap();
//! assert_eq!(digest.rows, 2);
//!
//! verify_file(&path, &digest, None).unwrap();
//! let batches: Vec<_> = SnapshotReader::open(&path, 1024).unwrap().collect::<Result<_, _>>().unwrap();
//! assert_eq!(batches, vec![batch]);
//! ```

#![warn(missing_docs)]

mod authenticate;
mod cipher;
mod crc;
mod error;
mod pipeline;
mod reader;
mod verify;
mod writer;

pub use authenticate::authenticate_file;
pub use cipher::FileCipher;
pub use error::{Error, Result};
pub use pipeline::PipelinedWriter;
pub use reader::SnapshotReader;
pub use verify::{check_footer, file_digest, verify_file};
pub use writer::{FileDigest, SnapshotWriter, WriteOptions};

#[cfg(test)]
mod tests;
