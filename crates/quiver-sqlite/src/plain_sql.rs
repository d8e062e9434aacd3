//! Plain SQL: run by SQLite on the database's own connection; rows come back as Arrow batches.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryBuilder, Float64Builder, Int64Builder, NullArray, StringBuilder,
};
use arrow::datatypes::{Field, Schema};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use quiver_catalog::SqlOutcome;
use rusqlite::Connection;
use rusqlite::types::Value;

/// Runs one plain SQL statement.
pub(crate) fn run(conn: &Connection, sql: &str) -> rusqlite::Result<SqlOutcome> {
    let mut stmt = conn.prepare(sql)?;
    if stmt.column_count() == 0 {
        let rows = stmt.raw_execute()?;
        return Ok(SqlOutcome::Changed { rows: rows as u64 });
    }
    let names: Vec<String> = stmt.column_names().into_iter().map(String::from).collect();
    let mut columns: Vec<Vec<Value>> = vec![Vec::new(); names.len()];
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        for (i, column) in columns.iter_mut().enumerate() {
            column.push(row.get::<_, Value>(i)?);
        }
    }
    Ok(to_arrow(&names, columns))
}

/// Builds one batch. A column whose values all have one storage class gets that Arrow type
/// (NULLs aside); a column mixing classes becomes text, each value written as SQLite's
/// `quote()` would, except text which stays as it is.
fn to_arrow(names: &[String], columns: Vec<Vec<Value>>) -> SqlOutcome {
    let row_count = columns.first().map_or(0, Vec::len);
    let mut fields = Vec::with_capacity(names.len());
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(names.len());
    for (name, values) in names.iter().zip(columns) {
        let array = column_array(&values);
        fields.push(Field::new(name, array.data_type().clone(), true));
        arrays.push(array);
    }
    let schema = Arc::new(Schema::new(fields));
    let options = RecordBatchOptions::new().with_row_count(Some(row_count));
    let batch = RecordBatch::try_new_with_options(schema.clone(), arrays, &options)
        .expect("columns are built with the schema's types and the same length");
    SqlOutcome::Rows {
        schema,
        batches: vec![batch],
    }
}

fn column_array(values: &[Value]) -> ArrayRef {
    let mut class = None;
    for value in values {
        let this = std::mem::discriminant(value);
        if matches!(value, Value::Null) {
            continue;
        }
        match class {
            None => class = Some((this, value)),
            Some((seen, _)) if seen != this => return Arc::new(text_column(values)),
            Some(_) => {}
        }
    }
    match class.map(|(_, v)| v) {
        None => Arc::new(NullArray::new(values.len())),
        Some(Value::Integer(_)) => {
            let mut b = Int64Builder::with_capacity(values.len());
            values.iter().for_each(|v| b.append_option(as_integer(v)));
            Arc::new(b.finish())
        }
        Some(Value::Real(_)) => {
            let mut b = Float64Builder::with_capacity(values.len());
            values.iter().for_each(|v| {
                b.append_option(if let Value::Real(r) = v {
                    Some(*r)
                } else {
                    None
                })
            });
            Arc::new(b.finish())
        }
        Some(Value::Blob(_)) => {
            let mut b = BinaryBuilder::new();
            values.iter().for_each(|v| {
                b.append_option(if let Value::Blob(x) = v {
                    Some(x)
                } else {
                    None
                })
            });
            Arc::new(b.finish())
        }
        _ => Arc::new(text_column(values)),
    }
}

fn as_integer(value: &Value) -> Option<i64> {
    if let Value::Integer(i) = value {
        Some(*i)
    } else {
        None
    }
}

fn text_column(values: &[Value]) -> arrow::array::StringArray {
    let mut b = StringBuilder::new();
    for value in values {
        match value {
            Value::Null => b.append_null(),
            Value::Integer(i) => b.append_value(i.to_string()),
            Value::Real(r) => b.append_value(format!("{r:?}")),
            Value::Text(t) => b.append_value(t),
            Value::Blob(x) => b.append_value(format!(
                "X'{}'",
                x.iter().map(|b| format!("{b:02X}")).collect::<String>()
            )),
        }
    }
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::AsArray;
    use arrow::datatypes::DataType;

    #[test]
    fn columns_get_their_class_or_text_when_mixed() {
        let conn = Connection::open_in_memory().unwrap();
        let SqlOutcome::Rows { schema, batches } = run(
            &conn,
            "SELECT 1 AS i, 1.5 AS r, 'x' AS t, x'00' AS b, NULL AS n UNION ALL SELECT 2, NULL, 3, NULL, NULL",
        )
        .unwrap() else {
            panic!("rows expected")
        };
        let types: Vec<DataType> = schema
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        assert_eq!(
            types,
            [
                DataType::Int64,
                DataType::Float64,
                DataType::Utf8,
                DataType::Binary,
                DataType::Null
            ]
        );
        let t = batches[0].column(2).as_string::<i32>();
        assert_eq!((t.value(0), t.value(1)), ("x", "3"));
    }

    #[test]
    fn statements_without_rows_report_changes() {
        let conn = Connection::open_in_memory().unwrap();
        run(&conn, "CREATE TABLE t(a)").unwrap();
        let outcome = run(&conn, "INSERT INTO t VALUES (1), (2)").unwrap();
        assert!(matches!(outcome, SqlOutcome::Changed { rows: 2 }));
    }
}
