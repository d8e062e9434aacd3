//! One backup collection: its definition, its committed backups, and new backups being written.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::crypto::{
    EncryptionSettings, Envelope, Enveloped, KeyEnvironment, KeyError, KeySource, MasterKeys,
    Sealing, SecretKey,
};

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
    /// `ENCRYPTION` and where its key comes from.
    #[serde(default, skip_serializing_if = "EncryptionSettings::is_unset")]
    pub encryption: EncryptionSettings,
    /// An encrypted definition's data key (in memory only; stored wrapped).
    #[serde(skip)]
    pub sealing: Option<Sealing>,
}

/// An encrypted collection's definition as stored: its name, id and key settings in the
/// clear (authenticated as associated data; the key's source must be read before the key
/// exists), the rest sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct SealedDefinition {
    name: String,
    id: String,
    encryption: EncryptionSettings,
    sealed: Envelope,
}

impl Enveloped for SealedDefinition {
    fn envelope_mut(&mut self) -> &mut Envelope {
        &mut self.sealed
    }
}

/// The object name a definition's data key is bound to.
const DEFINITION_OBJECT: &str = "definition";

/// Why a stored definition could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefinitionError {
    /// Damaged or not a definition.
    Corrupt(String),
    /// Encrypted, and its key is not at hand.
    Key(KeyError),
    /// Encrypted, and the key given does not open it (or it was altered).
    WrongKey {
        /// Where the key came from, as the user names it.
        setting: String,
    },
}

