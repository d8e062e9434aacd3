//! Bringing a collection's backups from a location into a repository, verified.

use std::fs::File;
use std::io::BufWriter;

use quiver_catalog::{
    BackupId, BackupManifest, Collection, CollectionDef, CollectionLock, PendingBackup, Repository,
    StorageKind,
};

use crate::check::{fault, listed, mismatch};
use crate::{CopyProgress, CopyReport, Error, Fault, FaultKind, Inventory, Location, Result};

/// Imports the collection stored at `source` into `repo` as collection `name`: every backup,
/// or with `tip` the chain ending at that backup. The collection is created if needed (with
/// the exported definition, renamed); backups it already holds identically are skipped.
///
/// Nothing is imported unless everything selected is sound: the chains are checked first
/// (a missing parent or a gap is refused), then every file's presence and size, then each
/// file's crc32 as it is copied. Manifests are committed last, oldest first. On any fault
/// the repository is left as it was.
pub fn import(
    source: &Location,
    repo: &Repository,
    name: &str,
    tip: Option<&str>,
    progress: &mut dyn FnMut(&CopyProgress),
) -> Result<CopyReport> {
    let existing = repo.collection(name);
    let (inventory, def) = match &existing {
        Ok(collection) => read_export(source, collection)?,
        Err(_) => read_export(source, repo.keys())?,
    };
    let selected = select(&inventory, source, tip)?;
    check_files(&inventory, source, &selected)?;
    let (collection, created) = match existing {
        Ok(collection) => (adopt(collection, &def, source)?, false),
        Err(quiver_catalog::Error::UnknownCollection(_)) => {
            let local = CollectionDef {
                name: name.to_string(),
                storage: StorageKind::Cluster,
                ..def.clone()
            };
            (repo.create_collection(&local)?, true)
        }
        Err(e) => return Err(e.into()),
    };
    let result = collection
        .lock()
        .map_err(Error::from)
        .and_then(|lock| copy_in(source, &selected, &collection, &lock, progress));
    if result.is_err() && created {
        // The collection was made for this import: leave nothing behind.
        let _ = repo.drop_collection(name);
    }
    result
}

/// Like [`import`], into an existing `collection` whose lock the caller holds: how a
/// collection kept in external storage fetches the backups its repository lacks. With
/// `tip`, only that backup's chain; else every backup at `source`.
pub fn import_into(
    source: &Location,
    collection: &Collection,
    lock: &CollectionLock,
    tip: Option<&str>,
    progress: &mut dyn FnMut(&CopyProgress),
) -> Result<CopyReport> {
    let (inventory, def) = read_export(source, collection)?;
    same_collection(collection.def(), &def, source)?;
    let selected = select(&inventory, source, tip)?;
    check_files(&inventory, source, &selected)?;
    copy_in(source, &selected, collection, lock, progress)
}

/// Refuses to bring backups of another collection (another id) into `local`.
fn same_collection(local: &CollectionDef, there: &CollectionDef, source: &Location) -> Result<()> {
    if local.owns(there.id.as_deref()) {
        return Ok(());
    }
    Err(Error::Refused {
        message: format!(
            "{} holds the backups of {}, not of {}",
            source.url(),
            crate::export::describe(there),
            crate::export::describe(local)
        ),
        hint: Some(
            "import it under another name (`quiver import --from <url> --as <new name>`), or point this collection at its own location".into(),
        ),
    })
}

/// An existing collection that an import adds to: it must be the exported one (same id);
/// one from before ids takes the exported id, so that the imported manifests are its own.
fn adopt(collection: Collection, there: &CollectionDef, source: &Location) -> Result<Collection> {
    same_collection(collection.def(), there, source)?;
    if collection.def().id.is_some() || there.id.is_none() {
        return Ok(collection);
    }
    let mut collection = collection;
    let lock = collection.lock()?;
    let def = CollectionDef {
        id: there.id.clone(),
        ..collection.def().clone()
    };
    collection.save_def(def, &lock)?;
    Ok(collection)
}

