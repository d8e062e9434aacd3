//! What a restore reports while it runs.

/// A step of a running restore, for progress display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoreProgress {
    /// `done` of `total` data files verified.
    Verified {
        /// Files verified so far.
        done: usize,
        /// Files to verify.
        total: usize,
    },
    /// `rows` rows of `table` loaded so far.
    Loading {
        /// The table.
        table: String,
        /// Rows loaded so far.
        rows: u64,
    },
}