impl std::fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DefinitionError::Corrupt(message) => f.write_str(message),
            DefinitionError::Key(error) => write!(f, "{error}"),
            DefinitionError::WrongKey { setting } => write!(
                f,
                "the key from {setting} does not open it: a wrong key, or the definition was altered"
            ),
        }
    }
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
            encryption: EncryptionSettings::default(),
            sealing: None,
        }
    }

    /// The name and id in the public part of a sealed definition, read without the key
    /// (not authenticated: for checks that can be made without it, such as that a
    /// manifest's public part names the same collection). `None` for a plain or unreadable
    /// one.
    pub fn public_identity(bytes: &[u8]) -> Option<(String, String)> {
        if !BackupManifest::is_sealed(bytes) {
            return None;
        }
        let sealed: SealedDefinition = unseal(bytes, |_| true).ok()?;
        Some((sealed.name, sealed.id))
    }

    /// Reads a definition from its JSON (`collection.json`), checking its checksum (which
    /// only definitions from before collection ids may lack). An encrypted one opens only
    /// with its master key, taken from `keys` as its settings say; the key comes back
    /// beside the definition, for its manifests.
    pub fn decode(
        bytes: &[u8],
        keys: &dyn MasterKeys,
    ) -> Result<(CollectionDef, Option<SecretKey>), DefinitionError> {
        if !BackupManifest::is_sealed(bytes) {
            let def: CollectionDef = unseal(bytes, |def: &CollectionDef| def.id.is_some())
                .map_err(DefinitionError::Corrupt)?;
            if def.encryption.enabled() {
                return Err(DefinitionError::Corrupt(
                    "it says the collection is encrypted, yet it is not sealed: a forged or altered definition".into(),
                ));
            }
            return Ok((def, None));
        }
        let sealed: SealedDefinition = unseal(bytes, |_| true).map_err(DefinitionError::Corrupt)?;
        let source = sealed.encryption.key.as_ref().ok_or_else(|| {
            DefinitionError::Corrupt("it is encrypted but names no key source".into())
        })?;
        let master = keys.master_key(source).map_err(DefinitionError::Key)?;
        let wrong = || DefinitionError::WrongKey {
            setting: keys.setting(source),
        };
        let sealing = Sealing::open(&master, &sealed.id, DEFINITION_OBJECT, &sealed.sealed)
            .map_err(|_| wrong())?;
        let contents = sealing
            .open_contents(&sealed.aad(), &sealed.sealed.contents)
            .map_err(|_| wrong())?;
        let mut def: CollectionDef = serde_json::from_slice(&contents)
            .map_err(|e| DefinitionError::Corrupt(e.to_string()))?;
        if def.name != sealed.name
            || def.id.as_deref() != Some(sealed.id.as_str())
            || def.encryption != sealed.encryption
        {
            return Err(DefinitionError::Corrupt(
                "its sealed contents disagree with its public part".into(),
            ));
        }
        def.sealing = Some(sealing);
        Ok((def, Some(master)))
    }

    /// The definition as JSON with its checksum, as stored in `collection.json`; sealed
    /// when the collection is encrypted (which needs its [`CollectionDef::sealing`]).
    pub fn encode(&self) -> Result<Vec<u8>, String> {
        if !self.encryption.enabled() {
            return Ok(seal(self));
        }
        let (Some(sealing), Some(id)) = (&self.sealing, &self.id) else {
            return Err(format!(
                "the definition of encrypted collection `{}` has no data key to seal it with",
                self.name
            ));
        };
        let mut sealed = SealedDefinition {
            name: self.name.clone(),
            id: id.clone(),
            encryption: self.encryption.clone(),
            sealed: Envelope::default(),
        };
        sealed.seal_contents(
            sealing,
            &serde_json::to_vec(self).expect("catalog values serialize"),
        );
        Ok(seal(&sealed))
    }

    /// A new data key for this definition, wrapped by `master` (turning encryption on, or
    /// re-keying). Needs the id.
    pub fn seal_with(&mut self, master: &SecretKey) {
        let id = self.id.get_or_insert_with(new_collection_id).clone();
        self.sealing = Some(Sealing::new(master, &id, DEFINITION_OBJECT));
    }

    /// Refuses a plain (unencrypted) manifest dated after this collection turned encryption
    /// on: every backup taken since is encrypted, so such a manifest is forged or altered.
    /// Of an encrypted collection, only the plain backups it had when encryption was turned
    /// on ([`EncryptionSettings::plain_backups`]) are accepted.
    pub fn check_encryption(&self, manifest: &BackupManifest) -> Result<(), String> {
        if manifest.sealing.is_some()
            || !self.encryption.enabled()
            || self
                .encryption
                .plain_backups
                .iter()
                .any(|pin| pin.pins(manifest))
        {
            return Ok(());
        }
        Err(format!(
            "backup `{}` is not encrypted, yet collection `{}` is, and had no such plain backup when encryption was turned on ({}): a forged or altered manifest",
            manifest.id,
            self.name,
            self.encryption
                .since
                .as_deref()
                .unwrap_or("at its creation")
        ))
    }

    /// Whether `backup`'s data files are checked against pins: it is a plain backup of this
    /// encrypted collection. A caller reading a file anyway can compute its SHA-256 in the
    /// same read only then ([`CollectionDef::check_pinned_file`]).
    pub fn pins_files_of(&self, backup: &BackupManifest) -> bool {
        backup.sealing.is_none() && self.encryption.enabled()
    }

    /// Checks data file `path` of `backup` against its pin, when `backup` is a plain one of
    /// this encrypted collection ([`crate::crypto::PlainBackup`]): its crc32 anyone can make
    /// match, its SHA-256 (given by `sha256`, called only then) no one can. `Ok` without
    /// reading anything otherwise.
    pub fn check_pinned_file(
        &self,
        backup: &BackupManifest,
        path: &str,
        sha256: impl FnOnce() -> std::io::Result<String>,
    ) -> Result<(), String> {
        if !self.pins_files_of(backup) {
            return Ok(());
        }
        let pinned = self
            .encryption
            .plain_backups
            .iter()
            .find(|pin| pin.pins(backup))
            .and_then(|pin| pin.file_sha256(path));
        let Some(pinned) = pinned else {
            return Err(format!(
                "data file `{path}` of plain backup `{}` was not pinned when collection `{}` turned encryption on: a forged or altered backup",
                backup.id, self.name
            ));
        };
        let actual = sha256().map_err(|e| {
            format!(
                "data file `{path}` of backup `{}` cannot be read: {e}",
                backup.id
            )
        })?;
        if actual != pinned {
            return Err(format!(
                "data file `{path}` of plain backup `{}` has SHA-256 {actual}, pinned as {pinned} when collection `{}` turned encryption on: its bytes changed (a crc32 can be made to match, a SHA-256 cannot)",
                backup.id, self.name
            ));
        }
        Ok(())
    }

    /// Whether an encrypted backup may be opened under this definition: always under an
    /// encrypted one (which opened with the key); under a plain one only if it turned
    /// encryption off with the key ([`crate::crypto::TurnedOff`]). A plain definition put in
    /// place of an encrypted one, to have the next backup written in the clear, fails here.
    ///
    /// `bytes` is the encrypted backup's stored manifest: it must be this collection's (by
    /// id) and older than the record, so that neither another collection's record nor an
    /// old plain definition put back after encryption was turned on again passes.
    pub fn check_sealed_allowed(&self, master: &SecretKey, bytes: &[u8]) -> Result<(), String> {
        if self.encryption.enabled() {
            return Ok(());
        }
        let id = self.id.as_deref().unwrap_or_default();
        let public = crate::SealedManifest::decode(bytes)?;
        let taken = public.id.parse::<BackupId>()?.taken_at;
        let off_at = self.encryption.turned_off.as_ref().and_then(|off| {
            time::OffsetDateTime::parse(&off.at, &time::format_description::well_known::Rfc3339)
                .ok()
        });
        match (&self.encryption.turned_off, off_at) {
            (Some(off), Some(at))
                if off.verify(master, id) && public.collection_id == id && taken < at =>
            {
                Ok(())
            }
            _ => Err(format!(
                "the definition of collection `{}` says it is not encrypted, yet it has the encrypted backup `{}`, and it did not turn encryption off with its key after that backup: a forged or altered definition; nothing is read or written under it",
                self.name, public.id
            )),
        }
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
    keys: KeyEnvironment,
    /// The master key, once the definition needed it to open.
    master: Option<SecretKey>,
}

