//! The incremental diff engine.
//!
//! Every data file holds its rows sorted by row key ([`quiver_catalog::TableSchema::row_key`])
//! with a 64-bit hash of each row ([`row_hashes`]). An incremental backup is then one
//! streaming merge:
//!
//! - [`Differ`] walks the table's current key-ordered scan beside the previous state of the
//!   chain, read as (key, hash) only, and emits an upsert for every row that is new or whose
//!   hash changed and a tombstone (the key alone) for every key that is gone.
//! - [`Merge`] reads a chain back: a k-way merge of the full backup's file and the
//!   incrementals' files by key, the latest file winning, tombstones deleting. The previous
//!   state for the next diff is this merge over (key, hash) columns; a restore is this merge
//!   over every column. So `apply(diff(a, b), a) == b` is the invariant that makes both work.
//!
//! Nothing is materialised: memory is a few batches per input, whatever the table's size.
//! Keys compare in SQLite's order (storage class, then value; text by its bytes), the order
//! of the source's `ORDER BY key COLLATE BINARY` scan; an input out of that order is an
//! error, never a wrong result.
//!
//! ```
//! use std::sync::Arc;
//! use arrow::array::{Int64Array, RecordBatch, StringArray};
//! use quiver_catalog::{BackupKind, ColumnSchema, ColumnType, TableSchema};
//! use quiver_diff::{Differ, Merge, MergeInput, StateColumns, with_row_hashes};
//!
//! let table = TableSchema {
//!     name: "t".into(),
//!     columns: vec![
//!         ColumnSchema { name: "id".into(), declared_type: "INTEGER".into(),
//!             column_type: ColumnType::Integer, has_raw: false, in_primary_key: true, text_form: false },
//!         ColumnSchema { name: "v".into(), declared_type: "TEXT".into(),
//!             column_type: ColumnType::Text, has_raw: false, in_primary_key: false, text_form: false },
//!     ],
//!     primary_key: vec!["id".into()],
//!     stores_rowid: false,
//!     create_sql: "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)".into(),
//!     index_sql: vec![], trigger_sql: vec![], autoincrement_seq: None,
//!     dialect: quiver_catalog::Dialect::Sqlite, adapter: None,
//! };
//! let rows = |ids: Vec<i64>, vs: Vec<&str>| {
//!     let batch = RecordBatch::try_new(table.arrow_schema(), vec![
//!         Arc::new(Int64Array::from(ids)), Arc::new(StringArray::from(vs))]).unwrap();
//!     with_row_hashes(&batch, &table.file_schema(BackupKind::Full)).unwrap()
//! };
//! let before = rows(vec![1, 2, 3], vec!["a", "b", "c"]);
//! let after = rows(vec![1, 3, 4], vec!["a", "C", "d"]);
//!
//! // diff: 2 deleted, 3 updated, 4 inserted; 1 unchanged is not written.
//! let mut changes = Vec::new();
//! // The previous state is read as (key, hash) only.
//! let state = before.project(&StateColumns::of(&table).full).unwrap();
//! let mut differ = Differ::new(&table, Box::new(std::iter::once(Ok(state))), 1024).unwrap();
//! differ.push(&after, &mut |b| { changes.push(b); Ok(()) }).unwrap();
//! let stats = differ.finish(&mut |b| { changes.push(b); Ok(()) }).unwrap();
//! assert_eq!((stats.upserts, stats.deletes), (2, 1));
//!
//! // apply: the full backup merged with the changes is the new state.
//! let merged: Vec<RecordBatch> = Merge::new(
//!     vec![
//!         MergeInput::full(Box::new(std::iter::once(Ok(before)))),
//!         MergeInput::incremental(Box::new(changes.into_iter().map(Ok))),
//!     ],
//!     table.key_columns(),
//!     table.file_schema(BackupKind::Full),
//!     1024,
//! )
//! .unwrap()
//! .collect::<Result<_, _>>()
//! .unwrap();
//! assert_eq!(arrow::compute::concat_batches(&merged[0].schema(), &merged).unwrap(), after);
//! ```

#![warn(missing_docs)]

mod cursor;
mod diff;
mod error;
mod gather;
mod hash;
mod key;
mod merge;
mod order;
mod state;

pub use diff::{DiffStats, Differ};
pub use error::{Error, Result};
pub use hash::{row_hashes, with_row_hashes};
pub use merge::{Batches, Merge, MergeInput};
pub use order::compare_values;
pub use state::StateColumns;

#[cfg(test)]
mod tests;
