//! Verifying a collection where it is stored: every file, every chain link, every manifest.

use std::fmt;

use quiver_catalog::{BackupKind, BackupManifest};
use serde::Serialize;

use crate::check::{listed, mismatch, missing};
use crate::{Inventory, Location, Result};

/// What is wrong with one thing at a location.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// `collection.json` is missing or unreadable.
    Definition,
    /// A manifest cannot be read or trusted.
    Manifest,
    /// A backup directory holds data but no manifest: an interrupted backup or copy, or a
    /// lost manifest.
    MissingManifest,
    /// A data file named by a manifest is not there.
    MissingFile,
    /// A data file's size differs from its manifest's.
    Size,
    /// A data file's crc32 differs from its manifest's.
    Checksum,
    /// A chain cannot be followed back to its full backup.
    Chain,
    /// A table's stored shape changes within a chain.
    Schema,
    /// A table's stored DDL is not what a restore may run (damaged or forged).
    Ddl,
    /// A file that belongs to no backup.
    Leftover,
    /// An encrypted data file that does not decrypt and authenticate with its backup's key
    /// (its crc32 may match: anyone can make it match).
    Authentication,
    /// A data file whose Parquet footer does not read, or holds another number of rows than
    /// its manifest records (its crc32 may match).
    Contents,
}

/// One fault found, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fault {
    /// What kind of fault.
    pub kind: FaultKind,
    /// The backup it is in, if any.
    pub backup: Option<String>,
    /// The object's URL.
    pub url: String,
    /// What exactly is wrong.
    pub message: String,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.url, self.message)
    }
}

/// What a verification read, and what it found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    /// The location's URL.
    pub url: String,
    /// Backups whose files were checked, oldest first.
    pub backups: Vec<String>,
    /// Data files read.
    pub files: usize,
    /// Bytes read.
    pub bytes: u64,
    /// Every fault, in the order found; empty when all is well.
    pub faults: Vec<Fault>,
    /// Objects that are not named as quiver names its files: someone else's, left alone
    /// (by gc too), and no fault of the collection's.
    pub foreign: Vec<String>,
    /// Set when encrypted backups were checked without their key: why, and that only
    /// their ciphertext was checked (sizes, checksums, chain links), not their contents.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contents_unchecked: Option<String>,
}

impl VerifyReport {
    /// True when nothing is wrong.
    pub fn is_ok(&self) -> bool {
        self.faults.is_empty()
    }
}

/// Progress of a verification: bytes read so far of the total to read.
#[derive(Debug, Clone, Copy)]
pub struct VerifyProgress {
    /// Bytes read so far.
    pub done: u64,
    /// Bytes to read in all.
    pub total: u64,
}

/// Checks a table's stored DDL as a restore would before running it (the database adapter's
/// rule, e.g. `quiver_sqlite::check_table_ddl`): `Err` says what is wrong.
pub type DdlCheck<'a> = &'a dyn Fn(&quiver_catalog::TableSchema) -> Result<(), String>;

