//! Binding Arrow rows back into SQLite with their original storage classes.

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use arrow::record_batch::RecordBatch;
use quiver_catalog::TableSchema;
use rusqlite::types::{ToSqlOutput, ValueRef};

use crate::describe::rowid_expression;
use crate::error::sqlite;
use crate::{Error, Result, quote_ident, raw};

/// Rows one `INSERT` statement carries at most: each execution of a statement opens its
/// cursors and seeks from the b-tree's root again, so many rows per execution cost less per
/// row (kept well under SQLite's 32766 parameters and 500 rows of a `VALUES` list).
const ROWS_PER_INSERT: usize = 64;

/// `INSERT` statement for `rows` rows of `table`'s stored columns (and its rowid, when that
/// is stored).
pub(crate) fn insert_sql(table: &TableSchema, rows: usize) -> Result<String> {
    let mut names = Vec::with_capacity(table.columns.len() + 1);
    if table.stores_rowid {
        names.push(rowid_expression(table)?.to_string());
    }
    names.extend(table.columns.iter().map(|c| quote_ident(&c.name)));
    let row = format!("({})", vec!["?"; names.len()].join(", "));
    Ok(format!(
        "INSERT INTO main.{} ({}) VALUES {}",
        quote_ident(&table.name),
        names.join(", "),
        vec![row; rows.max(1)].join(", ")
    ))
}

/// Rows per statement for `table`: [`ROWS_PER_INSERT`], fewer for very wide tables.
fn rows_per_insert(table: &TableSchema) -> usize {
    let params = table.columns.len() + usize::from(table.stores_rowid);
    ROWS_PER_INSERT.min(30_000 / params.max(1)).max(1)
}

/// Inserts every row of `batch` into `table` through `conn`'s cached statements, many rows
/// per statement.
pub(crate) fn insert_batch(
    conn: &rusqlite::Connection,
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
    let per_statement = rows_per_insert(table);
    let full_sql = insert_sql(table, per_statement)?;
    let mut start = 0;
    while start < batch.num_rows() {
        let rows = per_statement.min(batch.num_rows() - start);
        let tail;
        let sql = if rows == per_statement {
            &full_sql
        } else {
            tail = insert_sql(table, rows)?;
            &tail
        };
        let mut insert = conn.prepare_cached(sql).map_err(sqlite(|| {
            format!("preparing the insert into `{}`", table.name)
        }))?;
        let mut param = 1;
        for row in start..start + rows {
            if table.stores_rowid {
                let rowid = batch.column(0).as_primitive::<Int64Type>().value(row);
                insert
                    .raw_bind_parameter(param, rowid)
                    .map_err(sqlite(context))?;
                param += 1;
            }
            for (i, raw_at) in raw_index.iter().enumerate() {
                let value = stored_value(table, batch, offset + i, *raw_at, row)?;
                insert
                    .raw_bind_parameter(param, ToSqlOutput::Borrowed(value))
                    .map_err(sqlite(context))?;
                param += 1;
            }
        }
        insert.raw_execute().map_err(sqlite(context))?;
        start += rows;
    }
    Ok(())
}

/// The value of column `at` (whose raw side column is `raw_at`) in `row`: the typed value,
/// else the raw one, else NULL.
fn stored_value<'a>(
    table: &TableSchema,
    batch: &'a RecordBatch,
    at: usize,
    raw_at: Option<usize>,
    row: usize,
) -> Result<ValueRef<'a>> {
    let typed = batch.column(at);
    if typed.is_valid(row) {
        return Ok(typed_value(typed.as_ref(), row));
    }
    let Some(raw_at) = raw_at else {
        return Ok(ValueRef::Null);
    };
    let raw_column = batch.column(raw_at).as_binary::<i32>();
    if !raw_column.is_valid(row) {
        return Ok(ValueRef::Null);
    }
    quiver_catalog::decode_raw(raw_column.value(row))
        .map(raw::to_sqlite)
        .ok_or_else(|| Error::BatchMismatch {
            table: table.name.clone(),
            message: format!(
                "undecodable raw value in column `{}`",
                table.columns[at - usize::from(table.stores_rowid)].name
            ),
        })
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
