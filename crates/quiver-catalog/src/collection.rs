//! One backup collection: its definition, its committed backups, and new backups being written.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::sealed::{seal, unseal};
use crate::{
    BackupId, BackupKind, BackupManifest, Clock, CollectionLock, Error, MANIFEST_FORMAT_VERSION,
    Result, RetainedBackup, Retention, ScheduleSettings, SchemaChangePolicy, TableBackup, Verdict,
    apply_retention, create_dir_durably, encode_path_segment, fsync_dir, write_atomic,
};

/// A collection's definition file, in its directory.
pub const DEFINITION_FILE: &str = "collection.json";
/// A backup's manifest, in the backup's directory: written last, it commits the backup.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The collection's lock file, in its directory.
pub const LOCK_FILE: &str = ".lock";
/// Where a backup's data files go, in the backup's directory.
pub const DATA_DIR: &str = "data";

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
    /// The collection's identity, given at CREATE and kept by every copy (export, import):
    /// two collections of one name (production and staging, say) never mix their backups.
    /// `None` only in definitions written before ids existed; the next backup gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Its tables, in the order given.
    pub tables: Vec<String>,
    /// Where its backups go.
    pub storage: StorageKind,
    /// Whether `BACKUP … INCREMENTAL` is allowed.
    pub incremental_backup_enabled: bool,
    /// Which backups PRUNE keeps; none set keeps every backup.
    #[serde(default, skip_serializing_if = "Retention::is_unset")]
    pub retention: Retention,
    /// Backups no retention rule removes (`ALTER … PIN`), by id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pinned: Vec<String>,
    /// When `quiver schedule run` backs it up.
    #[serde(default, skip_serializing_if = "ScheduleSettings::is_unset")]
    pub schedule: ScheduleSettings,
    /// What an incremental backup does when a table's shape changed.
    #[serde(default, skip_serializing_if = "SchemaChangePolicy::is_default")]
    pub on_schema_change: SchemaChangePolicy,
    /// `COMPACT_AFTER`: a scheduled backup that leaves more incrementals than this in its
    /// chain compacts the chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compact_after: Option<u32>,
}

impl CollectionDef {
    /// A definition with the given fields and a new, unique id.
    pub fn new(
        name: impl Into<String>,
        tables: Vec<String>,
        storage: StorageKind,
        incremental_backup_enabled: bool,
    ) -> CollectionDef {
        CollectionDef {
            name: name.into(),
            id: Some(new_collection_id()),
            tables,
            storage,
            incremental_backup_enabled,
            retention: Retention::default(),
            pinned: Vec::new(),
            schedule: ScheduleSettings::default(),
            on_schema_change: SchemaChangePolicy::default(),
            compact_after: None,
        }
    }

    /// Reads a definition from its JSON (`collection.json`), checking its checksum (which
    /// only definitions from before collection ids may lack).
    pub fn decode(bytes: &[u8]) -> Result<CollectionDef, String> {
        unseal(bytes, |def: &CollectionDef| def.id.is_some())
    }

    /// The definition as JSON with its checksum, as stored in `collection.json`.
    pub fn encode(&self) -> Vec<u8> {
        seal(self)
    }

    /// Whether a manifest with `collection_id` may belong to this collection: ids agree, or
    /// one side predates ids.
    pub fn owns(&self, collection_id: Option<&str>) -> bool {
        match (self.id.as_deref(), collection_id) {
            (Some(mine), Some(theirs)) => mine == theirs,
            _ => true,
        }
    }
}

/// A new collection id: a random (v4) UUID.
pub fn new_collection_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A collection's committed backups, as [`Collection::backup_list`] reads them.
#[derive(Debug, Default)]
pub struct BackupList {
    /// Backups whose manifest reads, oldest first.
    pub committed: Vec<BackupManifest>,
    /// Backups whose manifest cannot be read or trusted, oldest first.
    pub unreadable: Vec<UnreadableBackup>,
}

impl BackupList {
    /// The newest backup if its manifest cannot be read: what "the latest backup" would be,
    /// and is not.
    pub fn unreadable_latest(&self) -> Option<&UnreadableBackup> {
        let newest = self.unreadable.last()?;
        match self.committed.last() {
            Some(readable) if readable.id > newest.id => None,
            _ => Some(newest),
        }
    }
}

/// A committed backup whose manifest cannot be read or trusted.
#[derive(Debug)]
pub struct UnreadableBackup {
    /// The backup's id (its directory name).
    pub id: String,
    /// Why its manifest cannot be used.
    pub error: Error,
}

