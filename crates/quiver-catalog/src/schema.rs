//! What a backed-up table looks like: its columns, key and DDL, and the Arrow schema of its files.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use serde::{Deserialize, Serialize};

use crate::{BackupKind, Dialect};

/// Column names starting with this are quiver's own; source tables may not use them.
pub const RESERVED_PREFIX: &str = "_quiver_";

/// Name of the stored column that carries the rowid of tables that have no primary key.
pub const ROWID_COLUMN: &str = "_quiver_rowid";

/// Name of the column of data files that holds each row's hash (see `quiver-diff`): the next
/// incremental backup reads the previous state as (key, hash) only.
pub const HASH_COLUMN: &str = "_quiver_row_hash";

/// Name of the column of incremental data files that marks a deleted row (its other
/// columns, but the key, are NULL).
pub const DELETED_COLUMN: &str = "_quiver_deleted";

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
    /// true or false.
    Boolean,
    /// A calendar date: days since 1970-01-01. `i32::MAX` and `i32::MIN` stand for a
    /// database's `infinity` and `-infinity`.
    Date,
    /// A date and time of day without a time zone, in microseconds since 1970-01-01
    /// 00:00. `i64::MAX` and `i64::MIN` stand for `infinity` and `-infinity`.
    Timestamp,
    /// An instant, in microseconds since 1970-01-01 00:00 UTC (Arrow's time zone `UTC`).
    /// `i64::MAX` and `i64::MIN` stand for `infinity` and `-infinity`.
    TimestampTz,
    /// A time of day without a time zone, in microseconds since midnight (Arrow's times
    /// end before 24:00).
    Time,
    /// An exact decimal of `precision` digits, `scale` of them after the point (Arrow's
    /// Decimal256, though 38 digits fit Decimal128: QUERY's sums and products of 38-digit
    /// values then stay exact instead of overflowing 128 bits).
    Decimal {
        /// Digits in all, 1 to 38.
        precision: u8,
        /// Digits after the point, 0 to `precision`.
        scale: u8,
    },
}

/// The time zone of [`ColumnType::TimestampTz`] columns in Arrow.
pub const UTC: &str = "UTC";

impl ColumnType {
    /// The Arrow type of this column in data files.
    pub fn arrow_type(self) -> DataType {
        use arrow::datatypes::TimeUnit::Microsecond;
        match self {
            ColumnType::Integer => DataType::Int64,
            ColumnType::Real => DataType::Float64,
            ColumnType::Text => DataType::Utf8,
            ColumnType::Blob => DataType::Binary,
            ColumnType::Boolean => DataType::Boolean,
            ColumnType::Date => DataType::Date32,
            ColumnType::Timestamp => DataType::Timestamp(Microsecond, None),
            ColumnType::TimestampTz => DataType::Timestamp(Microsecond, Some(UTC.into())),
            ColumnType::Time => DataType::Time64(Microsecond),
            // A forged description's impossible scale is clamped here and then refused by
            // the adapter, whose check compares it with the column's type.
            ColumnType::Decimal { precision, scale } => DataType::Decimal256(
                precision.clamp(1, 38),
                i8::try_from(scale.min(precision.clamp(1, 38))).unwrap_or(0),
            ),
        }
    }