/// The catalog's error for a key problem of collection `collection`.
pub(crate) fn key_error(collection: &str, error: KeyError) -> Error {
    let problem = match error {
        KeyError::Missing(_) => crate::KeyProblem::Missing,
        KeyError::Invalid { .. } => crate::KeyProblem::Invalid,
    };
    Error::Key {
        collection: collection.to_string(),
        problem,
        message: error.to_string(),
    }
}

impl Collection {
    pub(crate) fn load(
        dir: PathBuf,
        name: &str,
        clock: Clock,
        keys: KeyEnvironment,
    ) -> Result<Collection> {
        let path = dir.join(DEFINITION_FILE);
        let bytes = match read_bounded(&path, MAX_MANIFEST_BYTES) {
            Ok(bytes) => bytes,
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::UnknownCollection(name.to_string()));
            }
            Err(e) => return Err(e),
        };
        let (def, master) = CollectionDef::decode(&bytes, &keys).map_err(|e| match e {
            DefinitionError::Corrupt(message) => Error::Corrupt {
                what: "collection definition",
                path,
                message,
            },
            DefinitionError::Key(error) => key_error(name, error),
            DefinitionError::WrongKey { .. } => Error::Key {
                collection: name.to_string(),
                problem: crate::KeyProblem::Wrong,
                message: e.to_string(),
            },
        })?;
        let collection = Collection {
            dir,
            def,
            clock,
            keys,
            master,
        };
        if collection.master.is_none() {
            collection.check_plain_definition()?;
        }
        Ok(collection)
    }

    /// A plain definition beside encrypted backups must have turned encryption off with the
    /// key, after the last of them ([`CollectionDef::check_sealed_allowed`]); else it was put
    /// there by someone without the key (forged, or an old one put back), and nothing is
    /// read or written under it: not even the plain backups, whose pins it would drop.
    fn check_plain_definition(&self) -> Result<()> {
        for (_, dir) in self.backup_dirs()? {
            let path = dir.join(MANIFEST_FILE);
            if !path.exists() {
                continue;
            }
            let bytes = match read_bounded(&path, MAX_MANIFEST_BYTES) {
                Ok(bytes) => bytes,
                // An unreadable manifest is that backup's fault, reported where it is read.
                Err(_) => continue,
            };
            if BackupManifest::is_sealed(&bytes) {
                // Not a key problem but a forged definition: refused as corrupt, so that no
                // caller falls back to reading what it can without the key.
                let forged = |message: String| Error::Corrupt {
                    what: "collection definition",
                    path: self.dir.join(DEFINITION_FILE),
                    message,
                };
                let master = self.master_key().map_err(|e| forged(e.to_string()))?;
                self.def
                    .check_sealed_allowed(&master, &bytes)
                    .map_err(forged)?;
            }
        }
        Ok(())
    }

    /// The collection's master key: the one that opened its definition, else the one its
    /// key settings name (a collection whose encryption was turned off still opens the
    /// encrypted backups taken before).
    pub fn master_key(&self) -> Result<SecretKey> {
        if let Some(master) = &self.master {
            return Ok(master.clone());
        }
        let name = &self.def.name;
        match &self.def.encryption.key {
            Some(source) => self.keys.master_key(source).map_err(|e| key_error(name, e)),
            None => Err(key_error(
                name,
                KeyError::Missing(
                    "it has encrypted backups but names no key: set ENCRYPTION_KEY_FILE with ALTER"
                        .into(),
                ),
            )),
        }
    }

    /// The keys this process was given (the repository's).
    pub fn keys(&self) -> &KeyEnvironment {
        &self.keys
    }
}