/// Checks the collection stored at `location`: with `at`, the chain of that backup; else every
/// backup, and also that no file is left over. Every table's DDL is checked by `ddl`. Faults
/// are collected, not returned as errors: `Err` means the location itself could not be read.
pub fn verify(
    location: &Location,
    at: Option<&str>,
    ddl: DdlCheck<'_>,
    keys: &dyn quiver_catalog::crypto::MasterKeys,
    progress: &mut dyn FnMut(VerifyProgress),
) -> Result<VerifyReport> {
    let inventory = Inventory::read(location, keys)?;
    let mut report = VerifyReport {
        url: location.url().to_string(),
        ..VerifyReport::default()
    };
    let fault = |kind, backup: Option<&str>, rel: &str, message: String| Fault {
        kind,
        backup: backup.map(str::to_string),
        url: location.url_of(rel),
        message,
    };
    match &inventory.definition {
        None => report.faults.push(fault(
            FaultKind::Definition,
            None,
            quiver_catalog::DEFINITION_FILE,
            "the collection's definition is missing".into(),
        )),
        // Without the key, an encrypted definition cannot be read, which is not a fault.
        Some(Err(_)) if inventory.locked.is_some() && !inventory.definition_refused => {}
        Some(Err(why)) => report.faults.push(fault(
            FaultKind::Definition,
            None,
            quiver_catalog::DEFINITION_FILE,
            format!("the collection's definition is unreadable: {why}"),
        )),
        Some(Ok(_)) => {}
    }
    // The backups to check: one chain, or all.
    let selected: Vec<&BackupManifest> = match at {
        Some(id) => match inventory.chain(id) {
            Ok(chain) => chain,
            Err(why) => {
                report.faults.push(fault(
                    FaultKind::Chain,
                    Some(id),
                    id,
                    format!("the chain of backup `{id}` is broken: {why}"),
                ));
                inventory.manifest(id).map(|m| vec![m]).unwrap_or_default()
            }
        },
        None => {
            for backup in &inventory.backups {
                let manifest_rel = format!("{}/{}", backup.id, quiver_catalog::MANIFEST_FILE);
                match &backup.manifest {
                    Some(Err(why)) => report.faults.push(fault(
                        FaultKind::Manifest,
                        Some(&backup.id),
                        &manifest_rel,
                        format!("the manifest cannot be used: {why}"),
                    )),
                    None => report.faults.push(fault(
                        FaultKind::MissingManifest,
                        Some(&backup.id),
                        &manifest_rel,
                        "the backup has files but no manifest (an interrupted backup or copy, or a lost manifest)".into(),
                    )),
                    Some(Ok(m)) if m.kind == BackupKind::Incremental => {
                        if let Err(why) = inventory.chain(&m.id) {
                            report.faults.push(fault(
                                FaultKind::Chain,
                                Some(&m.id),
                                &manifest_rel,
                                format!("the chain is broken: {why}"),
                            ));
                        }
                    }
                    Some(Ok(_)) => {}
                }
            }
            inventory.committed().collect()
        }
    };
    check_schemas(&inventory, &selected, &mut |backup, table, message| {
        report.faults.push(fault(
            FaultKind::Schema,
            Some(backup),
            &format!("{backup}/{}", quiver_catalog::MANIFEST_FILE),
            format!("table `{table}`: {message}"),
        ))
    });
    report.contents_unchecked = inventory.locked.as_ref().map(|why| {
        format!("{why}; only the encrypted files' sizes and checksums and the chain links were checked, not their contents (give the key to check everything)")
    });
    for manifest in &selected {
        // A public view (an encrypted backup without its key) has no DDL to check.
        let locked = manifest.tables.iter().all(|t| t.schema.name.is_empty());
        for table in manifest.tables.iter().filter(|_| !locked) {
            if let Err(why) = ddl(&table.schema) {
                report.faults.push(fault(
                    FaultKind::Ddl,
                    Some(&manifest.id),
                    &format!("{}/{}", manifest.id, quiver_catalog::MANIFEST_FILE),
                    why,
                ));
            }
        }
    }
    // Files: presence and size from the listing (cheap), then crc32 of the rest (one read each).
    let mut to_read = Vec::new();
    for manifest in &selected {
        report.backups.push(manifest.id.clone());
        for file in manifest.tables.iter().flat_map(|t| &t.files) {
            let rel = format!("{}/{}", manifest.id, file.path);
            match listed(
                location,
                &rel,
                inventory.objects.get(&rel).copied(),
                file.bytes,
            ) {
                Some(fault) => report.faults.push(fault),
                None => to_read.push((*manifest, file, rel)),
            }
        }
    }
    let definition = inventory.definition.as_ref().and_then(|d| d.as_ref().ok());
    let total = to_read.iter().map(|(_, file, _)| file.bytes).sum();
    for (manifest, file, rel) in to_read {
        // A plain backup of an encrypted collection is also checked against its pinned
        // SHA-256, computed in the same read.
        let mut sha256 = quiver_catalog::crypto::Sha256Writer::default();
        let pinned = definition.filter(|d| d.pins_files_of(manifest));
        let read = match pinned {
            Some(_) => location.download(&rel, &mut sha256),
            None => location.digest(&rel),
        };
        match read {
            Ok(digest) => match mismatch(location, &rel, file.bytes, file.crc32, digest) {
                Some(fault) => report.faults.push(fault),
                None => {
                    let pin = pinned
                        .map(|d| d.check_pinned_file(manifest, &file.path, || Ok(sha256.finish())));
                    if let Some(Err(why)) = pin {
                        report.faults.push(fault(
                            FaultKind::Checksum,
                            Some(&manifest.id),
                            &rel,
                            why,
                        ));
                    }
                }
            },
            Err(crate::Error::NotFound { .. }) => report.faults.push(missing(location, &rel)),
            Err(e) => return Err(e),
        }
        report.files += 1;
        report.bytes += file.bytes;
        progress(VerifyProgress {
            done: report.bytes,
            total,
        });
    }
    if at.is_none() {
        // Files of backups without a manifest are reported once, as that backup's fault.
        let incomplete: Vec<&str> = inventory.incomplete().collect();
        for (rel, size) in inventory.leftovers() {
            let first = rel.split('/').next().unwrap_or_default();
            if !crate::inventory::is_layout_name(rel) {
                // Not a name quiver writes: not its to judge (or to remove).
                report.foreign.push(rel.to_string());
            } else if !incomplete.contains(&first) {
                report.faults.push(fault(
                    FaultKind::Leftover,
                    None,
                    rel,
                    format!("{size} bytes that belong to no backup (`quiver gc` removes them)"),
                ));
            }
        }
    }
    Ok(report)
}

/// Reports each table whose stored shape differs from the previous backup of its chain.
fn check_schemas(
    inventory: &Inventory,
    selected: &[&BackupManifest],
    report: &mut dyn FnMut(&str, &str, String),
) {
    for manifest in selected {
        if manifest.kind != BackupKind::Incremental {
            continue;
        }
        let Some(parent) = manifest
            .parent
            .as_deref()
            .and_then(|p| inventory.manifest(p))
        else {
            continue;
        };
        for table in &manifest.tables {
            if let Some(previous) = parent.table(&table.schema.name)
                && let Some(change) = table.schema.shape_change(&previous.schema)
            {
                report(&manifest.id, &table.schema.name, change);
            }
        }
    }
}
