//! The query crate's error type.

/// Result alias for queries over backups.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong setting up or running a query over backups.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The repository could not be read.
    #[error(transparent)]
    Catalog(#[from] quiver_catalog::Error),
    /// Planning or running the query failed (SQL errors included).
    #[error("{0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
    /// Arrow failed on a batch.
    #[error(transparent)]
    Arrow(#[from] arrow::error::ArrowError),
    /// A row filter cannot be evaluated exactly on a column's values.
    #[error("FILTER cannot be evaluated exactly on column `{column}`: {message}")]
    InexactFilter {
        /// The column.
        column: String,
        /// Why.
        message: String,
    },
    /// No collection has a backup with this id.
    #[error("no backup collection has a backup `{0}`")]
    UnknownBackup(String),
    /// The query runtime could not start.
    #[error("cannot start the query runtime: {0}")]
    Runtime(String),
}
