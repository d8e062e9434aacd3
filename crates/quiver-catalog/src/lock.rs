//! Per-collection advisory locks: one writer per collection, collections never wait on each other.

use std::fs::{File, OpenOptions};
use std::path::Path;

use crate::{Error, Result};

/// An exclusive advisory lock on one collection, held until dropped.
///
/// Taken by BACKUP, RESTORE, ALTER and DROP. It is a lock on a file inside the collection's
/// directory, so it is released by the OS when the process dies: a crash never leaves a
/// collection locked.
#[derive(Debug)]
pub struct CollectionLock {
    _file: File,
}

impl CollectionLock {
    /// Takes the lock without waiting; `Error::Busy` if another holder has it.
    ///
    /// In a repository this process may only read (a read-only mount, another user's files),
    /// the existing lock file is opened read-only, which `flock` accepts: a RESTORE from it
    /// still excludes writers, and a BACKUP fails later, clearly, where it writes.
    pub(crate) fn try_acquire(collection: &str, path: &Path) -> Result<CollectionLock> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .or_else(|e| match e.kind() {
                std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
                    File::open(path)
                }
                _ => Err(e),
            })
            .map_err(Error::io("opening lock file", path))?;
        match file.try_lock() {
            Ok(()) => Ok(CollectionLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::Busy(collection.to_string())),
            Err(std::fs::TryLockError::Error(e)) => Err(Error::io("locking", path)(e)),
        }
    }
}
