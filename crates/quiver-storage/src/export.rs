//! Copying a collection's backups to another location, verified, manifests last.

use quiver_catalog::{BackupManifest, CollectionDef, DEFINITION_FILE, MANIFEST_FILE};
use serde::Serialize;

use crate::check::{fault, mismatch};
use crate::{Error, FaultKind, Inventory, Location, Result};

/// Progress of a copy between locations.
#[derive(Debug, Clone)]
pub struct CopyProgress {
    /// The file being copied or checked, relative to its collection's root.
    pub file: String,
    /// Bytes copied or checked so far.
    pub done: u64,
    /// Bytes to copy and check in all.
    pub total: u64,
}

/// What an export or import did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CopyReport {
    /// Where the backups went.
    pub url: String,
    /// Backups copied by this run, oldest first.
    pub copied: Vec<String>,
    /// Backups that were already there, identical, and were skipped.
    pub present: Vec<String>,
    /// Data files copied by this run.
    pub files: usize,
    /// Bytes copied by this run.
    pub bytes: u64,
}

/// A collection for messages: its name, and its id where it has one.
pub(crate) fn describe(def: &CollectionDef) -> String {
    match &def.id {
        Some(id) => format!("collection `{}` (id {id})", def.name),
        None => format!("collection `{}`", def.name),
    }
}

