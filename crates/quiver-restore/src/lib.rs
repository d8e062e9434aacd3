//! The restore path: resolve which backup to restore and the chain it builds on (its full
//! backup and the incrementals up to it), verify every file of the chain, then load all its
//! tables into a target in one transaction: all tables or none.
//!
//! A table's rows are the chain's files merged by key ([`quiver_diff::Merge`]): the latest
//! backup's row wins, tombstones delete, and nothing is materialised in memory.
//! Verification (size and crc32 of every file against the manifest) finishes before the
//! target is touched, so a damaged backup never leaves partial data behind. The target's own
//! rule (YDB's) is that no table of the backup may exist there already.

#![warn(missing_docs)]

mod chain;
mod error;
mod progress;
mod restore;

pub use chain::{ChainRows, Columns, chain_to_restore};
pub use error::{Error, Result};
pub use progress::RestoreProgress;
pub use restore::{
    Rename, RestorePlan, RestoreReport, RowFilter, Selection, plan, restore, restore_selected,
    verify,
};

/// The cipher of data file `path` of `backup`, when the backup is encrypted.
pub fn file_cipher(
    backup: &quiver_catalog::BackupManifest,
    path: &str,
) -> Option<quiver_snapshot::FileCipher> {
    let key = backup.file_key(path)?;
    Some(quiver_snapshot::FileCipher::new(
        key.key.bytes(),
        key.aad_prefix,
    ))
}