/// A collection of a repository, as read from its directory.
#[derive(Debug, Clone)]
pub struct Collection {
    dir: PathBuf,
    def: CollectionDef,
    clock: Clock,
}

impl Collection {
    pub(crate) fn load(dir: PathBuf, name: &str, clock: Clock) -> Result<Collection> {
        let path = dir.join(DEFINITION_FILE);
        let bytes = match read_bounded(&path, MAX_MANIFEST_BYTES) {
            Ok(bytes) => bytes,
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::UnknownCollection(name.to_string()));
            }
            Err(e) => return Err(e),
        };
        let def = CollectionDef::decode(&bytes).map_err(|message| Error::Corrupt {
            what: "collection definition",
            path,
            message,
        })?;
        Ok(Collection { dir, def, clock })
    }

    /// The collection's definition.
    pub fn def(&self) -> &CollectionDef {
        &self.def
    }

    /// The collection's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The clock its backups are dated by (the repository's).
    pub fn clock(&self) -> &Clock {
        &self.clock
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
        write_atomic(&self.dir.join(DEFINITION_FILE), &def.encode())?;
        self.def = def;
        Ok(())
    }

    /// Committed backups, oldest first. Incomplete backup directories are skipped; a
    /// manifest that cannot be read or trusted fails the whole call (see
    /// [`Collection::backup_list`] to read around it).
    pub fn backups(&self) -> Result<Vec<BackupManifest>> {
        let list = self.backup_list()?;
        match list.unreadable.into_iter().next() {
            Some(unreadable) => Err(unreadable.error),
            None => Ok(list.committed),
        }
    }

    /// Every committed backup, oldest first: those whose manifest reads, and those whose
    /// manifest cannot be read or trusted, apart, so that one damaged backup never hides
    /// the others.
    pub fn backup_list(&self) -> Result<BackupList> {
        let mut list = BackupList::default();
        for (id, dir) in self.backup_dirs()? {
            let path = dir.join(MANIFEST_FILE);
            if !path.exists() {
                continue;
            }
            match read_manifest(&path, &self.def, &id.to_string()) {
                Ok(manifest) => list.committed.push(manifest),
                Err(error @ (Error::Corrupt { .. } | Error::Io { .. })) => {
                    list.unreadable.push(UnreadableBackup {
                        id: id.to_string(),
                        error,
                    });
                }
                Err(e) => return Err(e),
            }
        }
        Ok(list)
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
            // An incremental that was compacted is the full backup of its time now.
            let full = BackupId {
                kind: BackupKind::Full,
                ..parsed
            };
            if parsed.kind == BackupKind::Incremental
                && self.dir.join(full.to_string()).join(MANIFEST_FILE).exists()
            {
                return Err(Error::Compacted {
                    collection: self.def.name.clone(),
                    id: id.to_string(),
                    into: full.to_string(),
                });
            }
            return Err(unknown());
        }
        read_manifest(&path, &self.def, id)
    }

    /// Makes `backup` build on `parent` instead of its parent (compaction: the backups that
    /// built on an incremental build on the full backup that replaces it, of the same state).
    /// Its manifest is replaced atomically: a crash leaves the old link or the new one.
    pub fn reparent(
        &self,
        backup: &BackupManifest,
        parent: &str,
        _lock: &CollectionLock,
    ) -> Result<BackupManifest> {
        let manifest = BackupManifest {
            parent: Some(parent.to_string()),
            ..backup.clone()
        };
        write_atomic(
            &self.backup_dir(&backup.id).join(MANIFEST_FILE),
            &manifest.encode(),
        )?;
        Ok(manifest)
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
    pub fn begin_backup(
        &mut self,
        kind: BackupKind,
        lock: &CollectionLock,
    ) -> Result<PendingBackup> {
        if self.def.id.is_none() {
            // A collection created before ids existed gets one with its first new backup:
            // the id of backups imported into it, if any, else a new one.
            let adopted = self
                .backup_list()?
                .committed
                .into_iter()
                .find_map(|m| m.collection_id);
            let def = CollectionDef {
                id: Some(adopted.unwrap_or_else(new_collection_id)),
                ..self.def.clone()
            };
            self.save_def(def, lock)?;
        }
        let dirs = self.backup_dirs()?;
        // Ids grow past every committed backup, and past leftovers too (a copy of one may
        // still be at an external location), but for leftovers dated in the future: a stray
        // directory must not send every later backup's id there.
        let now = self.clock.now();
        let horizon = now + time::Duration::minutes(1);
        let newest = dirs
            .iter()
            .filter(|(id, dir)| dir.join(MANIFEST_FILE).exists() || id.taken_at <= horizon)
            .map(|(id, dir)| (*id, dir.clone()))
            .next_back();
        for (_, dir) in dirs
            .iter()
            .filter(|(_, dir)| !dir.join(MANIFEST_FILE).exists())
        {
            fs::remove_dir_all(dir).map_err(Error::io("removing incomplete backup", dir))?;
        }
        let id =
            BackupId::next(kind, newest.as_ref().map(|(id, _)| id), now).map_err(|message| {
                Error::NoLaterId {
                    path: newest
                        .map(|(_, dir)| dir)
                        .unwrap_or_else(|| self.dir.clone()),
                    message,
                }
            })?;
        self.pending(id)
    }

    /// Creates backup `id`'s directory, for a backup not yet committed.
    fn pending(&self, id: BackupId) -> Result<PendingBackup> {
        let dir = self.dir.join(id.to_string());
        // Durably: the collection directory's entry for the backup must survive a crash
        // once the manifest inside it does.
        create_dir_durably(&dir.join(DATA_DIR))?;
        Ok(PendingBackup {
            collection: self.def.name.clone(),
            collection_id: self.def.id.clone(),
            id,
            dir,
            committed: false,
        })
    }

    /// Starts writing a copy of an existing backup under its own `id` (import). Unlike
    /// [`Collection::begin_backup`] it removes nothing; `id` must not be taken, committed or not.
    ///
    /// A directory of that id without a manifest is what an interrupted copy (or backup)
    /// left: the lock says nobody is writing it, so it is removed and the copy starts over.
    pub fn begin_copy(&self, id: BackupId, _lock: &CollectionLock) -> Result<PendingBackup> {
        let dir = self.dir.join(id.to_string());
        if dir.join(MANIFEST_FILE).exists() {
            return Err(Error::Io {
                action: "creating",
                path: dir.clone(),
                source: std::io::ErrorKind::AlreadyExists.into(),
            });
        }
        if dir.exists() {
            fs::remove_dir_all(&dir).map_err(Error::io("removing an interrupted copy", &dir))?;
        }
        self.pending(id)
    }

    /// Removes backup directories without a manifest: what crashed backups left. Requires
    /// the lock, so no backup is being written. Returns the ids removed.
    pub fn remove_incomplete(&self, _lock: &CollectionLock) -> Result<Vec<BackupId>> {
        let mut removed = Vec::new();
        for (id, dir) in self.backup_dirs()? {
            if !dir.join(MANIFEST_FILE).exists() {
                fs::remove_dir_all(&dir).map_err(Error::io("removing incomplete backup", &dir))?;
                removed.push(id);
            }
        }
        Ok(removed)
    }

    /// Applies the collection's retention rules and pins as of `now`: every backup's
    /// verdict with its manifest, newest first. Unless `dry_run`, removes the backups no rule keeps, newest
    /// first, each with [`Collection::remove_backup`]: a backup goes only after every backup
    /// that builds on it, so a crash at any point leaves every visible backup restorable.
    ///
    /// Refused, with nothing removed, when a backup's manifest cannot be read: it may build
    /// on backups the rules would remove.
    pub fn prune(
        &self,
        now: time::OffsetDateTime,
        dry_run: bool,
        lock: &CollectionLock,
    ) -> Result<Vec<(Verdict, BackupManifest)>> {
        let list = self.backup_list()?;
        if let Some(unreadable) = list.unreadable.into_iter().next() {
            return Err(Error::PruneBlocked {
                collection: self.def.name.clone(),
                backup: unreadable.id,
                cause: Box::new(unreadable.error),
            });
        }
        let backups: Vec<RetainedBackup> = list
            .committed
            .iter()
            .filter_map(|m| {
                Some(RetainedBackup {
                    id: m.id.parse().ok()?,
                    parent: m.parent.as_deref().and_then(|p| p.parse().ok()),
                })
            })
            .collect();
        let pinned: Vec<BackupId> = self
            .def
            .pinned
            .iter()
            .filter_map(|p| p.parse().ok())
            .collect();
        let verdicts = apply_retention(&backups, &self.def.retention, &pinned, now);
        if !dry_run {
            // What an interrupted prune (or backup) left: removed first, so that a prune
            // run again after a kill leaves nothing for VERIFY to report.
            self.remove_incomplete(lock)?;
            for verdict in verdicts.iter().filter(|v| !v.kept()) {
                self.remove_backup(&verdict.id, lock)?;
            }
        }
        let mut manifests: std::collections::HashMap<String, BackupManifest> = list
            .committed
            .into_iter()
            .map(|m| (m.id.clone(), m))
            .collect();
        Ok(verdicts
            .into_iter()
            .filter_map(|v| {
                let manifest = manifests.remove(&v.id.to_string())?;
                Some((v, manifest))
            })
            .collect())
    }

    /// Removes committed backup `id`: its manifest first, so that the backup is invisible
    /// to every reader from then on, then its directory. Requires the lock. A crash in
    /// between leaves an incomplete backup, which the next writer removes.
    ///
    /// The caller removes backups that others build on only after those (retention does).
    pub fn remove_backup(&self, id: &BackupId, _lock: &CollectionLock) -> Result<()> {
        let dir = self.dir.join(id.to_string());
        // Only a directory of the collection's own: never through a symbolic link.
        let is_dir = fs::symlink_metadata(&dir)
            .map_err(Error::io("reading", &dir))?
            .is_dir();
        if !is_dir {
            return Err(Error::Corrupt {
                what: "backup directory",
                path: dir,
                message: "it is not a directory (a symbolic link?); nothing was removed".into(),
            });
        }
        let manifest = dir.join(MANIFEST_FILE);
        fs::remove_file(&manifest).map_err(Error::io("removing", &manifest))?;
        fsync_dir(&dir)?;
        fs::remove_dir_all(&dir).map_err(Error::io("removing backup", &dir))?;
        fsync_dir(&self.dir)
    }

    /// Backup directories (complete or not) with their parsed ids, in id order.
    fn backup_dirs(&self) -> Result<Vec<(BackupId, PathBuf)>> {
        let entries = fs::read_dir(&self.dir).map_err(Error::io("listing", &self.dir))?;
        let mut dirs = Vec::new();
        for entry in entries {
            let entry = entry.map_err(Error::io("listing", &self.dir))?;
            let name = entry.file_name();
            // Only directories: a stray file that happens to have a backup's name is not one.
            if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            if let Some(id) = name.to_str().and_then(|n| n.parse::<BackupId>().ok()) {
                dirs.push((id, entry.path()));
            }
        }
        dirs.sort();
        Ok(dirs)
    }
}

