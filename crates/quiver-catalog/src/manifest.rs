//! Backup manifests: the commit record of a backup, written last.

use serde::{Deserialize, Serialize};

use crate::crypto::{Envelope, Enveloped, Sealing, SecretKey};
use crate::sealed::{seal, unseal};
use crate::{BackupId, TableSchema};

/// Version of the manifest format written by this build; readers refuse newer ones.
/// Version 3 added the manifest's checksum and the collection's id; version 2 is still read.
pub const MANIFEST_FORMAT_VERSION: u32 = 3;

/// The format version of an encrypted backup's manifest: the public part (ids, chain link,
/// data files' sizes and checksums) in the clear, the rest sealed ([`SealedManifest`]).
pub const SEALED_MANIFEST_FORMAT_VERSION: u32 = 4;

/// The oldest format version this build reads.
const OLDEST_READABLE_VERSION: u32 = 2;

/// Full or incremental.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackupKind {
    /// A complete copy of every table; starts a chain.
    Full,
    /// The changes since the previous backup of the chain.
    Incremental,
}

impl BackupKind {
    /// The suffix of backup ids of this kind: `full` or `incremental`.
    pub fn suffix(self) -> &'static str {
        match self {
            BackupKind::Full => "full",
            BackupKind::Incremental => "incremental",
        }
    }

    /// The kind named by an id suffix.
    pub fn from_suffix(suffix: &str) -> Option<BackupKind> {
        match suffix {
            "full" => Some(BackupKind::Full),
            "incremental" => Some(BackupKind::Incremental),
            _ => None,
        }
    }
}

/// One data file of a backup, with what is needed to verify it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataFile {
    /// Path relative to the backup directory, `/`-separated.
    pub path: String,
    /// Rows in the file.
    pub rows: u64,
    /// File size in bytes.
    pub bytes: u64,
    /// crc32 (IEEE) of the whole file.
    pub crc32: u32,
}

/// One table's part of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableBackup {
    /// The table's schema at backup time.
    pub schema: TableSchema,
    /// Its data files, in key order. An incremental backup of an unchanged table has none.
    pub files: Vec<DataFile>,
    /// In an incremental backup, what changed since the previous backup of the chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<ChangeCounts>,
}

/// How many rows an incremental backup of a table changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeCounts {
    /// Rows inserted or updated.
    pub upserts: u64,
    /// Rows deleted.
    pub deletes: u64,
}

impl TableBackup {
    /// Rows over all files.
    pub fn rows(&self) -> u64 {
        // Saturating: a forged manifest's counts must not overflow (restore refuses it).
        self.files
            .iter()
            .map(|f| f.rows)
            .fold(0, u64::saturating_add)
    }

    /// Bytes over all files.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }
}

/// The manifest of one committed backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupManifest {
    /// Format version, [`MANIFEST_FORMAT_VERSION`] when written by this build.
    pub format_version: u32,
    /// The collection's name.
    pub collection: String,
    /// The collection's id ([`crate::CollectionDef::id`]); `None` only in format 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection_id: Option<String>,
    /// The backup id (also its directory name).
    pub id: String,
    /// Full or incremental.
    pub kind: BackupKind,
    /// The previous backup of the chain (`None` for a full backup).
    pub parent: Option<String>,
    /// When the backup was taken, RFC 3339 UTC.
    pub created_at: String,
    /// The tables, in collection order.
    pub tables: Vec<TableBackup>,
    /// An encrypted backup's data key (in memory only; stored wrapped): it seals this
    /// manifest and encrypts the backup's data files.
    #[serde(skip)]
    pub sealing: Option<Sealing>,
}

/// The key and AAD prefix of one encrypted data file (Parquet Modular Encryption).
#[derive(Debug, Clone)]
pub struct FileKey {
    /// The backup's data key.
    pub key: SecretKey,
    /// Binds the file to its collection, backup and path: a file moved to another place,
    /// even within one backup, does not decrypt.
    pub aad_prefix: Vec<u8>,
}

impl FileKey {
    /// The key of data file `path` of backup `backup` of collection `collection_id`.
    pub fn new(sealing: &Sealing, collection_id: &str, backup: &str, path: &str) -> FileKey {
        FileKey {
            key: sealing.key().clone(),
            aad_prefix: format!("quiver/1/file/{collection_id}/{backup}/{path}").into_bytes(),
        }
    }
}

/// The manifest of an encrypted backup as stored: what VERIFY needs without the key in
/// the clear (authenticated as associated data), everything else sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedManifest {
    /// [`SEALED_MANIFEST_FORMAT_VERSION`].
    pub format_version: u32,
    /// The collection's name.
    pub collection: String,
    /// The collection's id.
    pub collection_id: String,
    /// The backup id.
    pub id: String,
    /// Full or incremental.
    pub kind: BackupKind,
    /// The previous backup of the chain.
    pub parent: Option<String>,
    /// When the backup was taken.
    pub created_at: String,
    /// Every data file: path (named without the table's name), size, crc32 of the ciphertext.
    pub files: Vec<SealedFile>,
    /// The wrapped data key and the sealed [`BackupManifest`].
    pub sealed: Envelope,
}

