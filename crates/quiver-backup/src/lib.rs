//! Taking backups of a collection, through the adapter traits of `quiver-catalog` only.
//!
//! [`take`] reads every table of a collection through snapshots that all see the database
//! at one point in time (one per thread, tables taken largest first), writes each table's
//! Parquet file (a full backup) or its changes against the chain the backup builds on (an
//! incremental, diffed by key with `quiver-diff`), and commits the manifest last. The
//! facade (`quiver`) adds external storage and progress display around it.

#![warn(missing_docs)]

mod compact;
mod error;
mod take;

pub use compact::{CompactOptions, Compacted, compact};
pub use error::{Error, Result};
pub use take::{
    BackupOptions, BackupProgress, TakenBackup, check_incremental_allowed, data_file_options, take,
};
