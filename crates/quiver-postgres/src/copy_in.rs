//! Batches as `COPY … FROM STDIN` data: binary when every column's form has a binary
//! encoding here (no parsing on the server), else text, where text forms go back through
//! their type's input function.

use std::io::Write;

use arrow::array::{Array, AsArray, BinaryArray};
use arrow::datatypes::{
    DataType, Date32Type, Decimal256Type, Float64Type, Int64Type, Time64MicrosecondType, TimeUnit,
    TimestampMicrosecondType,
};
use arrow::record_batch::RecordBatch;

use quiver_catalog::{SqlValue, decode_raw};

use crate::decimal::decimal_text;
use crate::table::Form;
use crate::time::{
    date_text, date_to_pg, pg_timestamp_text, time_text, timestamp_text, timestamp_to_pg,
};

/// The format of one table's COPY FROM data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CopyFormat {
    /// `FORMAT binary`.
    Binary,
    /// COPY's default text format.
    Text,
}

impl CopyFormat {
    /// Binary unless a column travels as its text form (only the type's own input function
    /// reads that; binary COPY would hand it to the type's receive function) or as a
    /// decimal (written as text: numeric's binary form is base-10000 digits).
    pub(crate) fn for_forms(forms: &[Form]) -> CopyFormat {
        if forms
            .iter()
            .any(|f| matches!(f, Form::TextForm | Form::Decimal { .. }))
        {
            CopyFormat::Text
        } else {
            CopyFormat::Binary
        }
    }

    /// The COPY option clause of this format.
    pub(crate) fn option(self) -> &'static str {
        match self {
            CopyFormat::Binary => " (FORMAT binary)",
            CopyFormat::Text => "",
        }
    }

    /// Starts a COPY stream in `out` (binary's header).
    pub(crate) fn start(self, out: &mut Vec<u8>) {
        if self == CopyFormat::Binary {
            out.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
            out.extend_from_slice(&0i32.to_be_bytes()); // flags
            out.extend_from_slice(&0i32.to_be_bytes()); // header extension length
        }
    }

    /// Appends the rows of `batch` ([`quiver_catalog::TableSchema::arrow_schema`]: the
    /// stored columns, in `forms`, then the raw side columns of the forms that have one) to
    /// the stream in `out`.
    pub(crate) fn encode(
        self,
        batch: &RecordBatch,
        forms: &[Form],
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        let columns = stored_columns(batch, forms)?;
        match self {
            CopyFormat::Binary => binary(batch.num_rows(), &columns, out),
            CopyFormat::Text => text(batch.num_rows(), &columns, out),
        }
    }

    /// Ends the stream in `out` (binary's trailer).
    pub(crate) fn end(self, out: &mut Vec<u8>) {
        if self == CopyFormat::Binary {
            out.extend_from_slice(&(-1i16).to_be_bytes());
        }
    }
}

/// One stored column of a batch: its values, its raw side column if its form has one.
struct Stored<'a> {
    values: &'a dyn Array,
    raw: Option<&'a BinaryArray>,
    form: Form,
}

/// A value of a [`Stored`] column.
enum Cell<'a> {
    Null,
    Value,
    /// A value only the raw side column holds, as the server's own integer: a timestamp's
    /// microseconds since 2000, a time's since midnight.
    Raw(i64),
    /// A value only the raw side column holds, as its text: a numeric's `NaN`.
    RawText(&'a [u8]),
}

impl<'a> Stored<'a> {
    fn cell(&self, row: usize) -> Result<Cell<'a>, String> {
        if self.values.is_valid(row) {
            return Ok(Cell::Value);
        }
        match self.raw.filter(|raw| raw.is_valid(row)) {
            None => Ok(Cell::Null),
            Some(raw) => match decode_raw(raw.value(row)) {
                Some(SqlValue::Integer(value)) if !matches!(self.form, Form::Decimal { .. }) => {
                    Ok(Cell::Raw(value))
                }
                Some(SqlValue::Text(b"NaN")) if matches!(self.form, Form::Decimal { .. }) => {
                    Ok(Cell::RawText(b"NaN"))
                }
                _ => Err(format!("row {row} has a raw value its column cannot hold")),
            },
        }
    }
}

