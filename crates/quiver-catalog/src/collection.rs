//! One backup collection: its definition, its committed backups, and new backups being written.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{
    BackupId, BackupKind, BackupManifest, CollectionLock, Error, MANIFEST_FORMAT_VERSION, Result,
    TableBackup, encode_path_segment, fsync_dir, write_atomic,
};

pub(crate) const DEFINITION_FILE: &str = "collection.json";
const MANIFEST_FILE: &str = "manifest.json";
const LOCK_FILE: &str = ".lock";
const DATA_DIR: &str = "data";

/// Where a collection's backups are kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StorageKind {
    /// The local repository beside the database (`STORAGE = 'cluster'`).
    Cluster,
    /// An external URL (`file://…`, `s3://…`), kept for external storage.
    External(String),
}

/// A collection's definition, as given by CREATE / ALTER BACKUP COLLECTION.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionDef {
    /// The collection's name.
    pub name: String,
    /// Its tables, in the order given.
    pub tables: Vec<String>,
    /// Where its backups go.
    pub storage: StorageKind,
    /// Whether `BACKUP … INCREMENTAL` is allowed.
    pub incremental_backup_enabled: bool,
}

impl CollectionDef {
    /// A definition with the given fields.
    pub fn new(
        name: impl Into<String>,
        tables: Vec<String>,
        storage: StorageKind,
        incremental_backup_enabled: bool,
    ) -> CollectionDef {
        CollectionDef {
            name: name.into(),
            tables,
            storage,
            incremental_backup_enabled,
        }
    }
}

/// A collection of a repository, as read from its directory.
#[derive(Debug, Clone)]
pub struct Collection {
    dir: PathBuf,
    def: CollectionDef,
}

impl Collection {
    pub(crate) fn load(dir: PathBuf, name: &str) -> Result<Collection> {
        let path = dir.join(DEFINITION_FILE);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::UnknownCollection(name.to_string()));
            }
            Err(e) => return Err(Error::io("reading", &path)(e)),
        };
        let def: CollectionDef = serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt {
            what: "collection definition",
            path,
            message: e.to_string(),
        })?;
        Ok(Collection { dir, def })
    }

    /// The collection's definition.
    pub fn def(&self) -> &CollectionDef {
        &self.def
    }

    /// The collection's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Takes the collection's exclusive lock without waiting (`Error::Busy` if it is held).
    pub fn lock(&self) -> Result<CollectionLock> {
        let lock = CollectionLock::try_acquire(&self.def.name, &self.dir.join(LOCK_FILE))?;
        // A DROP may have removed the collection between reading it and locking it.
        if !self.dir.join(DEFINITION_FILE).exists() {
            return Err(Error::UnknownCollection(self.def.name.clone()));
        }
        Ok(lock)
    }

    /// Replaces the collection's definition (ALTER). Requires the lock.
    pub fn save_def(&mut self, def: CollectionDef, _lock: &CollectionLock) -> Result<()> {
        let json = serde_json::to_vec_pretty(&def).expect("definition serializes");
        write_atomic(&self.dir.join(DEFINITION_FILE), &json)?;
        self.def = def;
        Ok(())
    }

    /// Committed backups, oldest first. Incomplete backup directories are skipped.
    pub fn backups(&self) -> Result<Vec<BackupManifest>> {
        let mut manifests = Vec::new();
        for (id, dir) in self.backup_dirs()? {
            let path = dir.join(MANIFEST_FILE);
            if !path.exists() {
                continue;
            }
            manifests.push(read_manifest(&path, &self.def.name, &id.to_string())?);
        }
        Ok(manifests)
    }

    /// The committed backup with this id.
    pub fn backup(&self, id: &str) -> Result<BackupManifest> {
        let unknown = || Error::UnknownBackup {
            collection: self.def.name.clone(),
            id: id.to_string(),
        };
        let parsed: BackupId = id.parse().map_err(|_| unknown())?;
        let path = self.dir.join(parsed.to_string()).join(MANIFEST_FILE);
        if !path.exists() {
            return Err(unknown());
        }
        read_manifest(&path, &self.def.name, id)
    }

    /// The chain that ends at `tip`, full backup first: the full backup `tip` builds on and
    /// every incremental from there to `tip`. Each link is checked: an incremental's parent
    /// exists, is older, and the walk ends at a full backup.
    pub fn chain(&self, tip: BackupManifest) -> Result<Vec<BackupManifest>> {
        let mut chain = vec![tip];
        loop {
            let last = chain.last().expect("chain is never empty");
            if last.kind == BackupKind::Full {
                break;
            }
            let broken = |reason: String| Error::BrokenChain {
                collection: self.def.name.clone(),
                backup: chain[0].id.clone(),
                reason,
            };
            let parent = last.parent.clone().ok_or_else(|| {
                broken(format!("incremental backup `{}` names no parent", last.id))
            })?;
            if parent >= last.id {
                return Err(broken(format!(
                    "backup `{}` names a parent `{parent}` that is not older",
                    last.id
                )));
            }
            let manifest = match self.backup(&parent) {
                Err(Error::UnknownBackup { .. }) => {
                    return Err(broken(format!(
                        "backup `{parent}`, the parent of `{}`, is missing",
                        last.id
                    )));
                }
                other => other?,
            };
            chain.push(manifest);
        }
        chain.reverse();
        Ok(chain)
    }

    /// The directory of the backup with this id.
    pub fn backup_dir(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    /// Absolute path of one of a backup's data files.
    pub fn data_file_path(&self, manifest: &BackupManifest, relative: &str) -> PathBuf {
        let mut path = self.backup_dir(&manifest.id);
        path.extend(relative.split('/'));
        path
    }

    /// Starts a new backup: removes incomplete backups left by crashes, then creates the new
    /// backup's directory. Nothing is visible to readers until [`PendingBackup::commit`].
    pub fn begin_backup(&self, kind: BackupKind, _lock: &CollectionLock) -> Result<PendingBackup> {
        let dirs = self.backup_dirs()?;
        for (_, dir) in dirs
            .iter()
            .filter(|(_, dir)| !dir.join(MANIFEST_FILE).exists())
        {
            fs::remove_dir_all(dir).map_err(Error::io("removing incomplete backup", dir))?;
        }
        let id = BackupId::next(kind, dirs.last().map(|(id, _)| id));
        let dir = self.dir.join(id.to_string());
        fs::create_dir_all(dir.join(DATA_DIR)).map_err(Error::io("creating", &dir))?;
        Ok(PendingBackup {
            collection: self.def.name.clone(),
            id,
            dir,
            committed: false,
        })
    }

    /// Backup directories (complete or not) with their parsed ids, in id order.
    fn backup_dirs(&self) -> Result<Vec<(BackupId, PathBuf)>> {
        let entries = fs::read_dir(&self.dir).map_err(Error::io("listing", &self.dir))?;
        let mut dirs = Vec::new();
        for entry in entries {
            let entry = entry.map_err(Error::io("listing", &self.dir))?;
            let name = entry.file_name();
            if let Some(id) = name.to_str().and_then(|n| n.parse::<BackupId>().ok()) {
                dirs.push((id, entry.path()));
            }
        }
        dirs.sort();
        Ok(dirs)
    }
}