/// A data file as a sealed manifest shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedFile {
    /// Path relative to the backup directory.
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// crc32 of the file.
    pub crc32: u32,
}

impl Enveloped for SealedManifest {
    fn envelope_mut(&mut self) -> &mut Envelope {
        &mut self.sealed
    }
}

impl SealedManifest {
    /// Reads the public part of a sealed manifest (checksum checked, nothing authenticated).
    pub fn decode(bytes: &[u8]) -> Result<SealedManifest, String> {
        let sealed: SealedManifest = unseal(bytes, |_| true)?;
        if sealed.format_version != SEALED_MANIFEST_FORMAT_VERSION {
            return Err(format!(
                "format version {} of an encrypted manifest is not supported (this quiver writes {SEALED_MANIFEST_FORMAT_VERSION})",
                sealed.format_version
            ));
        }
        Ok(sealed)
    }

    /// As stored, with its checksum (the checksum anyone can recompute: only the AEAD
    /// authenticates it, which needs the key).
    pub fn encode(&self) -> Vec<u8> {
        seal(self)
    }

    /// Opens the sealed contents with `master`: the data key unwraps only for this
    /// collection and backup id, the contents open only with the public part unaltered,
    /// and the two must agree.
    pub fn open(&self, master: &SecretKey) -> Result<BackupManifest, String> {
        let refused = || {
            format!(
                "backup `{}` does not open with the collection's key: the key is not the one it was encrypted with, or the manifest was altered or moved from another backup",
                self.id
            )
        };
        let sealing = Sealing::open(master, &self.collection_id, &self.id, &self.sealed)
            .map_err(|_| refused())?;
        let contents = sealing
            .open_contents(&self.aad(), &self.sealed.contents)
            .map_err(|_| refused())?;
        let mut manifest: BackupManifest =
            serde_json::from_slice(&contents).map_err(|e| e.to_string())?;
        manifest.sealing = Some(sealing);
        if SealedManifest::of(&manifest)
            .map(|m| SealedManifest {
                sealed: self.sealed.clone(),
                ..m
            })
            .as_ref()
            != Some(self)
        {
            return Err("its sealed contents disagree with its public part".into());
        }
        Ok(manifest)
    }

    /// What can be known of the backup without its key: its ids, chain link and data
    /// files (sizes and checksums), as a manifest of one nameless table without a schema,
    /// with no sealing. Nothing in it is authenticated.
    pub fn public_view(&self) -> BackupManifest {
        let table = TableBackup {
            schema: TableSchema {
                name: String::new(),
                columns: Vec::new(),
                primary_key: Vec::new(),
                stores_rowid: false,
                create_sql: String::new(),
                index_sql: Vec::new(),
                trigger_sql: Vec::new(),
                autoincrement_seq: None,
                dialect: crate::Dialect::Sqlite,
                adapter: None,
            },
            files: self
                .files
                .iter()
                .map(|f| DataFile {
                    path: f.path.clone(),
                    rows: 0,
                    bytes: f.bytes,
                    crc32: f.crc32,
                })
                .collect(),
            changes: None,
        };
        BackupManifest {
            format_version: MANIFEST_FORMAT_VERSION,
            collection: self.collection.clone(),
            collection_id: Some(self.collection_id.clone()),
            id: self.id.clone(),
            kind: self.kind,
            parent: self.parent.clone(),
            created_at: self.created_at.clone(),
            tables: vec![table],
            sealing: None,
        }
    }

    /// The sealed form of `manifest` (which must carry its sealing).
    fn of(manifest: &BackupManifest) -> Option<SealedManifest> {
        let sealing = manifest.sealing.as_ref()?;
        let mut sealed = SealedManifest {
            format_version: SEALED_MANIFEST_FORMAT_VERSION,
            collection: manifest.collection.clone(),
            collection_id: manifest.collection_id.clone().unwrap_or_default(),
            id: manifest.id.clone(),
            kind: manifest.kind,
            parent: manifest.parent.clone(),
            created_at: manifest.created_at.clone(),
            files: manifest
                .tables
                .iter()
                .flat_map(|t| &t.files)
                .map(|f| SealedFile {
                    path: f.path.clone(),
                    bytes: f.bytes,
                    crc32: f.crc32,
                })
                .collect(),
            sealed: Envelope::default(),
        };
        sealed.seal_contents(
            sealing,
            &serde_json::to_vec(manifest).expect("catalog values serialize"),
        );
        Some(sealed)
    }
}

impl BackupManifest {
    /// Rows over all tables.
    pub fn rows(&self) -> u64 {
        self.tables
            .iter()
            .map(TableBackup::rows)
            .fold(0, u64::saturating_add)
    }

