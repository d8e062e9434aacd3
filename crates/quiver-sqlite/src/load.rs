//! Binding Arrow rows back into SQLite with their original storage classes.

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use arrow::record_batch::RecordBatch;
use quiver_catalog::TableSchema;
use rusqlite::Statement;
use rusqlite::types::{ToSqlOutput, ValueRef};

use crate::describe::rowid_expression;
use crate::error::sqlite;
use crate::{Error, Result, quote_ident, raw};

/// `INSERT` statement for `table`'s stored columns (and its rowid, when that is stored).
pub(crate) fn insert_sql(table: &TableSchema) -> Result<String> {
    let mut names = Vec::with_capacity(table.columns.len() + 1);
    if table.stores_rowid {
        names.push(rowid_expression(table)?.to_string());
    }
    names.extend(table.columns.iter().map(|c| quote_ident(&c.name)));
    let params = (1..=names.len())
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    Ok(format!(
        "INSERT INTO main.{} ({}) VALUES ({params})",
        quote_ident(&table.name),
        names.join(", ")
    ))
}

/// Inserts every row of `batch` through the prepared `insert`.
pub(crate) fn insert_batch(
    insert: &mut Statement<'_>,
    table: &TableSchema,
    batch: &RecordBatch,
) -> Result<()> {
    let expected = table.arrow_schema();
    if batch.schema().fields() != expected.fields() {
        return Err(Error::BatchMismatch {
            table: table.name.clone(),
            message: format!(
                "expected columns {:?}",
                expected
                    .fields()
                    .iter()
                    .map(|f| f.name())
                    .collect::<Vec<_>>()
            ),
        });
    }
    let offset = usize::from(table.stores_rowid);
    let raw_start = offset + table.columns.len();
    // Index of each column's raw side column in the batch, if it has one.
    let mut raw_index = Vec::with_capacity(table.columns.len());
    let mut next_raw = raw_start;
    for column in &table.columns {
        raw_index.push(column.has_raw.then(|| {
            next_raw += 1;
            next_raw - 1
        }));
    }
    let context = || format!("restoring rows of `{}`", table.name);
    for row in 0..batch.num_rows() {
        let mut param = 1;
        if table.stores_rowid {
            let rowid = batch.column(0).as_primitive::<Int64Type>().value(row);
            insert
                .raw_bind_parameter(param, rowid)
                .map_err(sqlite(context))?;
            param += 1;
        }
        for (i, raw_at) in raw_index.iter().enumerate() {
            let typed = batch.column(offset + i);
            let value = if typed.is_valid(row) {
                typed_value(typed.as_ref(), row)
            } else if let Some(raw_at) = raw_at {
                let raw_column = batch.column(*raw_at).as_binary::<i32>();
                if raw_column.is_valid(row) {
                    quiver_catalog::decode_raw(raw_column.value(row))
                        .map(raw::to_sqlite)
                        .ok_or_else(|| Error::BatchMismatch {
                            table: table.name.clone(),
                            message: format!(
                                "undecodable raw value in column `{}`",
                                table.columns[i].name
                            ),
                        })?
                } else {
                    ValueRef::Null
                }
            } else {
                ValueRef::Null
            };
            insert
                .raw_bind_parameter(param, ToSqlOutput::Borrowed(value))
                .map_err(sqlite(context))?;
            param += 1;
        }
        insert.raw_execute().map_err(sqlite(context))?;
    }
    Ok(())
}

fn typed_value(array: &dyn Array, row: usize) -> ValueRef<'_> {
    match array.data_type() {
        DataType::Int64 => ValueRef::Integer(array.as_primitive::<Int64Type>().value(row)),
        DataType::Float64 => ValueRef::Real(array.as_primitive::<Float64Type>().value(row)),
        DataType::Utf8 => ValueRef::Text(array.as_string::<i32>().value(row).as_bytes()),
        DataType::Binary => ValueRef::Blob(array.as_binary::<i32>().value(row)),
        // The schema check above admits only the four storage types.
        _ => ValueRef::Null,
    }
}
