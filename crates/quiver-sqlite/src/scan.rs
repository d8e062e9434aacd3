//! Turning SQLite rows into Arrow record batches.

use std::sync::Arc;

use arrow::array::{
    ArrayBuilder, ArrayRef, BinaryBuilder, Float64Builder, Int64Builder, StringBuilder,
};
use arrow::record_batch::RecordBatch;
use quiver_catalog::{AdapterError, ColumnType, TableSchema};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, Row};

use crate::describe::scan_sql;
use crate::error::sqlite;
use crate::{Error, raw};

/// A batch is handed over early once its text and blobs reach this size: it bounds memory
/// for wide rows and keeps Arrow's 32-bit offsets (2 GiB per array) far away.
const MAX_BATCH_BYTES: usize = 64 << 20;

/// Reads `table` in key order into batches of at most `batch_rows` rows, handing each to `sink`.
pub(crate) fn scan(
    conn: &Connection,
    table: &TableSchema,
    batch_rows: usize,
    sink: &mut dyn FnMut(RecordBatch) -> Result<(), AdapterError>,
) -> Result<u64, AdapterError> {
    let batch_rows = batch_rows.max(1);
    let sql = scan_sql(table)?;
    let context = || format!("scanning table `{}`", table.name);
    let mut stmt = conn.prepare(&sql).map_err(sqlite(context))?;
    let mut rows = stmt.query([]).map_err(sqlite(context))?;
    let mut builder = BatchBuilder::new(table, batch_rows);
    let mut total = 0u64;
    while let Some(row) = rows.next().map_err(sqlite(context))? {
        builder.append(row).map_err(sqlite(context))?;
        total += 1;
        if builder.len == batch_rows || builder.bytes >= MAX_BATCH_BYTES {
            sink(builder.finish()?)?;
        }
    }
    if builder.len > 0 {
        sink(builder.finish()?)?;
    }
    Ok(total)
}

/// One column's builder, by storage type.
enum Typed {
    Integer(Int64Builder),
    Real(Float64Builder),
    Text(StringBuilder),
    Blob(BinaryBuilder),
}

struct BatchBuilder<'a> {
    table: &'a TableSchema,
    rowid: Option<Int64Builder>,
    typed: Vec<Typed>,
    /// Raw side columns, one per column that has one (`None` elsewhere).
    raw: Vec<Option<SparseRaw>>,
    capacity: usize,
    len: usize,
    /// Bytes of text and blobs in the batch so far.
    bytes: usize,
}

impl<'a> BatchBuilder<'a> {
    fn new(table: &'a TableSchema, capacity: usize) -> Self {
        let mut builder = BatchBuilder {
            table,
            rowid: None,
            typed: Vec::new(),
            raw: Vec::new(),
            capacity,
            len: 0,
            bytes: 0,
        };
        builder.reset();
        builder
    }

    fn reset(&mut self) {
        let capacity = self.capacity;
        self.rowid = self
            .table
            .stores_rowid
            .then(|| Int64Builder::with_capacity(capacity));
        self.typed = self
            .table
            .columns
            .iter()
            .map(|c| match c.column_type {
                ColumnType::Integer => Typed::Integer(Int64Builder::with_capacity(capacity)),
                ColumnType::Real => Typed::Real(Float64Builder::with_capacity(capacity)),
                ColumnType::Text => {
                    Typed::Text(StringBuilder::with_capacity(capacity, capacity * 16))
                }
                // Other types come from typed databases only, whose tables SQLite refuses
                // before a scan (check_table_ddl); as bytes, should one get here.
                _ => Typed::Blob(BinaryBuilder::with_capacity(capacity, capacity * 16)),
            })
            .collect();
        self.raw = self
            .table
            .columns
            .iter()
            .map(|c| c.has_raw.then(SparseRaw::default))
            .collect();
        self.len = 0;
        self.bytes = 0;
    }

