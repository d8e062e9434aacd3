//! Reading a table: `COPY (SELECT … ORDER BY key) TO STDOUT (FORMAT binary)`, decoded
//! straight into Arrow builders, batch by batch.

use std::io::{BufRead, Read};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal256Builder, Float64Builder,
    Int64Builder, StringBuilder, Time64MicrosecondBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::i256;
use arrow::record_batch::RecordBatch;
use quiver_catalog::{AdapterError, SqlValue, TableSchema, encode_raw};

use crate::decimal::parse_decimal;
use crate::error::{Error, Result};
use crate::table::{Form, PgTable, quote_ident};
use crate::time::{MICROS_PER_DAY, date_from_pg, timestamp_from_pg};

/// Batches are cut at this many bytes of values too, so that wide rows stay bounded.
const BATCH_BYTES: usize = 64 << 20;

/// The COPY statement that reads `table` in key order. Text keys are ordered `COLLATE "C"`
/// (byte order, as Rust compares them); keys stored as text forms are ordered by them.
pub(crate) fn copy_out_sql(table: &PgTable, key: &[String]) -> String {
    let columns: Vec<String> = table
        .stored_columns()
        .map(|c| match c.form {
            Form::TextForm | Form::Decimal { .. } => {
                format!("{}::pg_catalog.text", quote_ident(&c.name))
            }
            _ => quote_ident(&c.name),
        })
        .collect();
    let order: Vec<String> = key
        .iter()
        .filter_map(|k| table.columns.iter().find(|c| &c.name == k))
        .map(|c| match c.form {
            Form::Text => format!("{} COLLATE \"C\"", quote_ident(&c.name)),
            Form::TextForm => format!("({}::pg_catalog.text) COLLATE \"C\"", quote_ident(&c.name)),
            _ => quote_ident(&c.name),
        })
        .collect();
    let order = if order.is_empty() {
        String::new()
    } else {
        format!(" ORDER BY {}", order.join(", "))
    };
    format!(
        "COPY (SELECT {} FROM ONLY {}{order}) TO STDOUT (FORMAT binary)",
        columns.join(", "),
        table.qualified()
    )
}

/// One column's builder.
enum Builder {
    Integer(Int64Builder, u8),
    Float(Float64Builder, u8),
    Text(StringBuilder),
    Bytes(BinaryBuilder),
    Bool(BooleanBuilder),
    Date(Date32Builder),
    /// With a time zone or not, and the raw side column ([`Form::has_raw`]).
    Timestamp(TimestampMicrosecondBuilder, bool, BinaryBuilder),
    /// With the raw side column ([`Form::has_raw`]).
    Time(Time64MicrosecondBuilder, BinaryBuilder),
    /// From the value's text; `NaN` in the raw side column.
    Decimal(Decimal256Builder, u8, u8, BinaryBuilder),
}

impl Builder {
    fn new(form: Form) -> Builder {
        match form {
            Form::Integer { bytes } => Builder::Integer(Int64Builder::new(), bytes),
            Form::Float { bytes } => Builder::Float(Float64Builder::new(), bytes),
            Form::Text | Form::TextForm | Form::Generated => Builder::Text(StringBuilder::new()),
            Form::Bytes => Builder::Bytes(BinaryBuilder::new()),
            Form::Bool => Builder::Bool(BooleanBuilder::new()),
            Form::Date => Builder::Date(Date32Builder::new()),
            Form::Timestamp | Form::TimestampTz => Builder::Timestamp(
                TimestampMicrosecondBuilder::new(),
                form == Form::TimestampTz,
                BinaryBuilder::new(),
            ),
            Form::Time => Builder::Time(Time64MicrosecondBuilder::new(), BinaryBuilder::new()),
            Form::Decimal { precision, scale } => Builder::Decimal(
                Decimal256Builder::new(),
                precision,
                scale,
                BinaryBuilder::new(),
            ),
        }
    }

    fn null(&mut self) {
        match self {
            Builder::Integer(b, _) => b.append_null(),
            Builder::Float(b, _) => b.append_null(),
            Builder::Text(b) => b.append_null(),
            Builder::Bytes(b) => b.append_null(),
            Builder::Bool(b) => b.append_null(),
            Builder::Date(b) => b.append_null(),
            Builder::Timestamp(b, _, raw) => {
                b.append_null();
                raw.append_null();
            }
            Builder::Time(b, raw) => {
                b.append_null();
                raw.append_null();
            }
            Builder::Decimal(b, _, _, raw) => {
                b.append_null();
                raw.append_null();
            }
        }
    }

