//! Backup manifests: the commit record of a backup, written last.

use serde::{Deserialize, Serialize};

use crate::sealed::{seal, unseal};
use crate::{BackupId, TableSchema};

/// Version of the manifest format written by this build; readers refuse newer ones.
/// Version 3 added the manifest's checksum and the collection's id; version 2 is still read.
pub const MANIFEST_FORMAT_VERSION: u32 = 3;

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
        self.files.iter().map(|f| f.rows).sum()
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
}

impl BackupManifest {
    /// Rows over all tables.
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(TableBackup::rows).sum()
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
    /// Reads the manifest of backup `id` from its JSON, refusing what quiver cannot trust:
    /// another format version, a different id, ids or parents that are not backup ids, or a
    /// data file path that leaves the backup's directory.
    pub fn decode(bytes: &[u8], id: &str) -> Result<BackupManifest, String> {
        let manifest: BackupManifest = unseal(bytes, |m: &BackupManifest| m.format_version >= 3)?;
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

    /// The manifest as JSON with its checksum, as stored in `manifest.json`.
    pub fn encode(&self) -> Vec<u8> {
        seal(self)
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
