//! Collections kept in external storage (`STORAGE = 'file://…' | 's3://…'`).
//!
//! Every backup is taken into the repository as usual, then copied to the collection's URL
//! (data first, read back and checked, manifest last with a put-if-absent) before BACKUP
//! reports success. The repository's copies serve as the base of incremental backups and
//! for fast restores; what the repository lacks (a new machine, a lost repository) is fetched
//! from the URL, verified, when a BACKUP or RESTORE needs it.

use quiver_catalog::{Collection, CollectionLock, StorageKind};
use quiver_storage::{CopyProgress, CopyReport, Inventory, Location};

use crate::error::ExecError;

/// The collection's external location, or `None` for `STORAGE = 'cluster'`.
pub(crate) fn location(collection: &Collection) -> Result<Option<Location>, ExecError> {
    match &collection.def().storage {
        StorageKind::Cluster => Ok(None),
        StorageKind::External(url) => Ok(Some(Location::parse(url)?)),
    }
}

/// Whether `error` means the location could not be reached or answered with an I/O fault
/// (as opposed to refusing what it holds): the repository's own copies can then serve.
pub(crate) fn unreachable(error: &ExecError) -> bool {
    matches!(
        error,
        ExecError::Storage(quiver_storage::Error::Store { .. })
    )
}

/// Fetches into the repository the chain of `at`, or (without `at`) of the latest backup
/// at `location` if it is newer than the repository's latest. Nothing is fetched when the
/// repository already holds that backup.
pub(crate) fn fetch(
    collection: &Collection,
    lock: &CollectionLock,
    location: &Location,
    at: Option<&str>,
    progress: &mut dyn FnMut(&CopyProgress),
) -> Result<Option<CopyReport>, ExecError> {
    let local = collection.backup_list()?.committed;
    let has = |id: &str| local.iter().any(|m| m.id == id);
    let tip = match at {
        Some(id) if has(id) => return Ok(None),
        Some(id) => id.to_string(),
        None => {
            let inventory = Inventory::read(location, collection)?;
            match inventory.committed().last() {
                Some(latest) if local.last().is_none_or(|l| l.id < latest.id) => latest.id.clone(),
                _ => return Ok(None),
            }
        }
    };
    Ok(Some(quiver_storage::import_into(
        location,
        collection,
        lock,
        Some(&tip),
        progress,
    )?))
}

/// Copies every committed backup of the collection that `location` lacks (the one just
/// taken, and any an earlier failed copy left behind), oldest first.
pub(crate) fn store(
    collection: &Collection,
    location: &Location,
    progress: &mut dyn FnMut(&CopyProgress),
) -> Result<CopyReport, ExecError> {
    let backups = collection.backups()?;
    let source = Location::local_dir(collection.dir())?;
    Ok(quiver_storage::export(
        &source,
        collection.def(),
        &backups,
        location,
        collection,
        progress,
    )?)
}