/// The inventory at `source`, which must hold a collection's definition.
fn read_export(
    source: &Location,
    keys: &dyn quiver_catalog::crypto::MasterKeys,
) -> Result<(Inventory, CollectionDef)> {
    let inventory = Inventory::read(source, keys)?;
    if let Some(why) = &inventory.locked {
        return Err(Error::Refused {
            message: format!(
                "the backups at {} are encrypted and cannot be opened: {why}; nothing was imported",
                source.url()
            ),
            hint: Some("give the collection's key: ENCRYPTION_KEY_FILE's file, QUIVER_ENCRYPTION_KEY or QUIVER_PASSPHRASE".into()),
        });
    }
    let not_export = |why: String| Error::Refused {
        message: format!("{} is not a quiver export: {why}", source.url()),
        hint: Some(
            "give the URL an export went to (`quiver export <collection> --to <url>`)".into(),
        ),
    };
    let def = match &inventory.definition {
        Some(Ok(def)) => def.clone(),
        Some(Err(why)) => return Err(not_export(format!("collection.json is unreadable: {why}"))),
        None => return Err(not_export("it has no collection.json".into())),
    };
    Ok((inventory, def))
}

/// Presence and size of every file, from the listing, before anything is copied.
fn check_files(
    inventory: &Inventory,
    source: &Location,
    selected: &[&BackupManifest],
) -> Result<()> {
    let mut faults = Vec::new();
    for manifest in selected {
        for file in manifest.tables.iter().flat_map(|t| &t.files) {
            let rel = format!("{}/{}", manifest.id, file.path);
            faults.extend(listed(
                source,
                &rel,
                inventory.objects.get(&rel).copied(),
                file.bytes,
            ));
        }
    }
    if faults.is_empty() {
        Ok(())
    } else {
        Err(Error::Faults {
            what: format!("the backups at {} are damaged", source.url()),
            faults,
        })
    }
}

/// Copies the `selected` backups the collection lacks, checking each file's crc32, and
/// commits them oldest first once all are in; on a fault, nothing is committed.
fn copy_in(
    source: &Location,
    selected: &[&BackupManifest],
    collection: &Collection,
    lock: &CollectionLock,
    progress: &mut dyn FnMut(&CopyProgress),
) -> Result<CopyReport> {
    let name = &collection.def().name;
    let mut report = CopyReport {
        url: collection.dir().display().to_string(),
        ..CopyReport::default()
    };
    let mut pending: Vec<(&BackupManifest, PendingBackup)> = Vec::new();
    let local = collection.backups()?;
    for &manifest in selected {
        collection
            .def()
            .check_encryption(manifest)
            .map_err(|message| Error::Refused {
                message: format!("{message}; nothing was imported"),
                hint: None,
            })?;
        match local.iter().find(|m| m.id == manifest.id) {
            Some(there) if same_backup(there, manifest) => {
                report.present.push(manifest.id.clone());
            }
            Some(_) => {
                return Err(Error::Refused {
                    message: format!(
                        "collection `{name}` already holds a different backup `{}`",
                        manifest.id
                    ),
                    hint: Some("import under another name (--as)".into()),
                });
            }
            None => {
                let id: BackupId = manifest.id.parse().map_err(|why: String| Error::Refused {
                    message: why,
                    hint: None,
                })?;
                pending.push((manifest, collection.begin_copy(id, lock)?));
            }
        }
    }
    let total = pending
        .iter()
        .flat_map(|(m, _)| m.tables.iter().flat_map(|t| &t.files))
        .map(|f| f.bytes)
        .sum();
    let mut done = 0;
    let mut faults = Vec::new();
    for (manifest, backup) in &pending {
        for file in manifest.tables.iter().flat_map(|t| &t.files) {
            let rel = format!("{}/{}", manifest.id, file.path);
            progress(&CopyProgress {
                file: rel.clone(),
                done,
                total,
            });
            let digest = download(source, &rel, backup, &file.path)?;
            match mismatch(source, &rel, file.bytes, file.crc32, digest) {
                Some(fault) => faults.push(fault),
                None => {
                    let local = backup.file_path(&file.path);
                    let pinned = collection
                        .def()
                        .check_pinned_file(manifest, &file.path, || {
                            quiver_catalog::crypto::sha256_of_file(&local)
                        });
                    if let Err(why) = pinned {
                        faults.push(fault(source, &rel, FaultKind::Checksum, why));
                    }
                }
            }
            done += file.bytes;
            report.files += 1;
            report.bytes += file.bytes;
        }
    }
    if !faults.is_empty() {
        // Dropping the pending backups removes everything copied.
        return Err(Error::Faults {
            what: format!("the backups at {} are damaged", source.url()),
            faults,
        });
    }
    for (manifest, backup) in pending {
        backup.commit_copy(manifest)?;
        report.copied.push(manifest.id.clone());
    }
    Ok(report)
}

