//! Writing one Parquet data file.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::metadata::SortingColumn;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use crate::crc::CrcWriter;
use crate::{Error, Result};

/// How data files are written.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// Positions of the key columns, recorded as the file's sort order.
    pub sort_key: Vec<usize>,
    /// Rows per row group: bounds the writer's memory and sets the pruning granularity.
    pub row_group_rows: usize,
    /// Bytes per row group, whichever limit comes first: the writer buffers a whole row
    /// group, so wide rows (large blobs) need this bound too.
    pub row_group_bytes: usize,
    /// zstd level, or `None` for no compression (what the benchmark's cost ladder measures
    /// encoding alone with). 1 by default: level 3 made files ~3% smaller for ~15% more CPU,
    /// and a backup is CPU-bound.
    pub zstd_level: Option<i32>,
    /// Dictionary-encode columns. Off by default: zstd already removes the repetition a
    /// dictionary would, and hashing every value costs more than the rest of the encoding.
    pub dictionary: bool,
    /// Columns of random bytes (row hashes): stored without compression or statistics,
    /// which would cost time and save nothing.
    pub random_columns: Vec<String>,
    /// Encrypt the file (an encrypted collection's backup).
    pub cipher: Option<crate::FileCipher>,
}

impl WriteOptions {
    /// Defaults for a file sorted by the columns at `sort_key`.
    pub fn sorted_by(sort_key: Vec<usize>) -> WriteOptions {
        WriteOptions {
            sort_key,
            row_group_rows: 64 * 1024,
            row_group_bytes: 128 << 20,
            zstd_level: Some(1),
            dictionary: false,
            random_columns: Vec::new(),
            cipher: None,
        }
    }
}

/// Size, checksum and row count of a finished data file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileDigest {
    /// Rows written.
    pub rows: u64,
    /// File size in bytes.
    pub bytes: u64,
    /// crc32 of the whole file.
    pub crc32: u32,
}

/// Writes record batches to one Parquet file, computing its crc32 as it goes.
pub struct SnapshotWriter {
    path: PathBuf,
    writer: ArrowWriter<CrcWriter<BufWriter<File>>>,
    rows: u64,
}

impl SnapshotWriter {
    /// Creates (or truncates) the file at `path` for batches of `schema`.
    pub fn create(
        path: &Path,
        schema: SchemaRef,
        options: &WriteOptions,
    ) -> Result<SnapshotWriter> {
        let file = File::create(path).map_err(|source| Error::Io {
            action: "creating",
            path: path.to_path_buf(),
            source,
        })?;
        let sorting = options
            .sort_key
            .iter()
            .map(|&column| SortingColumn {
                column_idx: column as i32,
                descending: false,
                nulls_first: true,
            })
            .collect::<Vec<_>>();
        let compression = options
            .zstd_level
            .map_or(Compression::UNCOMPRESSED, |level| {
                Compression::ZSTD(ZstdLevel::try_new(level).unwrap_or_default())
            });
        let mut properties = WriterProperties::builder();
        for field in schema.fields() {
            if field.data_type() == &DataType::Int64
                && !options.random_columns.contains(field.name())
            {
                properties = properties.set_column_encoding(
                    ColumnPath::from(field.name().as_str()),
                    Encoding::DELTA_BINARY_PACKED,
                );
            }
        }
        for column in &options.random_columns {
            let path = ColumnPath::from(column.as_str());
            properties = properties
                .set_column_compression(path.clone(), Compression::UNCOMPRESSED)
                .set_column_statistics_enabled(path, EnabledStatistics::None);
        }
        if let Some(cipher) = &options.cipher {
            let encryption = cipher.encryption().map_err(|source| Error::Parquet {
                path: path.to_path_buf(),
                source,
            })?;
            properties = properties.with_file_encryption_properties(encryption);
        }
        let properties = properties
            .set_compression(compression)
            .set_dictionary_enabled(options.dictionary)
            .set_statistics_enabled(EnabledStatistics::Page)
            .set_max_row_group_row_count(Some(options.row_group_rows.max(1)))
            .set_max_row_group_bytes(Some(options.row_group_bytes.max(1)))
            .set_sorting_columns((!sorting.is_empty()).then_some(sorting))
            .build();
        let sink = CrcWriter::new(BufWriter::with_capacity(1 << 20, file));
        let writer = ArrowWriter::try_new(sink, schema, Some(properties)).map_err(|source| {
            Error::Parquet {
                path: path.to_path_buf(),
                source,
            }
        })?;
        Ok(SnapshotWriter {
            path: path.to_path_buf(),
            writer,
            rows: 0,
        })
    }

    /// Appends a batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.writer.write(batch).map_err(|source| Error::Parquet {
            path: self.path.clone(),
            source,
        })?;
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes the footer, flushes and fsyncs the file, and returns its digest.
    pub fn finish(self) -> Result<FileDigest> {
        let path = self.path;
        let sink = self.writer.into_inner().map_err(|source| Error::Parquet {
            path: path.clone(),
            source,
        })?;
        let (buffered, bytes, crc32) = sink.into_parts();
        let io = |action| {
            let path = path.clone();
            move |source| Error::Io {
                action,
                path,
                source,
            }
        };
        let file = buffered
            .into_inner()
            .map_err(|e| io("writing")(e.into_error()))?;
        file.sync_all().map_err(io("syncing"))?;
        Ok(FileDigest {
            rows: self.rows,
            bytes,
            crc32,
        })
    }
}