/// The stored columns of `batch`, checked against `forms`.
fn stored_columns<'a>(batch: &'a RecordBatch, forms: &[Form]) -> Result<Vec<Stored<'a>>, String> {
    let raws = forms.iter().filter(|f| f.has_raw()).count();
    if batch.num_columns() != forms.len() + raws {
        return Err(format!(
            "{} columns for {} and {raws} raw side columns",
            batch.num_columns(),
            forms.len()
        ));
    }
    let mut next_raw = forms.len();
    let mut columns = Vec::with_capacity(forms.len());
    for (values, form) in batch.columns().iter().zip(forms) {
        let expected = form.column_type().arrow_type();
        if values.data_type() != &expected {
            return Err(format!(
                "a column of type {} where {expected} is stored",
                values.data_type()
            ));
        }
        let raw = if form.has_raw() {
            let raw = batch.column(next_raw).as_binary_opt::<i32>();
            next_raw += 1;
            Some(raw.ok_or_else(|| "a raw side column that is not binary".to_string())?)
        } else {
            None
        };
        columns.push(Stored {
            values: values.as_ref(),
            raw,
            form: *form,
        });
    }
    Ok(columns)
}

/// Binary COPY rows: each a field count, then each field's length (-1 for NULL) and bytes
/// in the type's binary form.
fn binary(rows: usize, columns: &[Stored<'_>], out: &mut Vec<u8>) -> Result<(), String> {
    out.reserve(rows * (columns.len() * 12 + 2));
    let fields = i16::try_from(columns.len()).map_err(|_| "too many columns".to_string())?;
    for row in 0..rows {
        out.extend_from_slice(&fields.to_be_bytes());
        for column in columns {
            match column.cell(row)? {
                Cell::Null => out.extend_from_slice(&(-1i32).to_be_bytes()),
                Cell::Value => field(out, column.values, column.form, row)?,
                Cell::Raw(value) => {
                    out.extend_from_slice(&8i32.to_be_bytes());
                    out.extend_from_slice(&value.to_be_bytes());
                }
                Cell::RawText(_) => return Err("a decimal in binary COPY".into()),
            }
        }
    }
    Ok(())
}

/// Appends one non-NULL value of `column` at `row`, in `form`'s binary encoding.
fn field(out: &mut Vec<u8>, column: &dyn Array, form: Form, row: usize) -> Result<(), String> {
    let sized = |out: &mut Vec<u8>, bytes: &[u8]| -> Result<(), String> {
        let length = i32::try_from(bytes.len()).map_err(|_| "a value over 2 GiB".to_string())?;
        out.extend_from_slice(&length.to_be_bytes());
        out.extend_from_slice(bytes);
        Ok(())
    };
    let out_of_range = |what: &str| format!("value out of range for {what} in row {row}");
    match form {
        Form::Integer { bytes } => {
            let v = column.as_primitive::<Int64Type>().value(row);
            match bytes {
                2 => sized(
                    out,
                    &i16::try_from(v)
                        .map_err(|_| out_of_range("smallint"))?
                        .to_be_bytes(),
                ),
                4 => sized(
                    out,
                    &i32::try_from(v)
                        .map_err(|_| out_of_range("integer"))?
                        .to_be_bytes(),
                ),
                _ => sized(out, &v.to_be_bytes()),
            }
        }
        Form::Float { bytes } => {
            let v = column.as_primitive::<Float64Type>().value(row);
            if bytes == 4 {
                let narrow = v as f32;
                // Every real widens exactly; anything else would be altered.
                if f64::from(narrow).to_bits() != v.to_bits() && !v.is_nan() {
                    return Err(out_of_range("real"));
                }
                sized(out, &narrow.to_be_bytes())
            } else {
                sized(out, &v.to_be_bytes())
            }
        }
        Form::Text => sized(out, column.as_string::<i32>().value(row).as_bytes()),
        Form::Bytes => sized(out, column.as_binary::<i32>().value(row)),
        Form::Bool => sized(out, &[u8::from(column.as_boolean().value(row))]),
        Form::Date => sized(
            out,
            &date_to_pg(column.as_primitive::<Date32Type>().value(row))?.to_be_bytes(),
        ),
        Form::Timestamp | Form::TimestampTz => sized(
            out,
            &timestamp_to_pg(column.as_primitive::<TimestampMicrosecondType>().value(row))?
                .to_be_bytes(),
        ),
        Form::Time => {
            let v = column.as_primitive::<Time64MicrosecondType>().value(row);
            sized(out, &v.to_be_bytes())
        }
        Form::TextForm | Form::Generated | Form::Decimal { .. } => {
            Err("a text form in binary COPY".into())
        }
    }
}

/// COPY's text format: tab-separated, `\N` for NULL, backslash escapes.
fn text(rows: usize, columns: &[Stored<'_>], out: &mut Vec<u8>) -> Result<(), String> {
    out.reserve(rows * columns.len() * 12);
    for row in 0..rows {
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                out.push(b'\t');
            }
            match column.cell(row)? {
                Cell::Null => out.extend_from_slice(b"\\N"),
                Cell::Value => text_value(out, column.values, row)?,
                Cell::Raw(value) => {
                    let text = match column.form {
                        Form::TimestampTz => pg_timestamp_text(value, "+00"),
                        Form::Time => time_text(value),
                        _ => pg_timestamp_text(value, ""),
                    };
                    out.extend_from_slice(text.as_bytes());
                }
                Cell::RawText(text) => escape(out, text),
            }
        }
        out.push(b'\n');
    }
    Ok(())
}

