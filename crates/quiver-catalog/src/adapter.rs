//! The interface between quiver and a database: what a backup reads from and a restore writes to.
//!
//! Adapters (`quiver-sqlite` first) implement these traits; the backup and restore paths are
//! written against them only. Errors cross the boundary boxed, since each adapter has its own
//! typed error.

use arrow::record_batch::RecordBatch;

use crate::TableSchema;

/// An adapter's error, boxed.
pub type AdapterError = Box<dyn std::error::Error + Send + Sync>;

/// A database that backups are taken from.
pub trait BackupSource {
    /// Opens up to `count` read snapshots that all see the database at the same point in
    /// time, so that tables can be read in parallel, one snapshot per thread, and still form
    /// one consistent backup. Returns at least one; fewer than `count` when the source
    /// cannot align more.
    fn snapshots(
        &mut self,
        count: usize,
    ) -> Result<Vec<Box<dyn SourceSnapshot + Send + '_>>, AdapterError>;

    /// Opens one consistent read snapshot: every table read through it is seen at the same
    /// point in time, while writers continue.
    fn snapshot(&mut self) -> Result<Box<dyn SourceSnapshot + Send + '_>, AdapterError> {
        self.snapshots(1)?
            .pop()
            .ok_or_else(|| "the source opened no snapshot".into())
    }

    /// A rough row count of `table`, cheap to get (no scan), or `None` when the source
    /// cannot tell. Backups start the largest tables first, so that the last one to finish
    /// is not a large one started late; this is what sizes them before any backup has.
    fn estimated_rows(&mut self, table: &str) -> Option<u64> {
        let _ = table;
        None
    }
}

/// A consistent read snapshot of a database.
pub trait SourceSnapshot {
    /// Describes `table` as it is in this snapshot (an error if it does not exist).
    fn describe(&mut self, table: &str) -> Result<TableSchema, AdapterError>;

    /// Reads every row of `table` in primary-key order, in batches of at most `batch_rows`
    /// rows with schema [`TableSchema::arrow_schema`], handing each to `sink`. Returns the
    /// number of rows read. Memory is bounded by the batch size, not the table size.
    fn scan(
        &mut self,
        table: &TableSchema,
        batch_rows: usize,
        sink: &mut dyn FnMut(RecordBatch) -> Result<(), AdapterError>,
    ) -> Result<u64, AdapterError>;
}

/// A database that backups are restored into.
pub trait RestoreTarget {
    /// Starts one write transaction: everything done through it becomes visible at
    /// [`TargetTransaction::commit`], or not at all.
    fn begin(&mut self) -> Result<Box<dyn TargetTransaction + '_>, AdapterError>;
}

/// A write transaction on a restore target. Dropped without commit, it rolls back.
pub trait TargetTransaction {
    /// Which of `names` already exist as tables (or views) in the target.
    fn existing_tables(&mut self, names: &[String]) -> Result<Vec<String>, AdapterError>;
    /// Creates `table` empty, as it was at backup time.
    fn create_table(&mut self, table: &TableSchema) -> Result<(), AdapterError>;
    /// Inserts a batch of rows (schema [`TableSchema::arrow_schema`]).
    fn insert(&mut self, table: &TableSchema, batch: &RecordBatch) -> Result<(), AdapterError>;
    /// Finishes `table` after its rows are in: indexes, triggers, AUTOINCREMENT counter.
    fn finish_table(&mut self, table: &TableSchema) -> Result<(), AdapterError>;
    /// Commits the transaction.
    fn commit(self: Box<Self>) -> Result<(), AdapterError>;
}
