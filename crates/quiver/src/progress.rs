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
    /// Backups being copied to or from the collection's external storage.
    Copy {
        /// The collection.
        collection: String,
        /// The file being copied, relative to the collection.
        file: String,
        /// Bytes copied so far.
        done: u64,
        /// Bytes to copy in all.
        total: u64,
    },
    /// Something the user should know as the statement starts (shown on a line of its own).
    Note(String),
    /// RESTORE progress.
    Restore {
        /// The collection.
        collection: String,
        /// The step.
        step: RestoreProgress,
    },
}

impl Progress {
    pub(crate) fn copy(collection: &str, progress: &quiver_storage::CopyProgress) -> Progress {
        Progress::Copy {
            collection: collection.to_string(),
            file: progress.file.clone(),
            done: progress.done,
            total: progress.total,
        }
    }
}
