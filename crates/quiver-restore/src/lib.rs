//! The restore path: resolve which backup to restore, verify every file of it, then load
//! all its tables into a target in one transaction: all tables or none.
//!
//! Verification (size and crc32 of every file against the manifest) finishes before the
//! target is touched, so a damaged backup never leaves partial data behind. The target's own
//! rule (YDB's) is that no table of the backup may exist there already.

#![warn(missing_docs)]

mod error;
mod progress;
mod restore;

pub use error::{Error, Result};
pub use progress::RestoreProgress;
pub use restore::{RestoreReport, resolve, restore, verify};
