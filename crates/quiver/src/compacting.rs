//! COMPACT and `quiver compact`: an incremental's chain merged into a full backup of the
//! same time and contents (`quiver_backup::compact`), from the repository alone.

use quiver_backup::{CompactOptions, Compacted};
use quiver_catalog::Repository;

use crate::error::ExecError;

/// Compacts the chain of backup `at` (or of the latest backup) of collection `name`.
pub fn compact(
    repo: &Repository,
    name: &str,
    at: Option<&str>,
    batch_rows: usize,
) -> Result<Compacted, ExecError> {
    let mut collection = repo.collection(name)?;
    let lock = collection.lock()?;
    let options = CompactOptions {
        at: at.map(str::to_string),
        batch_rows,
    };
    Ok(quiver_backup::compact(
        &mut collection,
        &lock,
        &options,
        &mut |_| {},
    )?)
}