    /// Changes over all tables (zero for a full backup).
    pub fn changes(&self) -> ChangeCounts {
        let mut total = ChangeCounts::default();
        for changes in self.tables.iter().filter_map(|t| t.changes) {
            total.upserts += changes.upserts;
            total.deletes += changes.deletes;
        }
        total
    }

    /// Bytes of data files over all tables.
    pub fn bytes(&self) -> u64 {
        self.tables.iter().map(TableBackup::bytes).sum()
    }

    /// The table named `name`, if the backup has it.
    pub fn table(&self, name: &str) -> Option<&TableBackup> {
        self.tables.iter().find(|t| t.schema.name == name)
    }
}

impl BackupManifest {
    /// Whether these stored bytes are an encrypted backup's manifest (which needs the key).
    pub fn is_sealed(bytes: &[u8]) -> bool {
        #[derive(Deserialize)]
        struct Probe {
            sealed: Option<serde::de::IgnoredAny>,
        }
        serde_json::from_slice::<Probe>(bytes).is_ok_and(|p| p.sealed.is_some())
    }

    /// Reads the manifest of backup `id` from its JSON, refusing what quiver cannot trust:
    /// another format version, a different id, ids or parents that are not backup ids, or a
    /// data file path that leaves the backup's directory. An encrypted backup's manifest
    /// opens only with `master`, the collection's key.
    pub fn decode(
        bytes: &[u8],
        id: &str,
        master: Option<&SecretKey>,
    ) -> Result<BackupManifest, String> {
        let manifest = if BackupManifest::is_sealed(bytes) {
            let sealed = SealedManifest::decode(bytes)?;
            let master = master
                .ok_or_else(|| format!("backup `{id}` is encrypted and no key for it was given"))?;
            sealed.open(master)?
        } else {
            unseal(bytes, |m: &BackupManifest| m.format_version >= 3)?
        };
        manifest.checked(id)
    }

    /// What [`SealedManifest::public_view`] shows of the encrypted backup `id` without its
    /// key, checked as [`BackupManifest::decode`] checks a manifest.
    pub fn decode_public(bytes: &[u8], id: &str) -> Result<BackupManifest, String> {
        SealedManifest::decode(bytes)?.public_view().checked(id)
    }

    /// The manifest, if nothing in it is beyond what quiver trusts (see [`BackupManifest::decode`]).
    fn checked(self, id: &str) -> Result<BackupManifest, String> {
        let manifest = self;
        if manifest.format_version >= 3 && manifest.collection_id.is_none() {
            return Err("it names no collection id".into());
        }
        if manifest.format_version > MANIFEST_FORMAT_VERSION {
            return Err(format!(
                "format version {} is newer than this quiver supports ({MANIFEST_FORMAT_VERSION}); upgrade quiver",
                manifest.format_version
            ));
        }
        if manifest.format_version < OLDEST_READABLE_VERSION {
            // Version 1 (before incremental backups) stored no row hashes; nothing was released
            // with it, so it is not read.
            return Err(format!(
                "format version {} was written by a pre-release quiver and is not supported; take a new full backup",
                manifest.format_version
            ));
        }
        if manifest.id != id {
            return Err(format!("it describes backup `{}`, not `{id}`", manifest.id));
        }
        let parsed: BackupId = manifest.id.parse()?;
        if parsed.kind != manifest.kind {
            return Err(format!(
                "backup `{}` says it is {:?}",
                manifest.id, manifest.kind
            ));
        }
        if let Some(parent) = &manifest.parent {
            parent.parse::<BackupId>()?;
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
                return Err(format!(
                    "data file path `{}` points outside the backup",
                    file.path
                ));
            }
        }
        Ok(manifest)
    }

    /// The manifest as JSON with its checksum, as stored in `manifest.json`: sealed when
    /// it carries a data key.
    pub fn encode(&self) -> Vec<u8> {
        match SealedManifest::of(self) {
            Some(sealed) => seal(&sealed),
            None => seal(self),
        }
    }

    /// The key of data file `path` of this backup, when the backup is encrypted.
    pub fn file_key(&self, path: &str) -> Option<FileKey> {
        let sealing = self.sealing.as_ref()?;
        Some(FileKey::new(
            sealing,
            self.collection_id.as_deref().unwrap_or_default(),
            &self.id,
            path,
        ))
    }

    /// Refuses a manifest that belongs to another collection than `def`: another name, or
    /// another collection id.
    pub fn check_owner(&self, def: &crate::CollectionDef) -> Result<(), String> {
        if self.collection != def.name {
            return Err(format!(
                "it describes backup `{}` of `{}`, not of `{}`",
                self.id, self.collection, def.name
            ));
        }
        if !def.owns(self.collection_id.as_deref()) {
            return Err(format!(
                "it is a backup of another collection named `{}` (id {}, this one is {})",
                self.collection,
                self.collection_id.as_deref().unwrap_or("none"),
                def.id.as_deref().unwrap_or("none")
            ));
        }
        Ok(())
    }
}