    fn value(&mut self, bytes: &[u8]) -> Result<(), String> {
        let width = |n: u8| -> Result<(), String> {
            if bytes.len() == usize::from(n) {
                Ok(())
            } else {
                Err(format!("a {n}-byte value of {} bytes", bytes.len()))
            }
        };
        match self {
            Builder::Integer(b, n) => {
                width(*n)?;
                b.append_value(match n {
                    2 => i64::from(i16::from_be_bytes([bytes[0], bytes[1]])),
                    4 => i64::from(i32::from_be_bytes(bytes.try_into().expect("4 bytes"))),
                    _ => i64::from_be_bytes(bytes.try_into().expect("8 bytes")),
                });
            }
            Builder::Float(b, n) => {
                width(*n)?;
                b.append_value(match n {
                    4 => f64::from(f32::from_be_bytes(bytes.try_into().expect("4 bytes"))),
                    _ => f64::from_be_bytes(bytes.try_into().expect("8 bytes")),
                });
            }
            Builder::Text(b) => b.append_value(
                std::str::from_utf8(bytes).map_err(|e| format!("text that is not UTF-8: {e}"))?,
            ),
            Builder::Bytes(b) => b.append_value(bytes),
            Builder::Bool(b) => {
                width(1)?;
                b.append_value(bytes[0] != 0);
            }
            Builder::Date(b) => {
                width(4)?;
                b.append_value(date_from_pg(i32::from_be_bytes(
                    bytes.try_into().expect("4 bytes"),
                ))?);
            }
            Builder::Timestamp(b, _, raw) => {
                width(8)?;
                let micros = i64::from_be_bytes(bytes.try_into().expect("8 bytes"));
                match timestamp_from_pg(micros) {
                    Ok(v) => {
                        b.append_value(v);
                        raw.append_null();
                    }
                    Err(_) => append_raw(b, raw, micros),
                }
            }
            Builder::Time(b, raw) => {
                width(8)?;
                match i64::from_be_bytes(bytes.try_into().expect("8 bytes")) {
                    micros @ 0..MICROS_PER_DAY => {
                        b.append_value(micros);
                        raw.append_null();
                    }
                    // 24:00:00
                    micros => append_raw(b, raw, micros),
                }
            }
            Builder::Decimal(b, precision, scale, raw) => {
                let text = std::str::from_utf8(bytes)
                    .map_err(|e| format!("a numeric that is not UTF-8: {e}"))?;
                if text == "NaN" {
                    b.append_null();
                    let mut tagged = Vec::with_capacity(4);
                    encode_raw(SqlValue::Text(b"NaN"), &mut tagged);
                    raw.append_value(&tagged);
                } else {
                    b.append_value(i256::from_i128(parse_decimal(text, *precision, *scale)?));
                    raw.append_null();
                }
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Integer(b, _) => Arc::new(b.finish()),
            Builder::Float(b, _) => Arc::new(b.finish()),
            Builder::Text(b) => Arc::new(b.finish()),
            Builder::Bytes(b) => Arc::new(b.finish()),
            Builder::Bool(b) => Arc::new(b.finish()),
            Builder::Date(b) => Arc::new(b.finish()),
            Builder::Timestamp(b, false, _) => Arc::new(b.finish()),
            Builder::Timestamp(b, true, _) => {
                Arc::new(b.finish().with_timezone(quiver_catalog::UTC))
            }
            Builder::Time(b, _) => Arc::new(b.finish()),
            Builder::Decimal(b, precision, scale, _) => {
                let values = b.finish();
                // Valid for every typmod numeric_typmod accepts; a type it refuses is
                // left as the builder's default, which RecordBatch::try_new refuses.
                Arc::new(
                    values
                        .clone()
                        .with_precision_and_scale(*precision, *scale as i8)
                        .unwrap_or(values),
                )
            }
        }
    }

    /// The raw side column, for the forms that have one.
    fn finish_raw(&mut self) -> Option<ArrayRef> {
        match self {
            Builder::Timestamp(_, _, raw)
            | Builder::Time(_, raw)
            | Builder::Decimal(_, _, _, raw) => Some(Arc::new(raw.finish())),
            _ => None,
        }
    }
}

/// A value only the raw side column holds: NULL in the typed column, the server's own
/// integer in the raw one.
fn append_raw<T: arrow::datatypes::ArrowPrimitiveType>(
    typed: &mut arrow::array::PrimitiveBuilder<T>,
    raw: &mut BinaryBuilder,
    server_value: i64,
) {
    typed.append_null();
    let mut tagged = Vec::with_capacity(9);
    encode_raw(SqlValue::Integer(server_value), &mut tagged);
    raw.append_value(&tagged);
}

/// Decodes a binary COPY stream of `table`'s stored columns into batches of `schema`,
/// handing each to `sink`; returns the rows read.
pub(crate) fn decode(
    mut input: impl BufRead,
    table: &PgTable,
    schema: &TableSchema,
    batch_rows: usize,
    sink: &mut dyn FnMut(RecordBatch) -> Result<(), AdapterError>,
) -> Result<u64, AdapterError> {
    let copy_error = |message: String| Error::Copy {
        table: schema.name.clone(),
        message,
    };
    let read_error = |at: String, e: std::io::Error| stream_error(&schema.name, &at, &e);
    let forms: Vec<Form> = table.stored_columns().map(|c| c.form).collect();
    let mut builders: Vec<Builder> = forms.iter().map(|f| Builder::new(*f)).collect();
    let arrow_schema = schema.arrow_schema();
    let mut header = [0u8; 19];
    input
        .read_exact(&mut header)
        .map_err(|e| read_error("the stream's header".into(), e))?;
    if &header[..11] != b"PGCOPY\n\xff\r\n\0" {
        return Err(copy_error("the stream is not binary COPY".into()).into());
    }
    let extension = u32::from_be_bytes(header[15..19].try_into().expect("4 bytes"));
    std::io::copy(
        &mut (&mut input).take(u64::from(extension)),
        &mut std::io::sink(),
    )
    .map_err(|e| read_error("the stream's header".into(), e))?;
    let (mut rows, mut in_batch, mut bytes) = (0u64, 0usize, 0usize);
    let mut value = Vec::new();
    let mut flush = |builders: &mut Vec<Builder>,
                     in_batch: &mut usize,
                     bytes: &mut usize|
     -> Result<(), AdapterError> {
        if *in_batch == 0 {
            return Ok(());
        }
        let mut columns: Vec<ArrayRef> = builders.iter_mut().map(Builder::finish).collect();
        // The raw side columns follow, in column order (TableSchema::arrow_schema).
        columns.extend(builders.iter_mut().filter_map(Builder::finish_raw));
        let batch =
            RecordBatch::try_new(arrow_schema.clone(), columns).map_err(|source| Error::Arrow {
                table: schema.name.clone(),
                source,
            })?;
        *in_batch = 0;
        *bytes = 0;
        sink(batch)
    };
    loop {
        let mut count = [0u8; 2];
        input
            .read_exact(&mut count)
            .map_err(|e| read_error(format!("after {rows} rows"), e))?;
        let count = i16::from_be_bytes(count);
        if count == -1 {
            break;
        }
        if usize::try_from(count).ok() != Some(forms.len()) {
            return Err(copy_error(format!("a row of {count} fields, not {}", forms.len())).into());
        }
        for builder in &mut builders {
            let mut length = [0u8; 4];
            input
                .read_exact(&mut length)
                .map_err(|e| read_error(format!("row {rows}"), e))?;
            let length = i32::from_be_bytes(length);
            if length < 0 {
                builder.null();
                continue;
            }
            value.clear();
            (&mut input)
                .take(length as u64)
                .read_to_end(&mut value)
                .map_err(|e| read_error(format!("row {rows}"), e))?;
            if value.len() != length as usize {
                return Err(copy_error(format!("row {rows} ends early")).into());
            }
            builder
                .value(&value)
                .map_err(|m| copy_error(format!("row {rows}: {m}")))?;
            bytes += value.len();
        }
        rows += 1;
        in_batch += 1;
        if in_batch >= batch_rows || bytes >= BATCH_BYTES {
            flush(&mut builders, &mut in_batch, &mut bytes)?;
        }
    }
    flush(&mut builders, &mut in_batch, &mut bytes)?;
    Ok(rows)
}

/// An error of the COPY stream, with the server's own message and kind (the stream's error
/// wraps the client's, whose text alone is only "db error").
fn stream_error(table: &str, at: &str, error: &std::io::Error) -> Error {
    let context = format!("reading `{table}`, {at}");
    match error
        .get_ref()
        .and_then(|e| e.downcast_ref::<postgres::Error>())
    {
        Some(client) => crate::error::from_client(context, client, None),
        None => Error::Copy {
            table: table.to_string(),
            message: format!("{at}: {error}"),
        },
    }
}
