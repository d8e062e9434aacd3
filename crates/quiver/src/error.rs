//! The facade's error type: what failed, and where in the script.

use quiver_catalog::{AdapterError, ErrorKind, message_with_causes};
use quiver_grammar::{ParseError, Span};

/// Result alias for the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a script stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The script does not parse; nothing in it was run.
    #[error("{0}")]
    Parse(#[from] ParseError),
    /// A statement failed; the statements before it ran, it and those after did not.
    #[error("{}: {source}", location(.at))]
    Statement {
        /// Where the failed statement is, for rendering with a caret.
        at: Box<ParseError>,
        /// What went wrong.
        #[source]
        source: ExecError,
    },
    /// The database could not be opened.
    #[error(transparent)]
    Open(ExecError),
}

fn location(at: &ParseError) -> String {
    format!("line {}, column {}", at.line, at.column)
}

impl Error {
    /// The error in full, with the offending line and a caret under it, and a hint where
    /// there is one.
    pub fn render(&self) -> String {
        // The statement shown under the message may hold a secret (a storage URL with
        // credentials, which is refused): it is masked.
        let masked = |e: &ParseError| {
            e.clone()
                .with_masked_source(quiver_storage::mask_secrets)
                .render()
        };
        match self {
            Error::Parse(e) => masked(e),
            Error::Statement { at, .. } => masked(at),
            Error::Open(e) => {
                let message = quiver_storage::mask_secrets(&message_with_causes(e));
                match e.hint() {
                    Some(hint) => format!("error: {message}\n  = hint: {hint}\n"),
                    None => format!("error: {message}\n"),
                }
            }
        }
    }

    pub(crate) fn at_statement(src: &str, span: Span, source: ExecError) -> Error {
        // A message may quote a URL from the statement: masked as the statement is.
        let message = quiver_storage::mask_secrets(&message_with_causes(&source));
        let first_line_end = src[span.start..span.end]
            .find('\n')
            .map_or(span.end, |i| span.start + i);
        let mut caret = Span::new(span.start, first_line_end);
        // The database may say where in the statement the error is: point there.
        if let ExecError::Sql(e) = &source
            && let Some(start) = e
                .position()
                .map(|o| span.start + o)
                .filter(|&s| s < span.end && src.is_char_boundary(s))
        {
            let end = src[start..span.end]
                .find(|c: char| c.is_whitespace())
                .map_or(span.end, |i| start + i);
            caret = Span::new(start, end.max(start + 1).min(span.end));
        }
        let mut at = ParseError::new(src, caret, message);
        if let Some(hint) = source.hint() {
            at = at.with_hint(hint);
        }
        Error::Statement {
            at: Box::new(at),
            source,
        }
    }
}

