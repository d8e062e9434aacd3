//! PostgreSQL adapter: consistent scans of an exported snapshot by binary COPY into Arrow,
//! and restores in one transaction, DDL rebuilt by quiver from the catalogs' description
//! and checked first.
//!
//! Values travel losslessly: integers and floats as Arrow's 64-bit types (exact for int2,
//! int4, float4 too), text and varchar as UTF-8, bytea as bytes, and every other type as its
//! text form under fixed session settings (UTC, ISO dates, exact floats), which the type's
//! input reads back. Rows are stored in key order under `COLLATE "C"`, the byte order Rust
//! compares in, so incremental backups diff and merge them as they do SQLite's.

#![warn(missing_docs)]

mod connect;
mod copy_in;
mod database;
mod ddl;
mod decimal;
mod describe;
mod error;
mod plain_sql;
mod rename;
mod scan;
mod source;
mod table;
mod target;
#[cfg(any(test, feature = "test-server"))]
pub mod test_server;
#[cfg(test)]
mod tests;
mod time;
mod tokens;

pub use connect::{ConnectionSpec, is_postgres_url};
pub use database::PostgresDatabase;
pub use ddl::stored;
pub use error::{Error, Result};
pub use rename::renamed;
pub use source::{PgSnapshot, PostgresSource};
pub use table::{
    Form, PgColumn, PgConstraint, PgEnum, PgForeignKey, PgIdentity, PgIdentityKind, PgIndex,
    PgSequence, PgTable, PgTrigger, SequenceOptions, quote_ident,
};
pub use target::PostgresTarget;

/// Checks a stored table's PostgreSQL description as a restore would, without a server.
pub fn check_table(table: &quiver_catalog::TableSchema) -> std::result::Result<(), String> {
    stored(table).map(|_| ()).map_err(|e| e.to_string())
}
