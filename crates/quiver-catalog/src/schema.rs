//! What a backed-up table looks like: its columns, key and DDL, and the Arrow schema of its files.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use serde::{Deserialize, Serialize};

/// Name of the stored column that carries the rowid of tables that have no primary key.
pub const ROWID_COLUMN: &str = "_quiver_rowid";

/// Name of the side column that keeps the values of `column` that do not fit its Arrow type.
///
/// SQLite is dynamically typed: an `INTEGER` column may hold `'abc'`. Such values go, tagged
/// with their storage class, into this nullable binary column, so nothing is dropped or altered.
pub fn raw_column_name(column: &str) -> String {
    format!("_quiver_raw__{column}")
}

/// The Arrow type a column is stored as; values of other types go to its raw side column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    /// 64-bit signed integer.
    Integer,
    /// 64-bit float.
    Real,
    /// UTF-8 text.
    Text,
    /// Bytes.
    Blob,
}

impl ColumnType {
    /// The Arrow type of this column in data files.
    pub fn arrow_type(self) -> DataType {
        match self {
            ColumnType::Integer => DataType::Int64,
            ColumnType::Real => DataType::Float64,
            ColumnType::Text => DataType::Utf8,
            ColumnType::Blob => DataType::Binary,
        }
    }
}

/// One column of a backed-up table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnSchema {
    /// Column name as in the source table.
    pub name: String,
    /// Declared type as written in `CREATE TABLE` (may be empty).
    pub declared_type: String,
    /// How values are stored.
    pub column_type: ColumnType,
    /// Whether values of other types are possible, and so stored in a raw side column.
    pub has_raw: bool,
    /// Whether the column is part of the primary key.
    pub in_primary_key: bool,
}

/// A table as it was at backup time: enough to recreate it exactly and to read its files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSchema {
    /// Table name in the source database.
    pub name: String,
    /// Stored columns, in table order (generated columns are not stored; they are recomputed).
    pub columns: Vec<ColumnSchema>,
    /// Names of the key columns, in key order; `[ROWID_COLUMN]` when the table has no primary key.
    pub primary_key: Vec<String>,
    /// True when the table has a rowid that is not one of its columns (a rowid table without
    /// INTEGER PRIMARY KEY): it is stored as [`ROWID_COLUMN`] before the columns, so that a
    /// restore gives every row its rowid back.
    pub stores_rowid: bool,
    /// The original `CREATE TABLE` statement.
    pub create_sql: String,
    /// `CREATE INDEX` statements of the table's explicit indexes.
    pub index_sql: Vec<String>,
    /// `CREATE TRIGGER` statements of the table's triggers (recreated after the data is loaded).
    pub trigger_sql: Vec<String>,
    /// The table's AUTOINCREMENT counter, if it has one.
    pub autoincrement_seq: Option<i64>,
}

impl TableSchema {
    /// The Arrow schema of this table's data files: the rowid column if the key is the rowid,
    /// then the columns, then the raw side columns of the columns that have one.
    pub fn arrow_schema(&self) -> SchemaRef {
        let mut fields = Vec::with_capacity(self.columns.len() + 1);
        if self.stores_rowid {
            fields.push(Field::new(ROWID_COLUMN, DataType::Int64, false));
        }
        for column in &self.columns {
            fields.push(Field::new(
                &column.name,
                column.column_type.arrow_type(),
                true,
            ));
        }
        for column in self.columns.iter().filter(|c| c.has_raw) {
            fields.push(Field::new(
                raw_column_name(&column.name),
                DataType::Binary,
                true,
            ));
        }
        Arc::new(Schema::new(fields))
    }

    /// Whether the key is the rowid (the table has no primary key).
    pub fn rowid_is_key(&self) -> bool {
        self.primary_key.len() == 1 && self.primary_key[0] == ROWID_COLUMN
    }

    /// Positions of the key columns in [`TableSchema::arrow_schema`], in key order.
    pub fn key_indices(&self) -> Vec<usize> {
        let schema = self.arrow_schema();
        self.primary_key
            .iter()
            .filter_map(|name| schema.index_of(name).ok())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, column_type: ColumnType, has_raw: bool) -> ColumnSchema {
        ColumnSchema {
            name: name.into(),
            declared_type: String::new(),
            column_type,
            has_raw,
            in_primary_key: false,
        }
    }

    #[test]
    fn arrow_schema_orders_rowid_columns_then_raw() {
        let table = TableSchema {
            name: "t".into(),
            columns: vec![
                column("a", ColumnType::Integer, true),
                column("b", ColumnType::Text, false),
            ],
            primary_key: vec![ROWID_COLUMN.into()],
            stores_rowid: true,
            create_sql: "CREATE TABLE t(a INTEGER, b TEXT)".into(),
            index_sql: vec![],
            trigger_sql: vec![],
            autoincrement_seq: None,
        };
        let schema = table.arrow_schema();
        let names: Vec<_> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["_quiver_rowid", "a", "b", "_quiver_raw__a"]);
        assert_eq!(table.key_indices(), vec![0]);
    }
}