    fn append(&mut self, row: &Row<'_>) -> rusqlite::Result<()> {
        let offset = usize::from(self.rowid.is_some());
        if let Some(rowid) = &mut self.rowid {
            rowid.append_value(row.get::<_, i64>(0)?);
        }
        for (i, typed) in self.typed.iter_mut().enumerate() {
            let value = row.get_ref(i + offset)?;
            if let ValueRef::Text(bytes) | ValueRef::Blob(bytes) = value {
                self.bytes += bytes.len();
            }
            let fits = match (typed, value) {
                (Typed::Integer(b), ValueRef::Integer(v)) => {
                    b.append_value(v);
                    true
                }
                (Typed::Real(b), ValueRef::Real(v)) => {
                    b.append_value(v);
                    true
                }
                (Typed::Text(b), ValueRef::Text(bytes)) => match std::str::from_utf8(bytes) {
                    Ok(text) => {
                        b.append_value(text);
                        true
                    }
                    Err(_) => {
                        b.append_null();
                        false
                    }
                },
                (Typed::Blob(b), ValueRef::Blob(v)) => {
                    b.append_value(v);
                    true
                }
                (typed, _) => {
                    append_null(typed);
                    matches!(value, ValueRef::Null)
                }
            };
            if let Some(raw_column) = &mut self.raw[i] {
                if !fits {
                    raw_column.push(self.len, value);
                }
            } else if !fits {
                // Only columns SQLite guarantees to hold one class lack a raw column.
                return Err(rusqlite::Error::InvalidColumnType(
                    i + offset,
                    self.table.columns[i].name.clone(),
                    value.data_type(),
                ));
            }
        }
        self.len += 1;
        Ok(())
    }

    fn finish(&mut self) -> Result<RecordBatch, Error> {
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.typed.len() * 2 + 1);
        if let Some(rowid) = &mut self.rowid {
            columns.push(Arc::new(rowid.finish()));
        }
        for typed in &mut self.typed {
            columns.push(match typed {
                Typed::Integer(b) => ArrayBuilder::finish(b),
                Typed::Real(b) => ArrayBuilder::finish(b),
                Typed::Text(b) => ArrayBuilder::finish(b),
                Typed::Blob(b) => ArrayBuilder::finish(b),
            });
        }
        for raw_column in self.raw.iter_mut().flatten() {
            columns.push(raw_column.finish(self.len));
        }
        let batch = RecordBatch::try_new(self.table.arrow_schema(), columns).map_err(|source| {
            Error::Arrow {
                table: self.table.name.clone(),
                source,
            }
        });
        self.reset();
        batch
    }
}

fn append_null(typed: &mut Typed) {
    match typed {
        Typed::Integer(b) => b.append_null(),
        Typed::Real(b) => b.append_null(),
        Typed::Text(b) => b.append_null(),
        Typed::Blob(b) => b.append_null(),
    }
}

/// A raw side column, kept sparse: values that do not fit their column are rare, so only
/// they are recorded (with their row), and a batch without any costs nothing per row.
#[derive(Default)]
struct SparseRaw {
    rows: Vec<usize>,
    bytes: Vec<Vec<u8>>,
}

impl SparseRaw {
    fn push(&mut self, row: usize, value: ValueRef<'_>) {
        let mut encoded = Vec::new();
        quiver_catalog::encode_raw(raw::from_sqlite(value), &mut encoded);
        self.rows.push(row);
        self.bytes.push(encoded);
    }

    /// The column for a batch of `len` rows; empties this one.
    fn finish(&mut self, len: usize) -> ArrayRef {
        if self.rows.is_empty() {
            return arrow::array::new_null_array(&arrow::datatypes::DataType::Binary, len);
        }
        let mut builder = BinaryBuilder::with_capacity(len, self.bytes.iter().map(Vec::len).sum());
        let mut next = self.rows.iter().zip(&self.bytes).peekable();
        for row in 0..len {
            match next.peek() {
                Some((at, bytes)) if **at == row => {
                    builder.append_value(bytes);
                    next.next();
                }
                _ => builder.append_null(),
            }
        }
        self.rows.clear();
        self.bytes.clear();
        Arc::new(builder.finish())
    }
}
