//! Crash-safe file writes: write a temporary file, fsync it, rename it into place, fsync the directory.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use crate::{Error, Result};

/// Writes `bytes` to `path` atomically: readers see either the old file or the whole new one.
///
/// The data is fsynced before the rename and the directory after it, so a crash at any
/// point leaves no torn file behind (at most a `.tmp` file, which readers ignore).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let (dir, tmp) = write_temporary(path, bytes)?;
    fs::rename(&tmp, path).map_err(Error::io("renaming into place", path))?;
    fsync_dir(dir)
}

/// Writes `bytes` to a new temporary file beside `path` and fsyncs it; returns the
/// directory and the temporary file (removed again if the write failed).
fn write_temporary<'a>(path: &'a Path, bytes: &[u8]) -> Result<(&'a Path, std::path::PathBuf)> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.{}.tmp", unique_suffix()));
    let write = || -> std::io::Result<()> {
        let mut file = File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()
    };
    if let Err(e) = write() {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io("writing", &tmp)(e));
    }
    Ok((dir, tmp))
}

/// A suffix no other temporary file of any process or thread has at the same time.
fn unique_suffix() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}-{n}", std::process::id())
}

/// Writes `bytes` to `path` only if nothing is there, atomically and durably: `false` when
/// another writer got there first (its file is left as it is). Two writers racing for one
/// path can never both succeed: the file appears by a hard link, which never replaces.
pub fn write_new(path: &Path, bytes: &[u8]) -> Result<bool> {
    let (dir, tmp) = write_temporary(path, bytes)?;
    let linked = match fs::hard_link(&tmp, path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    };
    let _ = fs::remove_file(&tmp);
    let created = linked.map_err(Error::io("writing", path))?;
    fsync_dir(dir)?;
    Ok(created)
}

/// Fsyncs a directory so that entries created or renamed in it survive a crash.
pub fn fsync_dir(dir: &Path) -> Result<()> {
    #[cfg(test)]
    SYNCED.with(|synced| synced.borrow_mut().push(dir.to_path_buf()));
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(Error::io("syncing directory", dir))
}

/// Creates `dir` and any missing parents, like `fs::create_dir_all`, and fsyncs the parent
/// of each directory it created, oldest first: after it returns, a crash cannot lose them.
pub fn create_dir_durably(dir: &Path) -> Result<()> {
    let mut missing = Vec::new();
    let mut at = dir;
    while !at.exists() {
        missing.push(at);
        match at.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => at = parent,
            _ => break,
        }
    }
    for created in missing.into_iter().rev() {
        match fs::create_dir(created) {
            Ok(()) => {}
            // Another process made it meanwhile: it is there, and that process syncs it.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(Error::io("creating", created)(e)),
        }
        let parent = created
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fsync_dir(parent)?;
    }
    Ok(())
}

#[cfg(test)]
thread_local! {
    /// Directories this thread fsynced, for tests of what a step makes durable.
    pub(crate) static SYNCED: std::cell::RefCell<Vec<std::path::PathBuf>> = Default::default();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("manifest.json");
        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("manifest.json")]);
    }
}
