//! Reading one Parquet data file back as record batches.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_reader::{
    ArrowReaderOptions, ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder,
};

use crate::{Error, Result};

/// Streams the record batches of one data file, in file order.
pub struct SnapshotReader {
    path: PathBuf,
    schema: SchemaRef,
    inner: ParquetRecordBatchReader,
}

impl SnapshotReader {
    /// Opens `path`, reading batches of at most `batch_rows` rows.
    ///
    /// This does not check the file's crc32; verify it first with [`crate::verify_file`].
    pub fn open(path: &Path, batch_rows: usize) -> Result<SnapshotReader> {
        let file = File::open(path).map_err(|source| Error::Io {
            action: "opening",
            path: path.to_path_buf(),
            source,
        })?;
        let parquet = |source| Error::Parquet {
            path: path.to_path_buf(),
            source,
        };
        // The Arrow schema is derived from the Parquet schema, not decoded from the footer's
        // embedded copy: that decoder panics on damaged bytes, and for the types quiver
        // writes both give the same schema.
        let options = ArrowReaderOptions::new().with_skip_arrow_metadata(true);
        let (schema, inner) = guard(path, || {
            let builder = ParquetRecordBatchReaderBuilder::try_new_with_options(file, options)
                .map_err(parquet)?;
            let schema = builder.schema().clone();
            let inner = builder
                .with_batch_size(batch_rows.max(1))
                .build()
                .map_err(parquet)?;
            Ok((schema, inner))
        })?;
        Ok(SnapshotReader {
            path: path.to_path_buf(),
            schema,
            inner,
        })
    }

    /// The file's Arrow schema.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

impl Iterator for SnapshotReader {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        let path = self.path.clone();
        let inner = &mut self.inner;
        match guard(&path, || Ok(inner.next())) {
            Ok(next) => next.map(|batch| batch.map_err(|source| Error::Arrow { path, source })),
            Err(e) => Some(Err(e)),
        }
    }
}

/// Runs `read`, turning a panic inside the Parquet decoder (it has some on malformed input)
/// into an error: a damaged file must never take the process down.
fn guard<T>(path: &Path, read: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "the Parquet decoder failed".to_string());
        Err(Error::Malformed {
            path: path.to_path_buf(),
            message,
        })
    })
}