fn text_value(out: &mut Vec<u8>, column: &dyn Array, row: usize) -> Result<(), String> {
    match column.data_type() {
        DataType::Int64 => {
            write!(out, "{}", column.as_primitive::<Int64Type>().value(row))
                .expect("writes to a Vec");
        }
        DataType::Float64 => {
            let v = column.as_primitive::<Float64Type>().value(row);
            if v.is_nan() {
                out.extend_from_slice(b"NaN");
            } else if v.is_infinite() {
                out.extend_from_slice(if v > 0.0 { b"Infinity" } else { b"-Infinity" });
            } else {
                // The shortest text that reads back as the same float.
                write!(out, "{v:?}").expect("writes to a Vec");
            }
        }
        DataType::Utf8 => escape(out, column.as_string::<i32>().value(row).as_bytes()),
        DataType::Binary => {
            out.extend_from_slice(b"\\\\x");
            for byte in column.as_binary::<i32>().value(row) {
                write!(out, "{byte:02x}").expect("writes to a Vec");
            }
        }
        DataType::Boolean => out.push(if column.as_boolean().value(row) {
            b't'
        } else {
            b'f'
        }),
        DataType::Date32 => out.extend_from_slice(
            date_text(column.as_primitive::<Date32Type>().value(row)).as_bytes(),
        ),
        DataType::Timestamp(TimeUnit::Microsecond, zone) => {
            let v = column.as_primitive::<TimestampMicrosecondType>().value(row);
            let zone = if zone.is_some() { "+00" } else { "" };
            out.extend_from_slice(timestamp_text(v, zone).as_bytes());
        }
        DataType::Time64(TimeUnit::Microsecond) => {
            let v = column.as_primitive::<Time64MicrosecondType>().value(row);
            out.extend_from_slice(time_text(v).as_bytes());
        }
        DataType::Decimal256(_, scale) => {
            let v = column.as_primitive::<Decimal256Type>().value(row);
            let v = v.to_i128().ok_or("a decimal of more than 38 digits")?;
            let scale = u8::try_from(*scale).map_err(|_| "a decimal of negative scale")?;
            out.extend_from_slice(decimal_text(v, scale).as_bytes());
        }
        other => return Err(format!("a column of type {other}")),
    }
    Ok(())
}

fn escape(out: &mut Vec<u8>, text: &[u8]) {
    for &byte in text {
        match byte {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            other => out.push(other),
        }
    }
}
