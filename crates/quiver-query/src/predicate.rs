//! A SQL condition on a table's rows, compiled once and evaluated batch by batch (the FILTER
//! of a selective restore).

use std::sync::Arc;

use arrow::array::{Array, BooleanArray};
use arrow::compute::prep_null_mask_filter;
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use datafusion::common::DFSchema;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::prelude::SessionContext;
use quiver_catalog::TableSchema;

use crate::Result;
use crate::layout::TableLayout;

/// A compiled SQL condition on a table's columns (as queries see them).
#[derive(Debug)]
pub struct RowPredicate {
    expr: Arc<dyn PhysicalExpr>,
    layout: TableLayout,
}

impl RowPredicate {
    /// Compiles `condition` (e.g. `customer_id = 42 AND total > 10`) against `table`.
    /// An unknown column, a type mismatch or a condition that is not boolean is an error.
    pub fn compile(table: &TableSchema, condition: &str) -> Result<RowPredicate> {
        let layout = TableLayout::of(table);
        let context = SessionContext::new();
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
        Ok(RowPredicate { expr, layout })
    }

    /// Which rows of `batch` (of [`TableSchema::arrow_schema`]) satisfy the condition; a NULL
    /// result counts as false, as in SQL's WHERE.
    pub fn evaluate(&self, batch: &RecordBatch) -> Result<BooleanArray> {
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
