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
    pub(crate) fn try_acquire(collection: &str, path: &Path) -> Result<CollectionLock> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(Error::io("opening lock file", path))?;
        match file.try_lock() {
            Ok(()) => Ok(CollectionLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::Busy(collection.to_string())),
            Err(std::fs::TryLockError::Error(e)) => Err(Error::io("locking", path)(e)),
        }
    }
}
