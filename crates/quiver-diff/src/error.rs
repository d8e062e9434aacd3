//! The diff engine's error type.

/// Result alias for diff and merge operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors of the diff engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An input stream failed (reading a data file, scanning the source).
    #[error("{0}")]
    Input(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Arrow failed building a batch.
    #[error("building changes: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// Rows did not arrive in strictly increasing key order: merging them would be wrong.
    #[error("{input} is not in key order: row {row} of a batch does not follow the row before it")]
    OutOfOrder {
        /// Which input.
        input: String,
        /// The row, within its batch.
        row: usize,
    },
    /// A batch does not have the columns the engine was set up for.
    #[error("unexpected batch layout: {0}")]
    Layout(String),
}
