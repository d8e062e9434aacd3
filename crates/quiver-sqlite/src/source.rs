//! SQLite as a backup source.

use std::path::{Path, PathBuf};
use std::time::Duration;

use arrow::record_batch::RecordBatch;
use quiver_catalog::{AdapterError, BackupSource, SourceSnapshot, TableSchema};
use rusqlite::{Connection, OpenFlags};

use crate::error::sqlite;
use crate::{Result, describe, scan};

/// A SQLite database file that backups read from, through connections of its own.
///
/// A snapshot is one read transaction: every table of a collection is read at one point in
/// time. In WAL mode writers continue meanwhile; in rollback-journal mode they wait for it.
/// Several snapshots can be aligned on the same point in time to read tables in parallel
/// (see [`BackupSource::snapshots`]).
pub struct SqliteSource {
    path: PathBuf,
    /// One connection per snapshot; the first also serves [`SqliteSource::describe`].
    readers: Vec<Connection>,
    /// Holds the write lock while parallel snapshots start, so that they all start at once.
    gate: Option<Connection>,
}

impl SqliteSource {
    /// Opens the database at `path` (which must exist).
    /// Refused for a database that stores text in UTF-16 ([`crate::Error::NotUtf8`]).
    pub fn open(path: &Path) -> Result<SqliteSource> {
        let conn = open_connection(path)?;
        crate::database::check_utf8(&conn, path)?;
        Ok(SqliteSource {
            path: path.to_path_buf(),
            readers: vec![conn],
            gate: None,
        })
    }

    /// Describes `table` outside any snapshot (e.g. to check it exists).
    pub fn describe(&self, table: &str) -> Result<TableSchema> {
        describe::describe(&self.readers[0], table)
    }

    /// Takes the write lock on the gate connection, so that no writer can commit while
    /// parallel snapshots start. Gives up (false) after a short wait: a busy writer may hold
    /// on to the lock, and SQLite's lock is not fair; the backup then reads sequentially
    /// rather than wait.
    fn pause_writers(&mut self) -> Result<bool> {
        if self.readers[0]
            .is_readonly(rusqlite::MAIN_DB)
            .unwrap_or(true)
        {
            return Ok(false);
        }
        if self.gate.is_none() {
            let gate = open_connection(&self.path)?;
            gate.busy_timeout(GATE_WAIT)
                .map_err(sqlite(|| "setting busy timeout"))?;
            self.gate = Some(gate);
        }
        let gate = self.gate.as_ref().expect("opened above");
        match gate.execute_batch("BEGIN IMMEDIATE") {
            Ok(()) => Ok(true),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(sqlite(|| "pausing writers to align the backup's snapshots")(e)),
        }
    }

    /// With writers paused, starts `count` read transactions (all at the same point in
    /// time, since nothing can commit meanwhile), then lets writers continue.
    fn aligned(&mut self, count: usize) -> Result<Vec<Box<dyn SourceSnapshot + Send + '_>>> {
        let mut opened = Ok(());
        while opened.is_ok() && self.readers.len() < count {
            opened = open_connection(&self.path).map(|conn| self.readers.push(conn));
        }
        let gate = self
            .gate
            .as_ref()
            .expect("writers were paused through the gate");
        let mut snapshots: Vec<Box<dyn SourceSnapshot + Send + '_>> = Vec::with_capacity(count);
        let mut started = opened;
        if started.is_ok() {
            for conn in self.readers.iter_mut().take(count) {
                match SqliteSnapshot::begin(conn) {
                    Ok(snapshot) => snapshots.push(Box::new(snapshot)),
                    Err(e) => {
                        started = Err(e);
                        break;
                    }
                }
            }
        }
        let released = gate
            .execute_batch("ROLLBACK")
            .map_err(sqlite(|| "letting writers continue"));
        started?;
        released?;
        Ok(snapshots)
    }
}

/// How long a backup waits for the write lock to align parallel snapshots.
const GATE_WAIT: Duration = Duration::from_millis(200);

fn open_connection(path: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite(|| format!("opening {}", path.display())))?;
    conn.busy_timeout(Duration::from_secs(30))
        .map_err(sqlite(|| "setting busy timeout"))?;
    Ok(conn)
}

/// A read transaction on one connection; rolled back (it wrote nothing) when dropped.
///
/// It holds `&mut Connection` rather than a rusqlite `Transaction` because the snapshot
/// moves to a scanning thread, and only the former is `Send`.
struct SqliteSnapshot<'a> {
    conn: &'a mut Connection,
}

impl<'a> SqliteSnapshot<'a> {
    fn begin(conn: &'a mut Connection) -> Result<SqliteSnapshot<'a>> {
        conn.execute_batch("BEGIN DEFERRED")
            .map_err(sqlite(|| "starting the backup's read transaction"))?;
        let snapshot = SqliteSnapshot { conn };
        // A deferred transaction takes its snapshot at the first read: take it now, so that
        // every table is read as of this moment.
        snapshot
            .conn
            .query_row("SELECT count(*) FROM main.sqlite_master", [], |_| Ok(()))
            .map_err(sqlite(|| "starting the backup's read transaction"))?;
        Ok(snapshot)
    }
}

impl Drop for SqliteSnapshot<'_> {
    fn drop(&mut self) {
        let _ = self.conn.execute_batch("ROLLBACK");
    }
}

impl BackupSource for SqliteSource {
    /// The span of a rowid table's rowids: two lookups at the ends of its b-tree. It
    /// overcounts after deletes, which is all right for ordering tables by size. `None` for
    /// WITHOUT ROWID tables, which have no rowid to look up.
    fn estimated_rows(&mut self, table: &str) -> Option<u64> {
        let schema = self.describe(table).ok()?;
        let rowid = describe::rowid_expression(&schema).ok()?;
        // Two subqueries: SQLite looks a lone min() or max() up at the b-tree's end, but
        // scans the whole table for both in one SELECT.
        let table = format!("main.{}", crate::quote_ident(table));
        let sql = format!(
            "SELECT (SELECT max({rowid}) FROM {table}) - (SELECT min({rowid}) FROM {table}) + 1"
        );
        let span = self.readers[0]
            .query_row(&sql, [], |row| row.get::<_, Option<i64>>(0))
            .ok()?;
        // No rowids at all: an empty table.
        Some(span.map_or(0, |span| u64::try_from(span).unwrap_or(0)))
    }

    fn snapshots(
        &mut self,
        count: usize,
    ) -> Result<Vec<Box<dyn SourceSnapshot + Send + '_>>, AdapterError> {
        if count > 1 && self.pause_writers()? {
            return Ok(self.aligned(count)?);
        }
        let conn = &mut self.readers[0];
        Ok(vec![Box::new(SqliteSnapshot::begin(conn)?)])
    }
}

impl SourceSnapshot for SqliteSnapshot<'_> {
    fn describe(&mut self, table: &str) -> Result<TableSchema, AdapterError> {
        Ok(describe::describe(self.conn, table)?)
    }

    fn scan(
        &mut self,
        table: &TableSchema,
        batch_rows: usize,
        sink: &mut dyn FnMut(RecordBatch) -> Result<(), AdapterError>,
    ) -> Result<u64, AdapterError> {
        scan::scan(self.conn, table, batch_rows, sink)
    }
}