/// Copies `backups` (manifests of the collection `def`, oldest first, stored at `source`) to
/// `target`. Data files of every backup go first, each checked against its manifest as it is
/// read, then read back from the target and checked again; only then are the manifests put,
/// oldest first, each with a put-if-absent. Backups the target already holds identically are
/// skipped; files already there with the right size are checked, not copied again.
pub fn export(
    source: &Location,
    def: &CollectionDef,
    backups: &[BackupManifest],
    target: &Location,
    keys: &dyn quiver_catalog::crypto::MasterKeys,
    progress: &mut dyn FnMut(&CopyProgress),
) -> Result<CopyReport> {
    let existing = Inventory::read(target, keys)?;
    match &existing.definition {
        Some(Ok(there)) if there.name != def.name || !def.owns(there.id.as_deref()) => {
            return Err(Error::Refused {
                message: format!(
                    "{} holds the backups of {}, not of {}",
                    target.url(),
                    describe(there),
                    describe(def)
                ),
                hint: Some("export each collection to a location of its own".into()),
            });
        }
        Some(Err(why)) => {
            return Err(Error::Refused {
                message: format!(
                    "{} has an unreadable {DEFINITION_FILE}: {why}",
                    target.url()
                ),
                hint: Some("export to an empty location, or repair that one".into()),
            });
        }
        _ => {}
    }
    let mut report = CopyReport {
        url: target.url().to_string(),
        ..CopyReport::default()
    };
    let mut pending = Vec::new();
    for manifest in backups {
        let there = existing.backups.iter().find(|b| b.id == manifest.id);
        match there.and_then(|b| b.manifest.as_ref()) {
            Some(Ok(there)) if there == manifest => report.present.push(manifest.id.clone()),
            Some(_) => {
                return Err(Error::Refused {
                    message: format!(
                        "{} already holds a different backup `{}`",
                        target.url(),
                        manifest.id
                    ),
                    hint: Some(
                        "export to another location; `quiver verify <url>` shows what is there"
                            .into(),
                    ),
                });
            }
            None => pending.push(manifest),
        }
    }
    let copied = exported_definition(def);
    let encoded = copied.encode().map_err(|message| Error::Refused {
        message,
        hint: None,
    })?;
    target.put(DEFINITION_FILE, encoded)?;

    // Data first: copy what is missing, then read every file of the pending backups back.
    let files: Vec<(String, u64, u32)> = pending
        .iter()
        .flat_map(|m| {
            m.tables
                .iter()
                .flat_map(|t| &t.files)
                .map(|f| (format!("{}/{}", m.id, f.path), f.bytes, f.crc32))
        })
        .collect();
    // A plain backup of an encrypted collection is read back with its pinned SHA-256 too.
    let pinned_file = |rel: &str| -> Option<&BackupManifest> {
        let id = rel.split_once('/')?.0;
        let manifest = pending.iter().find(|m| m.id == id)?;
        def.pins_files_of(manifest).then_some(*manifest)
    };
    let total = files
        .iter()
        .map(|(rel, bytes, _)| {
            bytes
                * if existing.objects.contains_key(rel) {
                    1
                } else {
                    2
                }
        })
        .sum();
    let mut done = 0;
    let mut faults = Vec::new();
    for (rel, bytes, crc32) in &files {
        // Write-once: an object already there is never replaced. Its copy from an earlier
        // run is checked below with the others; another writer's is a fault there.
        if existing.objects.contains_key(rel) {
            continue;
        }
        progress(&CopyProgress {
            file: rel.clone(),
            done,
            total,
        });
        let Some(read) = source.copy_to(rel, target, rel)? else {
            // Another writer put it meanwhile: the read-back check below judges it.
            done += bytes;
            continue;
        };
        if let Some(fault) = mismatch(source, rel, *bytes, *crc32, read) {
            // The source is damaged: what was copied of it must not stay behind.
            target.delete(rel)?;
            faults.push(fault);
        } else {
            report.files += 1;
            report.bytes += bytes;
        }
        done += bytes;
    }
    if !faults.is_empty() {
        return Err(Error::Faults {
            what: "the backups to export are damaged".into(),
            faults,
        });
    }
    for (rel, bytes, crc32) in &files {
        progress(&CopyProgress {
            file: rel.clone(),
            done,
            total,
        });
        let mut sha256 = quiver_catalog::crypto::Sha256Writer::default();
        let pinned = pinned_file(rel);
        let written = match pinned {
            Some(_) => target.download(rel, &mut sha256)?,
            None => target.digest(rel)?,
        };
        match (mismatch(target, rel, *bytes, *crc32, written), pinned) {
            (Some(fault), _) => faults.push(fault),
            (None, Some(manifest)) => {
                let path = rel.split_once('/').map_or(rel.as_str(), |(_, path)| path);
                if let Err(why) = def.check_pinned_file(manifest, path, || Ok(sha256.finish())) {
                    faults.push(fault(target, rel, FaultKind::Checksum, why));
                }
            }
            (None, None) => {}
        }
        done += bytes;
    }
    if !faults.is_empty() {
        return Err(Error::Faults {
            what: format!("the copies at {} do not match", target.url()),
            faults,
        });
    }
    // Manifests last, oldest first: a parent is always committed before its children.
    for manifest in pending {
        let rel = format!("{}/{MANIFEST_FILE}", manifest.id);
        if !target.put_if_absent(&rel, manifest.encode())? {
            let there = target.read(&rel)?.map(|bytes| {
                let master = match (&manifest.sealing, &def.encryption.key) {
                    (None, _) => None,
                    (Some(_), Some(source)) => {
                        Some(keys.master_key(source).map_err(|e| e.to_string())?)
                    }
                    (Some(_), None) => return Err("the collection names no key".to_string()),
                };
                BackupManifest::decode(&bytes, &manifest.id, master.as_ref())
            });
            if there != Some(Ok(manifest.clone())) {
                return Err(Error::Refused {
                    message: format!(
                        "another writer committed a different backup `{}` at {} meanwhile",
                        manifest.id,
                        target.url()
                    ),
                    hint: None,
                });
            }
        }
        report.copied.push(manifest.id.clone());
    }
    Ok(report)
}

/// The definition as a location keeps it: naming no storage, since where the source keeps
/// its backups is the source's business (and an old definition's URL might hold credentials).
pub fn exported_definition(def: &CollectionDef) -> CollectionDef {
    CollectionDef {
        storage: quiver_catalog::StorageKind::Cluster,
        ..def.clone()
    }
}
