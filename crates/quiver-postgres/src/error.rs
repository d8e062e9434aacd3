//! The PostgreSQL adapter's error type, and the kind of each failure.

use quiver_catalog::{AdapterError, ErrorKind};

/// Result alias for the PostgreSQL adapter.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors from the PostgreSQL adapter.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server, or the connection to it, failed while doing `context`.
    #[error("{context}: {message}")]
    Server {
        /// What was being done.
        context: String,
        /// The server's message, with its detail and hint (never a password).
        message: String,
        /// What kind of failure the server reported.
        kind: ErrorKind,
        /// Where in the statement the server says the error is (a byte offset).
        position: Option<usize>,
    },
    /// The connection string is not one quiver can use.
    #[error("{0}")]
    BadUrl(String),
    /// The table does not exist (or is not visible through `search_path`).
    #[error("table `{0}` does not exist")]
    NoSuchTable(String),
    /// The table, or something it uses, cannot be backed up or restored exactly.
    #[error("`{name}` cannot be backed up: {reason}")]
    Unsupported {
        /// The table.
        name: String,
        /// Why.
        reason: String,
    },
    /// A stored table description is not what a restore may run (forged or damaged).
    #[error("{0}")]
    RefusedDdl(String),
    /// A binary COPY stream does not have the layout the scan expects.
    #[error("reading `{table}`: {message}")]
    Copy {
        /// The table.
        table: String,
        /// What is wrong.
        message: String,
    },
    /// A batch does not have the columns the table's schema says.
    #[error("batch for table `{table}` does not match its schema: {message}")]
    BatchMismatch {
        /// The table.
        table: String,
        /// What is wrong.
        message: String,
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

impl Error {
    /// What kind of failure this is, for callers on the other side of the adapter boundary.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Server { kind, .. } => *kind,
            Error::NoSuchTable(_) => ErrorKind::NotFound,
            Error::Unsupported { .. } | Error::RefusedDdl(_) => ErrorKind::Unsupported,
            Error::BadUrl(_)
            | Error::Copy { .. }
            | Error::BatchMismatch { .. }
            | Error::Arrow { .. } => ErrorKind::Other,
        }
    }
}

impl From<Error> for AdapterError {
    fn from(error: Error) -> Self {
        let position = match &error {
            Error::Server { position, .. } => *position,
            _ => None,
        };
        let adapter = AdapterError::new(error.kind(), error);
        match position {
            Some(p) => adapter.at_position(p),
            None => adapter,
        }
    }
}

/// Adds context to a client error. The context is only formatted when there is an error.
pub(crate) fn server<C: Into<String>>(
    context: impl FnOnce() -> C,
) -> impl FnOnce(postgres::Error) -> Error {
    move |error| from_client(context().into(), &error, None)
}

/// The error of a statement `sql` (for the position the server reports in it).
pub(crate) fn statement(sql: &str) -> impl FnOnce(postgres::Error) -> Error + '_ {
    move |error| from_client(String::new(), &error, Some(sql))
}

/// The error of `error`, doing `context` (`sql`: the statement, for the position).
pub(crate) fn from_client(context: String, error: &postgres::Error, sql: Option<&str>) -> Error {
    let Some(db) = error.as_db_error() else {
        // No server message: the connection failed or was lost.
        let message = quiver_catalog::message_with_causes(error);
        let kind =
            if error.is_closed() || message.contains("connect") || message.contains("os error") {
                ErrorKind::Connection
            } else {
                ErrorKind::Other
            };
        return Error::Server {
            context,
            message,
            kind,
            position: None,
        };
    };
    let mut message = db.message().to_string();
    if let Some(detail) = db.detail() {
        message = format!("{message} ({detail})");
    }
    if let Some(hint) = db.hint() {
        message = format!("{message}; hint: {hint}");
    }
    let position = match (db.position(), sql) {
        (Some(postgres::error::ErrorPosition::Original(at)), Some(sql)) => {
            // The server counts characters from 1.
            sql.char_indices()
                .nth((*at as usize).saturating_sub(1))
                .map(|(byte, _)| byte)
        }
        _ => None,
    };
    Error::Server {
        context,
        message,
        kind: kind_of(db.code().code()),
        position,
    }
}

/// The kind of a SQLSTATE.
fn kind_of(code: &str) -> ErrorKind {
    match code {
        // lock_not_available, query_canceled (statement_timeout), deadlock, serialization.
        "55P03" | "57014" | "40P01" | "40001" | "55006" => ErrorKind::Busy,
        "42501" | "25006" => ErrorKind::Permission,
        "42P01" | "3D000" | "3F000" | "42704" | "42883" => ErrorKind::NotFound,
        "53100" | "53000" | "58030" => ErrorKind::DiskFull,
        "0A000" => ErrorKind::Unsupported,
        "57P01" | "57P02" | "57P03" => ErrorKind::Connection,
        _ if code.starts_with("08") => ErrorKind::Connection,
        // invalid_authorization_specification, invalid_password.
        _ if code.starts_with("28") => ErrorKind::Permission,
        _ if code.starts_with("23") => ErrorKind::Constraint,
        _ => ErrorKind::Other,
    }
}
