//! SQLite as a restore target.

use std::path::Path;
use std::time::Duration;

use arrow::record_batch::RecordBatch;
use quiver_catalog::{AdapterError, RestoreTarget, TableSchema, TargetTransaction};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};

use crate::Result;
use crate::error::sqlite;
use crate::load::{insert_batch, insert_sql};

/// A SQLite database file that backups are restored into, through a connection of its own.
pub struct SqliteTarget {
    conn: Connection,
}

impl SqliteTarget {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<SqliteTarget> {
        let conn =
            Connection::open(path).map_err(sqlite(|| format!("opening {}", path.display())))?;
        conn.busy_timeout(Duration::from_secs(30))
            .map_err(sqlite(|| "setting busy timeout"))?;
        Ok(SqliteTarget { conn })
    }
}

/// One `BEGIN IMMEDIATE` transaction: the restore is all or nothing.
struct SqliteLoad<'a> {
    tx: Transaction<'a>,
}

impl RestoreTarget for SqliteTarget {
    fn begin(&mut self) -> Result<Box<dyn TargetTransaction + '_>, AdapterError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sqlite(|| "starting the restore transaction"))?;
        Ok(Box::new(SqliteLoad { tx }))
    }
}

impl TargetTransaction for SqliteLoad<'_> {
    fn existing_tables(&mut self, names: &[String]) -> Result<Vec<String>, AdapterError> {
        let mut stmt = self
            .tx
            .prepare("SELECT name FROM main.sqlite_master WHERE type IN ('table', 'view') AND name = ?1 COLLATE NOCASE")
            .map_err(sqlite(|| "checking for existing tables"))?;
        let mut existing = Vec::new();
        for name in names {
            let found: Option<String> = stmt
                .query_row([name], |r| r.get(0))
                .optional()
                .map_err(sqlite(|| "checking for existing tables"))?;
            existing.extend(found);
        }
        Ok(existing)
    }

    fn create_table(&mut self, table: &TableSchema) -> Result<(), AdapterError> {
        self.tx
            .execute_batch(&table.create_sql)
            .map_err(sqlite(|| format!("recreating table `{}`", table.name)))?;
        Ok(())
    }

    fn insert(&mut self, table: &TableSchema, batch: &RecordBatch) -> Result<(), AdapterError> {
        let sql = insert_sql(table)?;
        let mut stmt = self.tx.prepare_cached(&sql).map_err(sqlite(|| {
            format!("preparing the insert into `{}`", table.name)
        }))?;
        insert_batch(&mut stmt, table, batch)?;
        Ok(())
    }

    fn finish_table(&mut self, table: &TableSchema) -> Result<(), AdapterError> {
        // Indexes after the data (one sort instead of per-row maintenance); triggers last so
        // that restoring rows does not fire them.
        for sql in table.index_sql.iter().chain(&table.trigger_sql) {
            self.tx
                .execute_batch(sql)
                .map_err(sqlite(|| format!("recreating `{sql}`")))?;
        }
        if let Some(seq) = table.autoincrement_seq {
            self.tx
                .execute(
                    "DELETE FROM main.sqlite_sequence WHERE name = ?1",
                    [&table.name],
                )
                .and_then(|_| {
                    self.tx.execute(
                        "INSERT INTO main.sqlite_sequence (name, seq) VALUES (?1, ?2)",
                        rusqlite::params![table.name, seq],
                    )
                })
                .map_err(sqlite(|| {
                    format!("restoring the AUTOINCREMENT counter of `{}`", table.name)
                }))?;
        }
        Ok(())
    }

    fn commit(self: Box<Self>) -> Result<(), AdapterError> {
        self.tx
            .commit()
            .map_err(sqlite(|| "committing the restore"))?;
        Ok(())
    }
}
