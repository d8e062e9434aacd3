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

/// A table's schema under a new name, and what the rewrite left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenamedTable {
    /// The schema to create the copy with.
    pub schema: TableSchema,
    /// One line per foreign key dropped from the copy's DDL (it named a table that is not
    /// restored with it), for the restore's output.
    pub dropped_references: Vec<String>,
}

/// A database that backups are restored into.
pub trait RestoreTarget {
    /// Checks, before anything is restored, that `table`'s stored DDL is what this target
    /// may run: a backup location is untrusted, and its DDL strings could be forged.
    fn check_table(&self, table: &TableSchema) -> Result<(), AdapterError>;

    /// `table` as it is created under a new name, in this target's dialect. `new_name`
    /// gives the name of every table restored with it (its own included) and `None` for
    /// the others: references to restored tables follow them, references to the others
    /// are dropped from the copy, each with a line in [`RenamedTable::dropped_references`].
    fn renamed(
        &self,
        table: &TableSchema,
        new_name: &dyn Fn(&str) -> Option<String>,
    ) -> Result<RenamedTable, AdapterError>;

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
    /// Checks the references (foreign keys) of the restored `tables` once every one of them
    /// is loaded and finished. A reference among them that no restored row satisfies is an
    /// error naming the table and row; references to tables outside `tables` that the
    /// target cannot satisfy are returned as warnings, one line each.
    fn check_references(&mut self, tables: &[TableSchema]) -> Result<Vec<String>, AdapterError>;
    /// Commits the transaction.
    fn commit(self: Box<Self>) -> Result<(), AdapterError>;
}