/// A collection finds its master key as [`Collection::master_key`] does: a copy of it
/// elsewhere (an export) opens with the same key, whatever its definition names.
impl MasterKeys for Collection {
    fn master_key(&self, source: &KeySource) -> Result<SecretKey, KeyError> {
        match (&self.master, &self.def.encryption.key) {
            (Some(master), _) => Ok(master.clone()),
            (None, Some(own)) => self.keys.master_key(own),
            (None, None) => self.keys.master_key(source),
        }
    }
}

impl Collection {
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
        let bytes = def.encode().map_err(|message| Error::Corrupt {
            what: "collection definition",
            path: self.dir.join(DEFINITION_FILE),
            message,
        })?;
        write_atomic(&self.dir.join(DEFINITION_FILE), &bytes)?;
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
            match self.read_manifest(&path, &id.to_string()) {
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
        self.read_manifest(&path, id)
    }

    /// Reads and checks one manifest: an encrypted one with the collection's key; a plain
    /// one dated after encryption was turned on is refused as forged.
    fn read_manifest(&self, path: &Path, id: &str) -> Result<BackupManifest> {
        let corrupt = |message: String| Error::Corrupt {
            what: "backup manifest",
            path: path.to_path_buf(),
            message,
        };
        let bytes = read_bounded(path, MAX_MANIFEST_BYTES)?;
        let master = match BackupManifest::is_sealed(&bytes) {
            true => {
                let master = self.master_key()?;
                self.def
                    .check_sealed_allowed(&master, &bytes)
                    .map_err(|message| Error::Key {
                        collection: self.def.name.clone(),
                        problem: crate::KeyProblem::Wrong,
                        message,
                    })?;
                Some(master)
            }
            false => None,
        };
        let manifest = BackupManifest::decode(&bytes, id, master.as_ref()).map_err(corrupt)?;
        manifest.check_owner(&self.def).map_err(corrupt)?;
        self.def.check_encryption(&manifest).map_err(corrupt)?;
        Ok(manifest)
    }

    /// Makes `backup` build on `parent` instead of its parent (compaction: the backups that
    /// built on an incremental build on the full backup that replaces it, of the same state).
    /// Its manifest is replaced atomically: a crash leaves the old link or the new one.
    pub fn reparent(
        &self,
        backup: &BackupManifest,
        parent: &str,
        lock: &CollectionLock,
    ) -> Result<BackupManifest> {
        let manifest = BackupManifest {
            parent: Some(parent.to_string()),
            ..backup.clone()
        };
        self.rewrite_manifest(&manifest, lock)?;
        Ok(manifest)
    }

    /// Replaces committed backup `manifest.id`'s manifest with `manifest`, atomically (a
    /// crash leaves the old one or the new one): compaction's re-linking, re-keying.
    pub fn rewrite_manifest(
        &self,
        manifest: &BackupManifest,
        _lock: &CollectionLock,
    ) -> Result<()> {
        let path = self.backup_dir(&manifest.id).join(MANIFEST_FILE);
        if !path.exists() {
            return Err(Error::UnknownBackup {
                collection: self.def.name.clone(),
                id: manifest.id.clone(),
            });
        }
        write_atomic(&path, &manifest.encode())
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
        self.pending(id, self.def.encryption.enabled())
    }