fn read_manifest(path: &Path, def: &CollectionDef, id: &str) -> Result<BackupManifest> {
    let corrupt = |message: String| Error::Corrupt {
        what: "backup manifest",
        path: path.to_path_buf(),
        message,
    };
    let bytes = read_bounded(path, MAX_MANIFEST_BYTES)?;
    let manifest = BackupManifest::decode(&bytes, id).map_err(corrupt)?;
    manifest.check_owner(def).map_err(corrupt)?;
    Ok(manifest)
}

/// The most bytes a manifest or definition may have: far more than any real one (a table
/// takes a few kilobytes), little enough that a forged one cannot exhaust memory.
pub const MAX_MANIFEST_BYTES: u64 = 64 << 20;

/// Reads `path` whole, refusing a file larger than `limit` before reading it.
pub(crate) fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>> {
    use std::io::Read;
    let file = fs::File::open(path).map_err(Error::io("reading", path))?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(Error::io("reading", path))?;
    if bytes.len() as u64 > limit {
        return Err(Error::Corrupt {
            what: "catalog file",
            path: path.to_path_buf(),
            message: format!("it is larger than {} MiB", limit >> 20),
        });
    }
    Ok(bytes)
}

/// A backup being written. Dropped without [`PendingBackup::commit`], its directory is removed.
#[derive(Debug)]
pub struct PendingBackup {
    collection: String,
    collection_id: Option<String>,
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

    /// Absolute path of the data file at `relative` (a manifest's `/`-separated path).
    pub fn file_path(&self, relative: &str) -> PathBuf {
        let mut path = self.dir.clone();
        path.extend(relative.split('/'));
        path
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
            collection_id: self.collection_id.clone(),
            id: self.id.to_string(),
            kind: self.id.kind,
            parent,
            created_at,
            tables,
        };
        write_atomic(&self.dir.join(MANIFEST_FILE), &manifest.encode())?;
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
