//! Where a table's queryable columns are in its data files, and what a scan must read.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use quiver_catalog::{KeyColumn, TableSchema};

/// The column of a changes view that says what happened to the row.
pub const CHANGE_COLUMN: &str = "_change";

/// A table's columns as queries see them (the SQL columns, without quiver's rowid and raw
/// side columns), and where they are in its data files.
#[derive(Debug, Clone)]
pub(crate) struct TableLayout {
    /// The table's schema (of the newest backup of the chain).
    pub table: TableSchema,
    /// The columns queries see.
    pub visible: SchemaRef,
    /// Each visible column's position in the data files.
    pub positions: Vec<usize>,
}

impl TableLayout {
    pub fn of(table: &TableSchema) -> TableLayout {
        let file = table.arrow_schema();
        let offset = usize::from(table.stores_rowid);
        let positions: Vec<usize> = (0..table.columns.len()).map(|i| offset + i).collect();
        let visible = Arc::new(Schema::new(
            positions
                .iter()
                .map(|&p| file.field(p).clone())
                .collect::<Vec<_>>(),
        ));
        TableLayout {
            table: table.clone(),
            visible,
            positions,
        }
    }

    /// The schema of a changes view: `_change` ('upsert' or 'delete'), then the columns.
    pub fn changes_schema(&self) -> SchemaRef {
        let mut fields = vec![Field::new(CHANGE_COLUMN, DataType::Utf8, false)];
        fields.extend(self.visible.fields().iter().map(|f| f.as_ref().clone()));
        Arc::new(Schema::new(fields))
    }

    /// Names of the key columns that queries can see (a stored rowid is not one of them).
    pub fn visible_key_names(&self) -> Vec<String> {
        let file = self.table.arrow_schema();
        self.table
            .key_columns()
            .iter()
            .filter(|k| self.positions.contains(&k.value))
            .map(|k| file.field(k.value).name().clone())
            .collect()
    }

    /// What to read to produce the visible columns at `wanted` (positions in
    /// [`TableLayout::visible`]) through a merge: see [`ReadPlan`].
    pub fn read_plan(&self, wanted: &[usize]) -> ReadPlan {
        let (columns, merge_key) = self
            .table
            .projection_with_key(wanted.iter().map(|&w| self.positions[w]));
        let at = |position: usize| {
            columns
                .iter()
                .position(|&p| p == position)
                .expect("wanted columns are read")
        };
        let output = wanted.iter().map(|&w| at(self.positions[w])).collect();
        let file = self.table.arrow_schema();
        let merged = Arc::new(Schema::new(
            columns
                .iter()
                .map(|&p| file.field(p).clone())
                .collect::<Vec<_>>(),
        ));
        ReadPlan {
            columns,
            merge_key,
            merged,
            output,
        }
    }
}

/// The columns a merged scan reads and where things are among them.
#[derive(Debug, Clone)]
pub(crate) struct ReadPlan {
    /// Positions to read from every data file (plus the deleted column of incremental ones).
    pub columns: Vec<usize>,
    /// The key's positions among `columns`.
    pub merge_key: Vec<KeyColumn>,
    /// The schema of `columns`: what the merge yields.
    pub merged: SchemaRef,
    /// Positions among `columns` of the wanted visible columns, in the order wanted.
    pub output: Vec<usize>,
}