/// What went wrong running one statement.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The database rejected a plain SQL statement.
    #[error("{0}")]
    Sql(quiver_catalog::AdapterError),
    /// The repository could not be read or written.
    #[error(transparent)]
    Catalog(#[from] quiver_catalog::Error),
    /// Writing a data file failed.
    #[error(transparent)]
    Snapshot(#[from] quiver_snapshot::Error),
    /// The incremental diff failed.
    #[error(transparent)]
    Diff(#[from] quiver_diff::Error),
    /// The backup was not taken.
    #[error(transparent)]
    Backup(#[from] quiver_backup::Error),
    /// The restore did not happen.
    #[error(transparent)]
    Restore(#[from] quiver_restore::Error),
    /// A query over backups failed.
    #[error(transparent)]
    Query(#[from] quiver_query::Error),
    /// External storage, verify, export or import failed.
    #[error(transparent)]
    Storage(#[from] quiver_storage::Error),
    /// The database adapter failed.
    #[error("{0}")]
    Adapter(#[from] quiver_catalog::AdapterError),
    /// The statement is well-formed but cannot be carried out; `hint` says what to do.
    #[error("{message}")]
    Refused {
        /// What is wrong.
        message: String,
        /// What to do instead.
        hint: Option<String>,
    },
}

impl ExecError {
    pub(crate) fn refused(
        message: impl Into<String>,
        hint: impl Into<Option<String>>,
    ) -> ExecError {
        ExecError::Refused {
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// A suggestion for the user, where one is known.
    pub fn hint(&self) -> Option<String> {
        match self {
            ExecError::Refused { hint, .. } => hint.clone(),
            ExecError::Backup(
                e @ (quiver_backup::Error::ShapeChanged { .. }
                | quiver_backup::Error::NeedsFull { .. }),
            ) => e.hint(),
            ExecError::Backup(quiver_backup::Error::Refused { hint, .. }) => hint.clone(),
            ExecError::Backup(quiver_backup::Error::Adapter(e)) => adapter_hint(e),
            ExecError::Backup(quiver_backup::Error::Catalog(e)) => catalog_hint(e),
            ExecError::Backup(quiver_backup::Error::Snapshot(_)) => Some(
                "check that the backup repository's disk has free space and is writable; nothing was committed"
                    .into(),
            ),
            ExecError::Storage(e) => e.hint(),
            ExecError::Query(quiver_query::Error::DataFusion(e))
                if e.to_string().contains("not found") =>
            {
                Some("tables of backups are named <collection>.<table>; SHOW BACKUP COLLECTIONS lists them".into())
            }
            ExecError::Snapshot(quiver_snapshot::Error::Io { .. })
            | ExecError::Snapshot(quiver_snapshot::Error::Parquet { .. }) => Some(
                "check that the backup repository's disk has free space and is writable; nothing was committed"
                    .into(),
            ),
            ExecError::Restore(quiver_restore::Error::Target(e))
                if e.kind() == ErrorKind::Constraint =>
            {
                Some("the backup's rows break a rule of the table: VERIFY <collection> checks its files; if the rows were like this when they were backed up (SQLite enforces foreign keys only when asked), restore the tables apart: RESTORE <collection> WITH ( TABLES = '<table>' ) checks no reference to a table it does not restore".into())
            }
            ExecError::Restore(quiver_restore::Error::Target(e)) | ExecError::Adapter(e) => {
                adapter_hint(e)
            }
            ExecError::Restore(quiver_restore::Error::Catalog(e)) | ExecError::Catalog(e) => {
                catalog_hint(e)
            }
            ExecError::Restore(e) => e.hint(),
            _ => None,
        }
    }
}

/// What to do about a repository error.
fn catalog_hint(error: &quiver_catalog::Error) -> Option<String> {
    use quiver_catalog::Error;
    match error {
        Error::UnknownCollection(_) => {
            Some("create it first with CREATE BACKUP COLLECTION name ( TABLE t, ... )".into())
        }
        Error::UnknownBackup { .. } => Some(
            "backup ids look like 20261125T151429.123Z_full; SHOW BACKUPS IN <collection> lists them"
                .into(),
        ),
        Error::Compacted {
            collection, into, ..
        } => Some(format!(
            "use its id now: RESTORE {} AT '{into}'",
            quiver_grammar::quote_ident(collection)
        )),
        Error::Io { .. } => Some(
            "check that the backup repository's disk has free space and is writable; nothing was committed"
                .into(),
        ),
        Error::PruneBlocked {
            collection, backup, ..
        } => Some(format!(
            "VERIFY {} says what is wrong with backup {backup}; bring back an intact copy (quiver import), or move its directory out of the repository if it is beyond repair, then prune again",
            quiver_grammar::quote_ident(collection)
        )),
        Error::Corrupt { .. } | Error::BrokenChain { .. } => Some(
            "VERIFY <collection> lists every fault; RESTORE <collection> AT '<backup id>' restores an intact backup; BACKUP <collection> (full) starts a new chain; a copy elsewhere comes back with quiver import"
                .into(),
        ),
        _ => None,
    }
}

/// What to do about a database failure of its kind.
fn adapter_hint(error: &AdapterError) -> Option<String> {
    match error.kind() {
        ErrorKind::DiskFull => {
            Some("check that the database's disk has free space and is writable".into())
        }
        ErrorKind::Permission => Some(
            "check the database's permissions: a database file and its directory must be writable; a server's user needs the privileges the statement uses (SELECT on the tables it reads, CREATE on the schema it restores into)"
                .into(),
        ),
        ErrorKind::Busy => Some(
            "another session holds a lock the work needs, or a statement ran out of time: retry when it is done"
                .into(),
        ),
        ErrorKind::Connection => Some(
            "check that the database server is running and reachable, and the connection settings (host, port, user)"
                .into(),
        ),
        _ => None,
    }
}
