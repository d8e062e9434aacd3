//! Reading one Parquet data file back as record batches.

use std::fs::File;
use std::path::{Path, PathBuf};

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder,
};
use parquet::file::metadata::ParquetMetaData;

use crate::{Error, Result};

/// Streams the record batches of one data file, in file order.
pub struct SnapshotReader {
    path: PathBuf,
    schema: SchemaRef,
    inner: ParquetRecordBatchReader,
    encrypted: bool,
    /// The rows the file's row groups say they hold: what the reader yields in all.
    rows: u64,
    /// Rows yielded so far: at the end they must be `rows` (a forged footer can say other).
    yielded: u64,
}

impl SnapshotReader {
    /// Opens `path`, reading batches of at most `batch_rows` rows.
    ///
    /// This does not check the file's crc32; verify it first with [`crate::verify_file`].
    pub fn open(path: &Path, batch_rows: usize) -> Result<SnapshotReader> {
        SnapshotReader::open_columns(path, batch_rows, None, None)
    }

    /// Opens `path` reading only the columns at `columns` (positions in the file's schema;
    /// all of them when `None`). Batches hold the chosen columns in file order, whatever the
    /// order given; the others are never decoded, nor read from disk. An encrypted file
    /// needs its `cipher`.
    pub fn open_columns(
        path: &Path,
        batch_rows: usize,
        columns: Option<&[usize]>,
        cipher: Option<&crate::FileCipher>,
    ) -> Result<SnapshotReader> {
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
        let mut options = ArrowReaderOptions::new().with_skip_arrow_metadata(true);
        if let Some(cipher) = cipher {
            options =
                options.with_file_decryption_properties(cipher.decryption().map_err(parquet)?);
        }
        let file_len = file
            .metadata()
            .map_err(|source| Error::Io {
                action: "reading the size of",
                path: path.to_path_buf(),
                source,
            })?
            .len();
        let opened = guard(path, || {
            let metadata = ArrowReaderMetadata::load(&file, options.clone()).map_err(parquet)?;
            let metadata = match decimals_as_written(metadata.schema()) {
                Some(hint) => ArrowReaderMetadata::try_new(
                    metadata.metadata().clone(),
                    options.with_schema(hint),
                )
                .map_err(parquet)?,
                None => metadata,
            };
            let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(file, metadata);
            check_column_chunks(path, builder.metadata(), file_len)?;
            let mut builder = builder.with_batch_size(batch_rows.max(1));
            if let Some(columns) = columns {
                let fields = builder.schema().fields().len();
                if let Some(&missing) = columns.iter().find(|&&c| c >= fields) {
                    return Err(Error::Malformed {
                        path: path.to_path_buf(),
                        message: format!("it has {fields} columns, column {missing} was asked for"),
                    });
                }
                let mask = ProjectionMask::roots(builder.parquet_schema(), columns.iter().copied());
                builder = builder.with_projection(mask);
            }
            let mut rows = 0u64;
            for group in builder.metadata().row_groups() {
                rows = u64::try_from(group.num_rows())
                    .ok()
                    .and_then(|n| rows.checked_add(n))
                    .ok_or_else(|| Error::Malformed {
                        path: path.to_path_buf(),
                        message: format!("a row group says it has {} rows", group.num_rows()),
                    })?;
            }
            let inner = builder.build().map_err(parquet)?;
            Ok((
                arrow::record_batch::RecordBatchReader::schema(&inner),
                inner,
                rows,
            ))
        });
        let (schema, inner, rows) = opened.map_err(|e| undecryptable(cipher.is_some(), e))?;
        Ok(SnapshotReader {
            path: path.to_path_buf(),
            schema,
            inner,
            encrypted: cipher.is_some(),
            rows,
            yielded: 0,
        })
    }

    /// The file's Arrow schema.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// The rows the file's row groups say they hold, which is what the reader yields (or
    /// it fails).
    pub fn rows(&self) -> u64 {
        self.rows
    }
}

