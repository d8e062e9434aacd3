//! Reading one Parquet data file back as record batches.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

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
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(parquet)?;
        let schema = builder.schema().clone();
        let inner = builder
            .with_batch_size(batch_rows.max(1))
            .build()
            .map_err(parquet)?;
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
        self.inner.next().map(|batch| {
            batch.map_err(|source| Error::Arrow {
                path: self.path.clone(),
                source,
            })
        })
    }
}