/// The manifests to import, oldest first, with every chain checked.
fn select<'a>(
    inventory: &'a Inventory,
    source: &Location,
    tip: Option<&str>,
) -> Result<Vec<&'a BackupManifest>> {
    let broken = |why: String| Error::Refused {
        message: format!("importing from {} would break a chain: {why}", source.url()),
        hint: Some(
            "`quiver verify <url>` lists every fault there; re-run the export to complete it"
                .into(),
        ),
    };
    if let Some(tip) = tip {
        return inventory.chain(tip).map_err(broken);
    }
    let mut faults = Vec::new();
    for backup in &inventory.backups {
        let rel = format!("{}/{}", backup.id, quiver_catalog::MANIFEST_FILE);
        let fault = |kind, message: String| Fault {
            kind,
            backup: Some(backup.id.clone()),
            url: source.url_of(&rel),
            message,
        };
        match &backup.manifest {
            None => faults.push(fault(
                FaultKind::MissingManifest,
                "the backup has files but no manifest (an interrupted export, or a lost manifest)"
                    .into(),
            )),
            Some(Err(why)) => faults.push(fault(
                FaultKind::Manifest,
                format!("the manifest cannot be used: {why}"),
            )),
            Some(Ok(_)) => {}
        }
    }
    if !faults.is_empty() {
        return Err(Error::Faults {
            what: format!(
                "the backups at {} are damaged (--backup <id> imports one sound chain)",
                source.url()
            ),
            faults,
        });
    }
    for manifest in inventory.committed() {
        inventory.chain(&manifest.id).map_err(broken)?;
    }
    let selected: Vec<&BackupManifest> = inventory.committed().collect();
    if selected.is_empty() {
        return Err(Error::Refused {
            message: format!("{} holds no backups", source.url()),
            hint: None,
        });
    }
    Ok(selected)
}

/// Two manifests of one backup, in collections of possibly different names.
fn same_backup(a: &BackupManifest, b: &BackupManifest) -> bool {
    let renamed = BackupManifest {
        collection: a.collection.clone(),
        ..b.clone()
    };
    *a == renamed
}

/// Copies the object at `rel` into `backup`'s file `path`, durably, returning its digest.
fn download(
    source: &Location,
    rel: &str,
    backup: &PendingBackup,
    path: &str,
) -> Result<crate::Digest> {
    let local = backup.file_path(path);
    let io = |action: &'static str| {
        let local = local.clone();
        move |source| Error::Io {
            action,
            path: local,
            source,
        }
    };
    if let Some(dir) = local.parent() {
        std::fs::create_dir_all(dir).map_err(io("creating"))?;
    }
    let file = File::create(&local).map_err(io("creating"))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let digest = source.download(rel, &mut out)?;
    let file = out
        .into_inner()
        .map_err(|e| io("writing")(e.into_error()))?;
    file.sync_all().map_err(io("syncing"))?;
    Ok(digest)
}
