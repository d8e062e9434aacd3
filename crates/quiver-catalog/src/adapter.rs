//! The interface between quiver and a database: what a backup reads from and a restore writes to.
//!
//! Adapters (`quiver-sqlite`, `quiver-postgres`) implement these traits; the backup and
//! restore paths and the facade are written against them only. Errors cross the boundary as
//! [`AdapterError`]: the adapter's own typed error, boxed, with an [`ErrorKind`] that callers
//! act on (a hint, a retry) without reading the message.

use std::fmt;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use serde::{Deserialize, Serialize};

use crate::TableSchema;

/// What kind of failure an adapter reports, whatever database it talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Another session holds a lock, or a statement ran out of time waiting or working.
    Busy,
    /// A table, schema, type or database that the work needs does not exist.
    NotFound,
    /// The database refused access: a privilege, a read-only file or server.
    Permission,
    /// The database's storage is full or failed.
    DiskFull,
    /// The database has something quiver cannot back up or restore exactly.
    Unsupported,
    /// The data breaks a rule of the database: a key, a foreign key, a check.
    Constraint,
    /// The database could not be reached, or the connection to it was lost.
    Connection,
    /// Anything else: the message says what.
    Other,
}

/// An adapter's error: its own typed error, boxed, with the kind of failure it is.
#[derive(Debug)]
pub struct AdapterError {
    kind: ErrorKind,
    position: Option<usize>,
    error: Box<dyn std::error::Error + Send + Sync>,
}

impl AdapterError {
    /// `error`, of `kind`.
    pub fn new(
        kind: ErrorKind,
        error: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        AdapterError {
            kind,
            position: None,
            error: error.into(),
        }
    }

    /// `error`, of kind [`ErrorKind::Other`].
    pub fn other(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        AdapterError::new(ErrorKind::Other, error)
    }

    /// The same error, pointing at byte `position` of the SQL statement that caused it.
    pub fn at_position(mut self, position: usize) -> Self {
        self.position = Some(position);
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The byte offset in the statement run by [`Database::run_sql`] that the database
    /// blames, where it says.
    pub fn position(&self) -> Option<usize> {
        self.position
    }

    /// The adapter's own error.
    pub fn get_ref(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self.error.as_ref()
    }

    /// The adapter's own error as a `T`, if it is one.
    pub fn downcast_ref<T: std::error::Error + 'static>(&self) -> Option<&T> {
        self.error.downcast_ref()
    }
}

impl fmt::Display for AdapterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for AdapterError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        // The boxed error's message is this one's: its own causes come next.
        self.error.source()
    }
}

impl From<String> for AdapterError {
    fn from(message: String) -> Self {
        AdapterError::other(message)
    }
}

impl From<&str> for AdapterError {
    fn from(message: &str) -> Self {
        AdapterError::other(message)
    }
}

/// An error's message followed by those of its causes that it does not already include:
/// how an error is shown to users, on either side of the adapter boundary.
pub fn message_with_causes(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let text = inner.to_string();
        if !message.contains(&text) {
            message = format!("{message}: {text}");
        }
        cause = inner.source();
    }
    message
}

/// Which database an adapter talks to; recorded with every table it backs up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dialect {
    /// SQLite (`quiver-sqlite`); tables of backups older than this field are SQLite's.
    #[default]
    Sqlite,
    /// PostgreSQL (`quiver-postgres`).
    Postgres,
}

impl Dialect {
    /// Whether this is [`Dialect::Sqlite`] (which the manifest leaves unsaid).
    pub fn is_sqlite(&self) -> bool {
        *self == Dialect::Sqlite
    }

    /// The database's name, as users know it.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "SQLite",
            Dialect::Postgres => "PostgreSQL",
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a plain SQL statement gave back.
#[derive(Debug, Clone)]
pub enum SqlOutcome {
    /// A query's rows.
    Rows {
        /// The columns.
        schema: SchemaRef,
        /// The rows, in batches of `schema`.
        batches: Vec<RecordBatch>,
    },
    /// A statement without rows, and how many rows it changed.
    Changed {
        /// Rows inserted, updated or deleted.
        rows: u64,
    },
}

/// A database quiver works with: it runs the user's plain SQL, and opens the sources that
/// backups read and the targets that restores write.
pub trait Database: 'static {
    /// Which database this is.
    fn dialect(&self) -> Dialect;

    /// The adapter's own type, for callers that know which it is (`downcast_ref`).
    fn as_any(&self) -> &dyn std::any::Any;

    /// The database as shown to users: a file's path, a URL without its password.
    fn display_name(&self) -> String;

    /// Runs one plain SQL statement on the database's own session.
    fn run_sql(&mut self, sql: &str) -> Result<SqlOutcome, AdapterError>;

    /// Whether the database's own session has a transaction open. Backups and restores run
    /// on sessions of their own, which would not see its uncommitted work.
    fn in_transaction(&mut self) -> bool;

    /// The name under which `name` is a table of the database (names are matched as the
    /// database matches them), or `None` if there is no such table.
    fn table_name(&mut self, name: &str) -> Result<Option<String>, AdapterError>;

    /// The tables of the database, for a hint when a name is not one of them.
    fn table_names(&mut self) -> Result<Vec<String>, AdapterError>;

    /// Opens a source that backups read, on sessions of its own.
    fn source(&self) -> Result<Box<dyn BackupSource>, AdapterError>;

    /// Opens a target that restores write into: this database, or with `database` (the
    /// `DATABASE` option of a selective restore) another one of the same kind.
    fn target(&self, database: Option<&str>) -> Result<Box<dyn RestoreTarget>, AdapterError>;

    /// Checks a stored table's DDL as a restore into this kind of database would, without a
    /// database: what VERIFY reports about it.
    fn check_table(&self, table: &TableSchema) -> Result<(), AdapterError>;

    /// The name a `TARGET_PREFIX` gives `table`: the prefix before the table's own name
    /// (after its schema, where names have one).
    fn prefixed(&self, table: &str, prefix: &str) -> String {
        format!("{prefix}{table}")
    }

    /// Notes for the user before a backup starts (how the database's settings affect it).
    fn backup_notes(&mut self) -> Vec<String> {
        Vec::new()
    }
}

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
            .ok_or_else(|| AdapterError::other("the source opened no snapshot"))
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
