//! The SQLite adapter's error type.

use quiver_catalog::{AdapterError, ErrorKind};

/// Result alias for the SQLite adapter.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors from the SQLite adapter.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// SQLite reported an error.
    #[error("{context}: {source}")]
    Sqlite {
        /// What was being done.
        context: String,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// A plain SQL statement failed: SQLite's message.
    #[error("{0}")]
    Statement(String),
    /// A database of another kind than SQLite was named.
    #[error("{0}")]
    OtherKind(String),
    /// The database is not a file (`:memory:`, or no path).
    #[error("quiver needs a database file: backups read it through connections of their own")]
    NotAFile,
    /// The table does not exist.
    #[error("table `{0}` does not exist")]
    NoSuchTable(String),
    /// The object exists but cannot be backed up.
    #[error("`{name}` cannot be backed up: {reason}")]
    Unsupported {
        /// The table.
        name: String,
        /// Why.
        reason: String,
    },
    /// A batch does not have the columns the table's schema says.
    #[error("batch for table `{table}` does not match its schema: {message}")]
    BatchMismatch {
        /// The table.
        table: String,
        /// What is wrong.
        message: String,
    },
    /// The database stores text in UTF-16: SQLite converts text between it and UTF-8 on the
    /// way in and out, and changes text that is not valid in the other encoding.
    #[error(
        "{path} stores text as {encoding}: quiver keeps text byte for byte in UTF-8 databases only (SQLite converts text to and from {encoding}, which changes text that is not valid in both); copy it into a UTF-8 database first, e.g. sqlite3 {path} .dump | sqlite3 copy.db"
    )]
    NotUtf8 {
        /// The database file.
        path: String,
        /// Its `PRAGMA encoding`.
        encoding: String,
    },
    /// A backup's DDL is not what a restore may run (see [`crate::check_table_ddl`]).
    #[error("{0}")]
    RefusedDdl(String),
    /// A restored row refers to a row that the restored tables do not have.
    #[error(
        "FOREIGN KEY violation: {row} of `{table}` refers to a row of `{parent}` that the restored tables do not have"
    )]
    ForeignKeyViolation {
        /// The referring table.
        table: String,
        /// Which row, as far as SQLite can name it.
        row: String,
        /// The table referred to.
        parent: String,
    },
    /// Arrow failed building a batch.
    #[error("building a batch for `{table}`: {source}")]
    Arrow {
        /// The table.
        table: String,
        /// Arrow's error.
        #[source]
        source: arrow::error::ArrowError,
    },
}

/// Adds context to a rusqlite error. The context is only formatted when there is an error,
/// so this is cheap in per-row loops.
pub(crate) fn sqlite<C: Into<String>>(
    context: impl FnOnce() -> C,
) -> impl FnOnce(rusqlite::Error) -> Error {
    move |source| Error::Sqlite {
        context: context().into(),
        source,
    }
}

impl Error {
    /// What kind of failure this is, for callers on the other side of the adapter boundary.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Sqlite { source, .. } => sqlite_kind(source),
            Error::NoSuchTable(_) | Error::NotAFile => ErrorKind::NotFound,
            Error::Statement(_) => ErrorKind::Other,
            Error::Unsupported { .. }
            | Error::RefusedDdl(_)
            | Error::OtherKind(_)
            | Error::NotUtf8 { .. } => ErrorKind::Unsupported,
            Error::ForeignKeyViolation { .. } => ErrorKind::Constraint,
            Error::BatchMismatch { .. } | Error::Arrow { .. } => ErrorKind::Other,
        }
    }
}

/// The kind of a rusqlite error.
pub(crate) fn sqlite_kind(error: &rusqlite::Error) -> ErrorKind {
    use rusqlite::ErrorCode::*;
    match error {
        rusqlite::Error::SqliteFailure(failure, _) => match failure.code {
            DatabaseBusy | DatabaseLocked => ErrorKind::Busy,
            DiskFull | SystemIoFailure => ErrorKind::DiskFull,
            ReadOnly | PermissionDenied | CannotOpen | AuthorizationForStatementDenied => {
                ErrorKind::Permission
            }
            ConstraintViolation => ErrorKind::Constraint,
            _ => ErrorKind::Other,
        },
        _ => ErrorKind::Other,
    }
}

impl From<Error> for AdapterError {
    fn from(error: Error) -> Self {
        AdapterError::new(error.kind(), error)
    }
}
