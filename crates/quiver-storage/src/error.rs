//! The storage crate's error type.

use std::path::PathBuf;

/// Result alias for storage operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong reaching a location or moving backups between locations.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The URL does not name a location quiver can use.
    #[error("invalid storage URL `{url}`: {message}")]
    InvalidUrl {
        /// The URL given.
        url: String,
        /// Why it is refused.
        message: String,
    },
    /// The object does not exist.
    #[error("{url} does not exist")]
    NotFound {
        /// The object's URL.
        url: String,
    },
    /// A manifest or definition is larger than any quiver writes: damaged or forged, and
    /// not read.
    #[error("{url} is {size} bytes, more than a catalog file may have ({limit})")]
    TooLarge {
        /// The object's URL.
        url: String,
        /// Its size.
        size: u64,
        /// The most a manifest or definition may have.
        limit: u64,
    },
    /// The store refused or failed an operation.
    ///
    /// Its message hides credentials that an endpoint URL may carry (`http://user:secret@…`,
    /// which object_store repeats in its errors); the store's error is not a `source`, so no
    /// caller prints it unmasked.
    #[error("{action} {url}: {}", crate::mask_secrets(&.cause.to_string()))]
    Store {
        /// What was being done, e.g. "writing".
        action: &'static str,
        /// The object's URL.
        url: String,
        /// The store's error (its text may hold an endpoint's credentials).
        cause: Box<object_store::Error>,
    },
    /// A local file operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The operation would be unsafe or cannot apply; nothing was changed by it.
    #[error("{message}")]
    Refused {
        /// What was refused and why.
        message: String,
        /// What to do instead.
        hint: Option<String>,
    },
    /// Files or manifests are damaged: the copy was stopped before committing anything.
    #[error("{what}: {} fault(s):{}", faults.len(), faults.iter().map(|f| format!("\n  - {f}")).collect::<String>())]
    Faults {
        /// What was being done.
        what: String,
        /// Each fault found.
        faults: Vec<crate::Fault>,
    },
    /// quiver's I/O runtime could not start.
    #[error("cannot start the I/O runtime: {0}")]
    Runtime(String),
    /// The repository's catalog failed.
    #[error(transparent)]
    Catalog(#[from] quiver_catalog::Error),
}

impl Error {
    /// What to do about this error, if there is something to say.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Refused { hint, .. } => hint.clone(),
            Error::Faults { .. } => Some(
                "nothing was committed; `quiver verify` names every fault at a location".into(),
            ),
            Error::Store { .. } | Error::NotFound { .. } => Some(
                "for S3, check AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".into(),
            ),
            _ => None,
        }
    }
}
