//! The restore crate's error type.

use quiver_catalog::AdapterError;

/// Result alias for restores.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a restore did not happen. In every case the target is unchanged.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading the repository failed.
    #[error(transparent)]
    Catalog(#[from] quiver_catalog::Error),
    /// The collection has no committed backup.
    #[error(
        "nothing to restore: backup collection `{0}` has no backups yet (take one with BACKUP {0})"
    )]
    NothingToRestore(String),
    /// The collection's latest backup has a manifest that cannot be read or trusted.
    #[error(
        "the latest backup `{backup}` of collection `{collection}` cannot be read, nothing was restored: {why}"
    )]
    LatestUnreadable {
        /// The collection.
        collection: String,
        /// The backup id.
        backup: String,
        /// Why its manifest cannot be used.
        why: String,
        /// The newest backup whose manifest reads, if any: what RESTORE AT could restore.
        readable: Option<String>,
    },
    /// A file of the backup failed verification.
    #[error("backup `{backup}` failed verification, nothing was restored: {source}")]
    Damaged {
        /// The backup id.
        backup: String,
        /// What is wrong with which file.
        #[source]
        source: quiver_snapshot::Error,
    },
    /// Tables of the backup already exist in the target.
    #[error(
        "cannot restore `{collection}`: {} already exist{} in the database; drop or rename {} first (nothing was restored)",
        list(tables), if tables.len() == 1 { "s" } else { "" }, if tables.len() == 1 { "it" } else { "them" }
    )]
    TablesExist {
        /// The collection.
        collection: String,
        /// The tables in the way.
        tables: Vec<String>,
    },
    /// Reading or merging the verified files of a chain failed.
    #[error("reading backup `{backup}`: {source}")]
    Read {
        /// The backup id (the chain's last).
        backup: String,
        /// The error.
        #[source]
        source: quiver_diff::Error,
    },
    /// The backups of a chain disagree on a table's stored shape, which quiver never writes.
    #[error(
        "backup `{backup}` cannot be restored: table `{table}` in it does not match its chain: {reason}"
    )]
    Inconsistent {
        /// The backup id.
        backup: String,
        /// The table.
        table: String,
        /// The difference.
        reason: String,
    },
    /// A backup's DDL is not what the target may run: the backup is damaged or forged.
    #[error("backup `{backup}` cannot be restored: {message}; nothing was restored")]
    UntrustedDdl {
        /// The backup id.
        backup: String,
        /// Which statement, and why.
        message: String,
    },
    /// The target database refused (the transaction was rolled back).
    #[error("restore failed and was rolled back: {0}")]
    Target(AdapterError),
    /// The selection of a selective restore cannot be carried out.
    #[error("{message}")]
    Selection {
        /// What is wrong.
        message: String,
        /// What to do instead.
        hint: Option<String>,
    },
}

impl Error {
    /// What to do next, where the error knows.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::LatestUnreadable {
                collection,
                readable,
                ..
            } => Some(match readable {
                Some(id) => format!(
                    "restore the newest readable backup with RESTORE {collection} AT '{id}'; VERIFY {collection} lists every fault; a copy elsewhere comes back with quiver import"
                ),
                None => format!(
                    "VERIFY {collection} lists every fault; a copy elsewhere comes back with quiver import"
                ),
            }),
            Error::Selection { hint, .. } => hint.clone(),
            Error::Damaged { .. } => Some(
                "restore an earlier backup with RESTORE name AT '<backup id>', or take a new backup"
                    .into(),
            ),
            _ => None,
        }
    }
}

fn list(tables: &[String]) -> String {
    let quoted: Vec<String> = tables.iter().map(|t| format!("table `{t}`")).collect();
    quoted.join(", ")
}