fn read_manifest(path: &Path, collection: &str, id: &str) -> Result<BackupManifest> {
    let bytes = fs::read(path).map_err(Error::io("reading", path))?;
    let corrupt = |message: String| Error::Corrupt {
        what: "backup manifest",
        path: path.to_path_buf(),
        message,
    };
    let manifest: BackupManifest =
        serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
    if manifest.format_version > MANIFEST_FORMAT_VERSION {
        return Err(corrupt(format!(
            "format version {} is newer than this quiver supports ({MANIFEST_FORMAT_VERSION}); upgrade quiver",
            manifest.format_version
        )));
    }
    if manifest.format_version < MANIFEST_FORMAT_VERSION {
        // Version 1 (before incremental backups) stored no row hashes; nothing was released
        // with it, so it is not read.
        return Err(corrupt(format!(
            "format version {} was written by a pre-release quiver and is not supported; take a new full backup",
            manifest.format_version
        )));
    }
    for file in manifest.tables.iter().flat_map(|t| &t.files) {
        // Data files live inside the backup's directory: a path that climbs out of it
        // (or is absolute) is a damaged or forged manifest.
        let inside = !file.path.is_empty()
            && !file.path.starts_with('/')
            && file.path.split('/').all(|part| {
                !part.is_empty() && part != "." && part != ".." && !part.contains('\\')
            });
        if !inside {
            return Err(corrupt(format!(
                "data file path `{}` points outside the backup",
                file.path
            )));
        }
    }
    if manifest.id != id || manifest.collection != collection {
        return Err(corrupt(format!(
            "it describes backup `{}` of `{}`, not `{id}` of `{collection}`",
            manifest.id, manifest.collection
        )));
    }
    Ok(manifest)
}

/// A backup being written. Dropped without [`PendingBackup::commit`], its directory is removed.
#[derive(Debug)]
pub struct PendingBackup {
    collection: String,
    id: BackupId,
    dir: PathBuf,
    committed: bool,
}

impl PendingBackup {
    /// The new backup's id.
    pub fn id(&self) -> BackupId {
        self.id
    }

    /// Where to write `table`'s data file number `part`: `(path relative to the backup, absolute path)`.
    pub fn data_file(&self, table: &str, part: usize) -> (String, PathBuf) {
        let file = format!("{}.{part}.parquet", encode_path_segment(table));
        (
            format!("{DATA_DIR}/{file}"),
            self.dir.join(DATA_DIR).join(file),
        )
    }

    /// Commits the backup: makes the data files durable, then writes the manifest atomically.
    /// Only after this returns is the backup visible.
    pub fn commit(
        mut self,
        parent: Option<String>,
        tables: Vec<TableBackup>,
    ) -> Result<BackupManifest> {
        fsync_dir(&self.dir.join(DATA_DIR))?;
        let created_at = self
            .id
            .taken_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let manifest = BackupManifest {
            format_version: MANIFEST_FORMAT_VERSION,
            collection: self.collection.clone(),
            id: self.id.to_string(),
            kind: self.id.kind,
            parent,
            created_at,
            tables,
        };
        let json = serde_json::to_vec_pretty(&manifest).expect("manifest serializes");
        write_atomic(&self.dir.join(MANIFEST_FILE), &json)?;
        self.committed = true;
        Ok(manifest)
    }
}

impl Drop for PendingBackup {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}
