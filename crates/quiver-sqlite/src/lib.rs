//! SQLite adapter: consistent, primary-key-ordered scans into Arrow, and atomic loads from it.
//!
//! SQLite is dynamically typed, so every column gets a storage type from its declared type
//! (SQLite's affinity rules, see [`column_type_for`]) and, unless the table's rules make it
//! impossible, a raw side column: a value of another storage class (`'abc'` in an `INTEGER`
//! column, a real in a `NUMERIC` one, text that is not valid UTF-8) is stored there, tagged
//! with its class, and bound back with the same class on restore. Nothing is dropped or
//! altered.
//!
//! ```
//! use quiver_catalog::{BackupSource, RestoreTarget};
//! use quiver_sqlite::{SqliteSource, SqliteTarget};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let (src_path, dst_path) = (dir.path().join("src.db"), dir.path().join("dst.db"));
//! let conn = rusqlite::Connection::open(&src_path).unwrap();
//! conn.execute_batch("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a'), (2, 42);").unwrap();
//!
//! let mut source = SqliteSource::open(&src_path).unwrap();
//! let mut snapshot = source.snapshot().unwrap();
//! let schema = snapshot.describe("t").unwrap();
//! let mut batches = Vec::new();
//! snapshot.scan(&schema, 1024, &mut |b| { batches.push(b); Ok(()) }).unwrap();
//! drop(snapshot);
//!
//! let mut target = SqliteTarget::open(&dst_path).unwrap();
//! let mut tx = target.begin().unwrap();
//! tx.create_table(&schema).unwrap();
//! for b in &batches { tx.insert(&schema, b).unwrap(); }
//! tx.finish_table(&schema).unwrap();
//! tx.commit().unwrap();
//!
//! let dst = rusqlite::Connection::open(&dst_path).unwrap();
//! let v: String = dst.query_row("SELECT quote(v) FROM t WHERE id = 2", [], |r| r.get(0)).unwrap();
//! assert_eq!(v, "'42'"); // TEXT affinity had already turned 42 into '42'; it stays text
//! ```

#![warn(missing_docs)]

mod affinity;
mod database;
mod ddl;
mod describe;
mod error;
mod feed;
mod load;
mod plain_sql;
mod raw;
mod rename;
mod scan;
mod source;
mod target;
mod tokens;

pub use affinity::column_type_for;
pub use database::SqliteDatabase;
pub use ddl::check_table_ddl;
pub use error::{Error, Result};
pub use rename::renamed;
pub use source::SqliteSource;
pub use target::SqliteTarget;

/// Quotes an SQLite identifier with double quotes, doubling any inside.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests;