impl Iterator for SnapshotReader {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        let path = self.path.clone();
        let inner = &mut self.inner;
        let encrypted = self.encrypted;
        match guard(&path, || Ok(inner.next())) {
            Ok(Some(Ok(batch))) => {
                self.yielded = self.yielded.saturating_add(batch.num_rows() as u64);
                Some(Ok(batch))
            }
            Ok(Some(Err(source))) => {
                Some(Err(undecryptable(encrypted, Error::Arrow { path, source })))
            }
            // The pages held other rows than the row groups say (and the manifest, which
            // verify_file compared with them): the file is not what was backed up.
            Ok(None) if self.yielded != self.rows => {
                let actual = self.yielded;
                self.yielded = self.rows;
                Some(Err(Error::Malformed {
                    path,
                    message: format!(
                        "its pages hold {actual} rows, its row groups say {}",
                        self.rows
                    ),
                }))
            }
            Ok(None) => None,
            Err(e) => Some(Err(undecryptable(encrypted, e))),
        }
    }
}

/// An encrypted file's read failure, said as what it most likely is: the bytes do not
/// authenticate under the file's key and place (AES-GCM reports no more than that).
pub(crate) fn undecryptable(encrypted: bool, error: Error) -> Error {
    let path = match &error {
        Error::Parquet { path, .. } | Error::Arrow { path, .. } | Error::Malformed { path, .. } => {
            path.clone()
        }
        _ => return error,
    };
    if !encrypted {
        return error;
    }
    Error::Malformed {
        path,
        message: format!(
            "it does not decrypt and authenticate with its backup's key: altered, or moved from another backup or table ({error})"
        ),
    }
}

/// The schema with every decimal as quiver writes them, Decimal256: Parquet records a
/// decimal's precision, not the Arrow type, and the reader makes one of at most 38 digits a
/// Decimal128 (the footer's embedded Arrow schema, which would say, is not decoded: see
/// above). `None` when the file has no decimal.
fn decimals_as_written(schema: &Schema) -> Option<SchemaRef> {
    if !schema
        .fields()
        .iter()
        .any(|f| matches!(f.data_type(), DataType::Decimal128(..)))
    {
        return None;
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Decimal128(p, s) => f
                .as_ref()
                .clone()
                .with_data_type(DataType::Decimal256(*p, *s)),
            _ => f.as_ref().clone(),
        })
        .collect();
    Some(Arc::new(Schema::new_with_metadata(
        fields,
        schema.metadata().clone(),
    )))
}

/// Checks that every column chunk the footer lists lies inside the file. The Parquet reader
/// asserts this (a panic) rather than returning an error; found by fuzzing.
fn check_column_chunks(path: &Path, metadata: &ParquetMetaData, file_len: u64) -> Result<()> {
    for (group, row_group) in metadata.row_groups().iter().enumerate() {
        for column in row_group.columns() {
            let start = column
                .dictionary_page_offset()
                .unwrap_or_else(|| column.data_page_offset());
            let len = column.compressed_size();
            let inside = u64::try_from(start)
                .ok()
                .zip(u64::try_from(len).ok())
                .and_then(|(start, len)| start.checked_add(len))
                .is_some_and(|end| end <= file_len);
            if !inside {
                return Err(Error::Malformed {
                    path: path.to_path_buf(),
                    message: format!(
                        "its footer places column {} of row group {group} at {start}..+{len}, outside the file's {file_len} bytes",
                        column.column_path()
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Runs `read`, turning a panic inside the Parquet decoder (it has some on malformed input,
/// found by fuzzing) into an error: a damaged file must never take the process down.
pub(crate) fn guard<T>(path: &Path, read: impl FnOnce() -> Result<T>) -> Result<T> {
    quiet_guarded_panics();
    GUARDED.with(|guarded| guarded.set(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(read));
    GUARDED.with(|guarded| guarded.set(false));
    result.unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".to_string());
        Err(Error::DecoderPanic {
            path: path.to_path_buf(),
            message,
        })
    })
}

thread_local! {
    /// Whether this thread is inside [`guard`].
    static GUARDED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Wraps the process's panic hook, once, so that a panic inside [`guard`] prints nothing:
/// it becomes an error that says the same, and a user verifying a damaged file should not
/// see a panic report for it. Every other panic goes to the hook as before (a hook the
/// program sets later replaces this one, and then guarded panics print again; no harm).
fn quiet_guarded_panics() {
    static WRAPPED: std::sync::Once = std::sync::Once::new();
    WRAPPED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !GUARDED.with(std::cell::Cell::get) {
                previous(info);
            }
        }));
    });
}
