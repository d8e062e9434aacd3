//! The catalog's error type.

use std::path::PathBuf;

/// Result alias for catalog operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong reading or writing the repository.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A filesystem operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done, e.g. "writing".
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A manifest or collection definition could not be decoded.
    #[error("{path} is not a valid {what}: {message}")]
    Corrupt {
        /// What the file should have been.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why it was rejected.
        message: String,
    },
    /// No collection has this name.
    #[error("backup collection `{0}` does not exist")]
    UnknownCollection(String),
    /// A collection with this name already exists.
    #[error("backup collection `{0}` already exists")]
    CollectionExists(String),
    /// Another process holds the collection's lock.
    #[error(
        "backup collection `{0}` is busy: another BACKUP, RESTORE or DROP of it is running; try again when it finishes"
    )]
    Busy(String),
    /// No backup with this id exists in the collection.
    #[error("backup collection `{collection}` has no backup `{id}`")]
    UnknownBackup {
        /// The collection.
        collection: String,
        /// The requested backup id.
        id: String,
    },
    /// The incremental backup asked for was compacted: the full backup `into`, of the same
    /// time and contents, replaced it.
    #[error(
        "backup `{id}` of collection `{collection}` was compacted into the full backup `{into}`, which holds the same contents"
    )]
    Compacted {
        /// The collection.
        collection: String,
        /// The id asked for.
        id: String,
        /// The full backup that replaced it.
        into: String,
    },
    /// A backup's chain cannot be followed back to its full backup.
    #[error("the chain of backup `{backup}` in collection `{collection}` is broken: {reason}")]
    BrokenChain {
        /// The collection.
        collection: String,
        /// The backup whose chain was resolved.
        backup: String,
        /// The faulty link.
        reason: String,
    },
    /// A collection name that differs from an existing one only in ASCII letter case:
    /// unquoted SQL names (QUERY's `sales.t`) could not tell them apart.
    #[error(
        "backup collection `{name}` cannot be created: its name differs from that of collection `{existing}` only in letter case, and unquoted names could not tell them apart"
    )]
    CaseCollision {
        /// The name given.
        name: String,
        /// The existing collection.
        existing: String,
    },
    /// A committed backup is dated so late that no backup id can follow it.
    #[error(
        "{message} ({path}): a new backup's id must be later; if that backup is not real (a clock far ahead, a forged or stray copy), move its directory out of the collection, then take the backup"
    )]
    NoLaterId {
        /// The backup's directory.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// PRUNE cannot run: a backup's manifest cannot be read, so which backups it builds on
    /// (and must keep) is unknown.
    #[error(
        "backup collection `{collection}` was not pruned (nothing was removed): backup `{backup}` cannot be read, so which backups it builds on is unknown: {cause}"
    )]
    PruneBlocked {
        /// The collection.
        collection: String,
        /// The unreadable backup.
        backup: String,
        /// Why it cannot be read.
        #[source]
        cause: Box<Error>,
    },
    /// An encrypted collection's key is not at hand, cannot be a key, or does not open it.
    #[error("backup collection `{collection}` is encrypted: {message}")]
    Key {
        /// The collection.
        collection: String,
        /// Which kind of problem.
        problem: KeyProblem,
        /// What is wrong and which setting gives the key (never the key).
        message: String,
    },
    /// A name that cannot be used.
    #[error("invalid name `{name}`: {reason}")]
    InvalidName {
        /// The name given.
        name: String,
        /// Why it is refused.
        reason: &'static str,
    },
}

/// What is wrong with an encrypted collection's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyProblem {
    /// None was given where the collection takes it from.
    Missing,
    /// What was given cannot be a key (unreadable file, wrong length, bad base64).
    Invalid,
    /// A key was given and does not open the collection (or its files were altered).
    Wrong,
}

impl Error {
    /// Wraps an I/O error with what was being done and where.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    }
}
