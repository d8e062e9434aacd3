//! Why a backup was not taken.

/// Result alias for taking backups.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a backup was not taken; nothing of it was committed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The backup cannot be taken as asked; `hint` says what to do instead.
    #[error("{message}")]
    Refused {
        /// What is wrong.
        message: String,
        /// What to do instead.
        hint: Option<String>,
    },
    /// An incremental backup cannot be taken, but a full one can (a table without a key, a
    /// damaged or unreadable chain to build on); `hint` says so.
    #[error("{message}")]
    NeedsFull {
        /// What is wrong.
        message: String,
        /// What to do instead.
        hint: Option<String>,
    },
    /// A table's shape changed since the chain's last backup, and the collection's
    /// `ON_SCHEMA_CHANGE` is `'refuse'`: an incremental cannot span the change.
    #[error(
        "table `{table}` changed since backup {since}: {change}; an incremental backup cannot span a schema change (nothing was written)"
    )]
    ShapeChanged {
        /// The collection.
        collection: String,
        /// The table.
        table: String,
        /// The chain's last backup.
        since: String,
        /// What changed.
        change: String,
    },
    /// The repository could not be read or written.
    #[error(transparent)]
    Catalog(#[from] quiver_catalog::Error),
    /// The database adapter failed.
    #[error("{0}")]
    Adapter(quiver_catalog::AdapterError),
    /// Writing a data file failed.
    #[error(transparent)]
    Snapshot(#[from] quiver_snapshot::Error),
    /// The incremental diff failed.
    #[error(transparent)]
    Diff(#[from] quiver_diff::Error),
    /// The chain an incremental builds on could not be read.
    #[error(transparent)]
    Chain(#[from] quiver_restore::Error),
}

impl Error {
    pub(crate) fn refused(message: impl Into<String>, hint: impl Into<Option<String>>) -> Error {
        Error::Refused {
            message: message.into(),
            hint: hint.into(),
        }
    }

    pub(crate) fn needs_full(message: impl Into<String>, hint: impl Into<Option<String>>) -> Error {
        Error::NeedsFull {
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// What to do about a refusal, where it says.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Refused { hint, .. } | Error::NeedsFull { hint, .. } => hint.clone(),
            Error::ShapeChanged { collection, .. } => {
                let name = quiver_grammar::quote_ident(collection);
                Some(format!(
                    "take a full backup to start a new chain: BACKUP {name}; or let incrementals do that themselves: ALTER BACKUP COLLECTION {name} SET (ON_SCHEMA_CHANGE = 'full')"
                ))
            }
            _ => None,
        }
    }
}