    /// Creates backup `id`'s directory, for a backup not yet committed: with a new data key
    /// when the collection is encrypted (the key is had first, so a missing key writes nothing).
    fn pending(&self, id: BackupId, sealed: bool) -> Result<PendingBackup> {
        let sealing = match sealed {
            true => Some(Sealing::new(
                &self.master_key()?,
                self.def.id.as_deref().unwrap_or_default(),
                &id.to_string(),
            )),
            false => None,
        };
        let dir = self.dir.join(id.to_string());
        // Durably: the collection directory's entry for the backup must survive a crash
        // once the manifest inside it does.
        create_dir_durably(&dir.join(DATA_DIR))?;
        Ok(PendingBackup {
            collection: self.def.name.clone(),
            collection_id: self.def.id.clone(),
            id,
            dir,
            sealing,
            committed: false,
        })
    }

    /// Starts writing a copy of an existing backup under its own `id` (import): it keeps the
    /// copied backup's data key ([`PendingBackup::commit_copy`]). Unlike
    /// [`Collection::begin_backup`] it removes nothing; `id` must not be taken, committed or not.
    ///
    /// A directory of that id without a manifest is what an interrupted copy (or backup)
    /// left: the lock says nobody is writing it, so it is removed and the copy starts over.
    pub fn begin_copy(&self, id: BackupId, lock: &CollectionLock) -> Result<PendingBackup> {
        self.begin_at(id, false, lock)
    }

    /// Starts writing a new backup of the given `id` (compaction's full backup of an
    /// incremental's time), as [`Collection::begin_copy`] does, but with a new data key of
    /// its own if `encrypted` (as the chain it replaces is: a chain never mixes).
    pub fn begin_backup_at(
        &self,
        id: BackupId,
        encrypted: bool,
        lock: &CollectionLock,
    ) -> Result<PendingBackup> {
        self.begin_at(id, encrypted, lock)
    }

    fn begin_at(
        &self,
        id: BackupId,
        sealed: bool,
        _lock: &CollectionLock,
    ) -> Result<PendingBackup> {
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
        self.pending(id, sealed)
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
    sealing: Option<Sealing>,
    committed: bool,
}

impl PendingBackup {
    /// The new backup's id.
    pub fn id(&self) -> BackupId {
        self.id
    }

    /// Where to write `table`'s data file number `part`: `(path relative to the backup, absolute path)`.
    /// An encrypted backup names the file by a keyed hash of the table's name, which
    /// reveals nothing of it.
    pub fn data_file(&self, table: &str, part: usize) -> (String, PathBuf) {
        let stem = match &self.sealing {
            Some(sealing) => {
                let tag = ring::hmac::sign(
                    &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, sealing.key().bytes()),
                    table.as_bytes(),
                );
                tag.as_ref()[..12]
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect()
            }
            None => encode_path_segment(table),
        };
        let file = format!("{stem}.{part}.parquet");
        (
            format!("{DATA_DIR}/{file}"),
            self.dir.join(DATA_DIR).join(file),
        )
    }

    /// The key of data file `relative` when the backup is encrypted.
    pub fn file_key(&self, relative: &str) -> Option<crate::FileKey> {
        let sealing = self.sealing.as_ref()?;
        Some(crate::FileKey::new(
            sealing,
            self.collection_id.as_deref().unwrap_or_default(),
            &self.id.to_string(),
            relative,
        ))
    }

    /// Whether the backup is encrypted.
    pub fn encrypted(&self) -> bool {
        self.sealing.is_some()
    }

    /// Absolute path of the data file at `relative` (a manifest's `/`-separated path).
    pub fn file_path(&self, relative: &str) -> PathBuf {
        let mut path = self.dir.clone();
        path.extend(relative.split('/'));
        path
    }

    /// Commits a copy of backup `of` (import): its parent, tables and data key, the data
    /// files already written under their paths in `of`.
    pub fn commit_copy(mut self, of: &BackupManifest) -> Result<BackupManifest> {
        self.sealing = of.sealing.clone();
        self.commit(of.parent.clone(), of.tables.clone())
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
            sealing: self.sealing.clone(),
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
