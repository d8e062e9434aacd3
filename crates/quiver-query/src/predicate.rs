//! A SQL condition on a table's rows, compiled once and evaluated batch by batch (the FILTER
//! of a selective restore).

use std::sync::Arc;

use arrow::array::{Array, AsArray, BooleanArray};
use arrow::compute::prep_null_mask_filter;
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use datafusion::common::DFSchema;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::utils::collect_columns;
use datafusion::prelude::{SessionConfig, SessionContext};
use quiver_catalog::{SqlValue, TableSchema, decode_raw, raw_column_name};

use crate::layout::TableLayout;
use crate::{Error, Result};

/// A compiled SQL condition on a table's columns (as queries see them).
#[derive(Debug)]
pub struct RowPredicate {
    expr: Arc<dyn PhysicalExpr>,
    layout: TableLayout,
    /// The raw side columns of the columns the condition reads, by column name and
    /// position in [`TableSchema::arrow_schema`]: a value there is one the condition would
    /// see as NULL.
    raw_columns: Vec<(String, usize)>,
}

impl RowPredicate {
    /// Compiles `condition` (e.g. `customer_id = 42 AND total > 10`) against `table`.
    /// An unknown column, a type mismatch or a condition that is not boolean is an error.
    pub fn compile(table: &TableSchema, condition: &str) -> Result<RowPredicate> {
        let layout = TableLayout::of(table);
        let context =
            SessionContext::new_with_config(crate::session::exact_literals(SessionConfig::new()));
        let schema = DFSchema::try_from(layout.visible.as_ref().clone())?;
        let expr = context.parse_sql_expr(condition, &schema)?;
        let expr = context.create_physical_expr(expr, &schema)?;
        let kind = expr.data_type(layout.visible.as_ref())?;
        if kind != DataType::Boolean {
            return Err(datafusion::error::DataFusionError::Plan(format!(
                "`{condition}` is a {kind} value, not a condition"
            ))
            .into());
        }
        // A text form compares as text: `balance > '1000'` would order numbers as strings.
        if let Some(column) = collect_columns(&expr)
            .iter()
            .filter_map(|c| table.columns.get(c.index()))
            .find(|c| c.text_form)
        {
            return Err(Error::InexactFilter {
                column: column.name.clone(),
                message: format!(
                    "its `{}` values are stored as their text form, which a condition compares as text, not as {}",
                    column.declared_type, column.declared_type
                ),
            });
        }
        let file = table.arrow_schema();
        let mut raw_columns: Vec<(String, usize)> = collect_columns(&expr)
            .iter()
            .filter_map(|c| table.columns.get(c.index()))
            .filter(|c| c.has_raw)
            .filter_map(|c| {
                let raw = file.index_of(&raw_column_name(&c.name)).ok()?;
                Some((c.name.clone(), raw))
            })
            .collect();
        raw_columns.sort();
        Ok(RowPredicate {
            expr,
            layout,
            raw_columns,
        })
    }

    /// Which rows of `batch` (of [`TableSchema::arrow_schema`]) satisfy the condition; a NULL
    /// result counts as false, as in SQL's WHERE.
    ///
    /// A row whose value in a column the condition reads is of another storage class than
    /// the column's (`'abc'` in an INTEGER column: SQLite's dynamic typing) cannot be judged
    /// exactly, since the condition would see NULL there: the evaluation is refused, naming
    /// the column, rather than restore rows the user did not ask for.
    pub fn evaluate(&self, batch: &RecordBatch) -> Result<BooleanArray> {
        for (name, raw) in &self.raw_columns {
            let values = batch.column(*raw).as_binary::<i32>();
            if let Some(row) = (0..values.len()).find(|&r| values.is_valid(r)) {
                let class = match decode_raw(values.value(row)) {
                    Some(SqlValue::Integer(_)) => "an integer",
                    Some(SqlValue::Real(_)) => "a real",
                    Some(SqlValue::Text(_)) => "text",
                    Some(SqlValue::Blob(_)) => "a blob",
                    Some(SqlValue::Null) | None => "a value",
                };
                return Err(Error::InexactFilter {
                    column: name.clone(),
                    message: format!(
                        "it holds {class} where its declared type `{}` stores another storage class, which the condition would see as NULL",
                        self.layout
                            .table
                            .columns
                            .iter()
                            .find(|c| &c.name == name)
                            .map_or("", |c| c.declared_type.as_str())
                    ),
                });
            }
        }
        let visible = batch.project(&self.layout.positions)?;
        let rows = visible.num_rows();
        let result = self.expr.evaluate(&visible)?.into_array(rows)?;
        let result = result
            .as_any()
            .downcast_ref::<BooleanArray>()
            .expect("checked to be boolean at compile time");
        Ok(if result.null_count() > 0 {
            prep_null_mask_filter(result)
        } else {
            result.clone()
        })
    }
}
