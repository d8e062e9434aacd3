//! Plain SQL on the database's own session, by the simple query protocol; rows come back
//! as Arrow text columns (each value in PostgreSQL's text form).

use std::sync::Arc;

use arrow::array::{ArrayRef, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use postgres::{Client, SimpleQueryMessage};
use quiver_catalog::SqlOutcome;

use crate::error::{Result, statement};

/// Runs `sql` (one statement).
pub(crate) fn run(client: &mut Client, sql: &str) -> Result<SqlOutcome> {
    let messages = client.simple_query(sql).map_err(statement(sql))?;
    let mut names: Option<Vec<String>> = None;
    let mut rows: Vec<Vec<Option<String>>> = Vec::new();
    let mut changed = 0;
    for message in messages {
        match message {
            SimpleQueryMessage::RowDescription(columns) => {
                names = Some(columns.iter().map(|c| c.name().to_string()).collect());
                rows.clear();
            }
            SimpleQueryMessage::Row(row) => {
                if names.is_none() {
                    names = Some(row.columns().iter().map(|c| c.name().to_string()).collect());
                }
                rows.push(
                    (0..row.len())
                        .map(|i| row.get(i).map(String::from))
                        .collect(),
                );
            }
            SimpleQueryMessage::CommandComplete(n) => changed = n,
            _ => {}
        }
    }
    let Some(names) = names else {
        return Ok(SqlOutcome::Changed { rows: changed });
    };
    let fields: Vec<Field> = names
        .iter()
        .map(|n| Field::new(n, DataType::Utf8, true))
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let columns: Vec<ArrayRef> = (0..names.len())
        .map(|i| {
            let mut b = StringBuilder::new();
            for row in &rows {
                b.append_option(row.get(i).cloned().flatten());
            }
            Arc::new(b.finish()) as ArrayRef
        })
        .collect();
    let options = RecordBatchOptions::new().with_row_count(Some(rows.len()));
    let batch = RecordBatch::try_new_with_options(schema.clone(), columns, &options)
        .expect("text columns of the same length");
    Ok(SqlOutcome::Rows {
        schema,
        batches: vec![batch],
    })
}
