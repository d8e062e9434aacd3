//! Reading the key of a row out of a batch.

use std::cmp::Ordering;

use arrow::array::{Array, AsArray, BinaryArray, Float64Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use arrow::record_batch::RecordBatch;
use quiver_catalog::{KeyColumn, SqlValue, decode_raw};

use crate::order::compare_values;
use crate::{Error, Result};

/// One key column of a batch, downcast once.
#[derive(Debug, Clone)]
enum Typed {
    Integer(Int64Array),
    Real(Float64Array),
    Text(StringArray),
    Blob(BinaryArray),
}

/// The key columns of one batch, ready to compare rows by.
#[derive(Debug, Clone)]
pub(crate) struct KeyView {
    columns: Vec<(Typed, Option<BinaryArray>)>,
    /// Every key column is a non-NULL integer without a raw side column: the common
    /// INTEGER PRIMARY KEY, compared without going through [`SqlValue`].
    integers: Option<Vec<Int64Array>>,
}

impl KeyView {
    /// The key of `batch`, whose key columns are at `key`.
    pub(crate) fn new(batch: &RecordBatch, key: &[KeyColumn]) -> Result<KeyView> {
        let column = |at: usize| {
            (at < batch.num_columns())
                .then(|| batch.column(at))
                .ok_or_else(|| Error::Layout(format!("no key column at position {at}")))
        };
        let mut columns = Vec::with_capacity(key.len());
        for k in key {
            let value = column(k.value)?;
            let typed = match value.data_type() {
                DataType::Int64 => Typed::Integer(value.as_primitive::<Int64Type>().clone()),
                DataType::Float64 => Typed::Real(value.as_primitive::<Float64Type>().clone()),
                DataType::Utf8 => Typed::Text(value.as_string::<i32>().clone()),
                DataType::Binary => Typed::Blob(value.as_binary::<i32>().clone()),
                other => return Err(Error::Layout(format!("key column of type {other}"))),
            };
            let raw = match k.raw {
                Some(at) => Some(
                    column(at)?
                        .as_binary_opt::<i32>()
                        .ok_or_else(|| Error::Layout("raw key column is not binary".into()))?
                        .clone(),
                ),
                None => None,
            };
            columns.push((typed, raw));
        }
        let integers = columns
            .iter()
            .map(|(typed, raw)| match (typed, raw) {
                (Typed::Integer(a), None) if a.null_count() == 0 => Some(a.clone()),
                _ => None,
            })
            .collect();
        Ok(KeyView { columns, integers })
    }

    /// The value of key column `column` at `row`.
    fn value(&self, column: usize, row: usize) -> SqlValue<'_> {
        let (typed, raw) = &self.columns[column];
        let valid = match typed {
            Typed::Integer(a) => a.is_valid(row),
            Typed::Real(a) => a.is_valid(row),
            Typed::Text(a) => a.is_valid(row),
            Typed::Blob(a) => a.is_valid(row),
        };
        if valid {
            return match typed {
                Typed::Integer(a) => SqlValue::Integer(a.value(row)),
                Typed::Real(a) => SqlValue::Real(a.value(row)),
                Typed::Text(a) => SqlValue::Text(a.value(row).as_bytes()),
                Typed::Blob(a) => SqlValue::Blob(a.value(row)),
            };
        }
        match raw {
            // An undecodable raw value cannot come from quiver's writer; checksums guard the
            // files, so it orders as NULL rather than failing a comparison.
            Some(raw) if raw.is_valid(row) => decode_raw(raw.value(row)).unwrap_or(SqlValue::Null),
            _ => SqlValue::Null,
        }
    }

    /// Compares the key at `row` with the key of `other` at `other_row`.
    pub(crate) fn compare(&self, row: usize, other: &KeyView, other_row: usize) -> Ordering {
        if let (Some(mine), Some(theirs)) = (&self.integers, &other.integers) {
            for (a, b) in mine.iter().zip(theirs) {
                let order = a.value(row).cmp(&b.value(other_row));
                if order != Ordering::Equal {
                    return order;
                }
            }
            return Ordering::Equal;
        }
        for column in 0..self.columns.len() {
            let order = compare_values(self.value(column, row), other.value(column, other_row));
            if order != Ordering::Equal {
                return order;
            }
        }
        Ordering::Equal
    }
}
