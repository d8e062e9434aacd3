//! Progress of long-running statements, for display.

use quiver_restore::RestoreProgress;

/// A step of a running BACKUP or RESTORE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// BACKUP has read `rows` rows of `table` so far.
    BackupRows {
        /// The collection.
        collection: String,
        /// The table being read.
        table: String,
        /// Rows read so far.
        rows: u64,
    },
    /// RESTORE progress.
    Restore {
        /// The collection.
        collection: String,
        /// The step.
        step: RestoreProgress,
    },
}