    /// Whether SQLite's storage classes hold this type (the others come from typed
    /// databases only).
    pub fn is_sqlite_class(self) -> bool {
        matches!(
            self,
            ColumnType::Integer | ColumnType::Real | ColumnType::Text | ColumnType::Blob
        )
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
    /// Whether the values are the database's text form of `declared_type` (a PostgreSQL
    /// numeric, date, json, ...): exact, but they compare as text, not as that type.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub text_form: bool,
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
    /// The database the table was backed up from. SQLite's tables use the DDL fields above;
    /// other adapters keep their description in `adapter`.
    #[serde(default, skip_serializing_if = "Dialect::is_sqlite")]
    pub dialect: Dialect,
    /// The adapter's own description of the table (PostgreSQL: columns with their types,
    /// defaults and identity, constraints, indexes, triggers, sequences and the types the
    /// table uses), read back by that adapter only. Untrusted, like the rest of a manifest:
    /// the adapter checks it before anything runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adapter: Option<serde_json::Value>,
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

    /// The schema of this table's data files in a backup of `kind`: [`TableSchema::arrow_schema`],
    /// then [`HASH_COLUMN`], then, in incremental backups, [`DELETED_COLUMN`].
    pub fn file_schema(&self, kind: BackupKind) -> SchemaRef {
        let mut fields: Vec<_> = self.arrow_schema().fields().iter().cloned().collect();
        // NULL in the tombstones of incremental files.
        fields.push(Arc::new(Field::new(HASH_COLUMN, DataType::UInt64, true)));
        if kind == BackupKind::Incremental {
            fields.push(Arc::new(Field::new(
                DELETED_COLUMN,
                DataType::Boolean,
                false,
            )));
        }
        Arc::new(Schema::new(fields))
    }

    /// Number of columns of [`TableSchema::arrow_schema`]: the row's own values.
    pub fn value_column_count(&self) -> usize {
        usize::from(self.stores_rowid)
            + self.columns.len()
            + self.columns.iter().filter(|c| c.has_raw).count()
    }

    /// Whether the key is the rowid (the table has no primary key).
    pub fn rowid_is_key(&self) -> bool {
        self.primary_key.len() == 1 && self.primary_key[0] == ROWID_COLUMN
    }

    /// The columns that identify a row in data files, in sort order: the primary key, then the
    /// stored rowid when the table has one besides its primary key. (SQLite lets a rowid
    /// table's non-INTEGER primary key hold several NULLs; the rowid keeps rows apart.)
    pub fn row_key(&self) -> Vec<&str> {
        let mut key: Vec<&str> = self.primary_key.iter().map(String::as_str).collect();
        if self.stores_rowid && !self.rowid_is_key() {
            key.push(ROWID_COLUMN);
        }
        key
    }

    /// Positions of the row key's columns ([`TableSchema::row_key`]) in
    /// [`TableSchema::arrow_schema`], in key order.
    pub fn key_indices(&self) -> Vec<usize> {
        self.key_columns().iter().map(|k| k.value).collect()
    }

    /// The row key's columns with their raw side columns, as positions in
    /// [`TableSchema::arrow_schema`], in key order.
    pub fn key_columns(&self) -> Vec<KeyColumn> {
        let schema = self.arrow_schema();
        self.row_key()
            .into_iter()
            .filter_map(|name| {
                let value = schema.index_of(name).ok()?;
                let raw = self
                    .columns
                    .iter()
                    .find(|c| c.name == name && c.has_raw)
                    .and_then(|c| schema.index_of(&raw_column_name(&c.name)).ok());
                Some(KeyColumn { value, raw })
            })
            .collect()
    }

    /// The positions to read from a data file to get the columns at `extra` (file
    /// positions) and the row key (with its raw side columns), in file order (a Parquet
    /// projection yields columns in file order), and where the key is among them.
    pub fn projection_with_key(
        &self,
        extra: impl IntoIterator<Item = usize>,
    ) -> (Vec<usize>, Vec<KeyColumn>) {
        let key = self.key_columns();
        let mut columns: Vec<usize> = key
            .iter()
            .flat_map(|k| std::iter::once(k.value).chain(k.raw))
            .chain(extra)
            .collect();
        columns.sort_unstable();
        columns.dedup();
        let at = |position: usize| {
            columns
                .iter()
                .position(|&p| p == position)
                .expect("key columns are read")
        };
        let key = key
            .iter()
            .map(|k| KeyColumn {
                value: at(k.value),
                raw: k.raw.map(at),
            })
            .collect();
        (columns, key)
    }

    /// How this table's stored shape differs from `previous`, if it does: a column added,
    /// dropped, retyped or moved, or another key. DDL that leaves the stored shape alone
    /// (indexes, triggers, constraints) is no difference here.
    pub fn shape_change(&self, previous: &TableSchema) -> Option<String> {
        let name = |c: &ColumnSchema| c.name.clone();
        for column in &self.columns {
            match previous.columns.iter().find(|p| p.name == column.name) {
                None => return Some(format!("column `{}` was added", column.name)),
                Some(p) if p != column => {
                    return Some(format!(
                        "column `{}` changed from {} to {}",
                        column.name,
                        p.describe(),
                        column.describe()
                    ));
                }
                Some(_) => {}
            }
        }
        if let Some(dropped) = previous
            .columns
            .iter()
            .find(|p| !self.columns.iter().any(|c| c.name == p.name))
        {
            return Some(format!("column `{}` was dropped", dropped.name));
        }
        if self
            .columns
            .iter()
            .map(name)
            .ne(previous.columns.iter().map(name))
        {
            return Some("its columns were reordered".to_string());
        }
        if self.primary_key != previous.primary_key || self.stores_rowid != previous.stores_rowid {
            return Some(format!(
                "its primary key changed from ({}) to ({})",
                previous.primary_key.join(", "),
                self.primary_key.join(", ")
            ));
        }
        None
    }
}

impl ColumnSchema {
    fn describe(&self) -> String {
        let key = if self.in_primary_key {
            ", in the key"
        } else {
            ""
        };
        let raw = if self.has_raw { ", any type" } else { "" };
        format!(
            "`{}` (stored as {:?}{raw}{key})",
            self.declared_type, self.column_type
        )
    }
}

/// Where one column of a row key is in a batch: its typed column and, when values of other
/// types are possible, its raw side column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyColumn {
    /// Position of the typed column.
    pub value: usize,
    /// Position of the raw side column, if the column has one.
    pub raw: Option<usize>,
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
            text_form: false,
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
            dialect: crate::Dialect::Sqlite,
            adapter: None,
        };
        let schema = table.arrow_schema();
        let names: Vec<_> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["_quiver_rowid", "a", "b", "_quiver_raw__a"]);
        assert_eq!(table.key_indices(), vec![0]);
    }
}
