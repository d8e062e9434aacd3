//! External storage for backup collections.
//!
//! A [`Location`] is a root in a store reached through `object_store`: a local directory
//! (`file:///abs/dir`) or an S3 prefix (`s3://bucket/prefix`). A collection's files have
//! the same layout there as in the repository:
//!
//! ```text
//! <location>/collection.json                  the collection's definition
//! <location>/<backup id>/data/<file>.parquet  data files, copied first
//! <location>/<backup id>/manifest.json        the manifest, copied last (put-if-absent)
//! ```

#![warn(missing_docs)]

mod check;
mod error;
mod export;
mod gc;
mod import;
mod inventory;
mod location;
mod prune;
mod verify;

#[cfg(any(test, feature = "test-server"))]
pub mod test_server;

pub use error::{Error, Result};
pub use export::{CopyProgress, CopyReport, export, exported_definition};
pub use gc::{DEFAULT_GRACE, GcOptions, GcReport, gc};
pub use import::{import, import_into};
pub use inventory::{BackupEntry, Inventory};
pub use location::{Digest, Location, mask_secrets, redacted};
pub use prune::{LocationPrune, prune_location};
pub use verify::{DdlCheck, Fault, FaultKind, VerifyProgress, VerifyReport, verify};
