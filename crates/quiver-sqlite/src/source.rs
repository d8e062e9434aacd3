//! SQLite as a backup source.

use std::path::Path;
use std::time::Duration;

use arrow::record_batch::RecordBatch;
use quiver_catalog::{AdapterError, BackupSource, SourceSnapshot, TableSchema};
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

use crate::error::sqlite;
use crate::{Result, describe, scan};

/// A SQLite database file that backups read from, through a connection of its own.
///
/// A snapshot is one read transaction: every table of a collection is read at one point in
/// time. In WAL mode writers continue meanwhile; in rollback-journal mode they wait for it.
pub struct SqliteSource {
    conn: Connection,
}

impl SqliteSource {
    /// Opens the database at `path` (which must exist).
    pub fn open(path: &Path) -> Result<SqliteSource> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sqlite(|| format!("opening {}", path.display())))?;
        conn.busy_timeout(Duration::from_secs(30))
            .map_err(sqlite(|| "setting busy timeout"))?;
        Ok(SqliteSource { conn })
    }

    /// Describes `table` outside any snapshot (e.g. to check it exists).
    pub fn describe(&self, table: &str) -> Result<TableSchema> {
        describe::describe(&self.conn, table)
    }
}

/// A read transaction over the source; rolled back (it wrote nothing) when dropped.
struct SqliteSnapshot<'a> {
    tx: Transaction<'a>,
}

impl BackupSource for SqliteSource {
    fn snapshot(&mut self) -> Result<Box<dyn SourceSnapshot + '_>, AdapterError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Deferred)
            .map_err(sqlite(|| "starting the backup's read transaction"))?;
        // A deferred transaction takes its snapshot at the first read: take it now, so
        // that every table is read as of this moment.
        tx.query_row("SELECT count(*) FROM main.sqlite_master", [], |_| Ok(()))
            .map_err(sqlite(|| "starting the backup's read transaction"))?;
        Ok(Box::new(SqliteSnapshot { tx }))
    }
}

impl SourceSnapshot for SqliteSnapshot<'_> {
    fn describe(&mut self, table: &str) -> Result<TableSchema, AdapterError> {
        Ok(describe::describe(&self.tx, table)?)
    }

    fn scan(
        &mut self,
        table: &TableSchema,
        batch_rows: usize,
        sink: &mut dyn FnMut(RecordBatch) -> Result<(), AdapterError>,
    ) -> Result<u64, AdapterError> {
        scan::scan(&self.tx, table, batch_rows, sink)
    }
}
