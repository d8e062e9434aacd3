//! What a location holds for one collection: its definition, its backups, every object.

use std::collections::{BTreeMap, BTreeSet};

use quiver_catalog::crypto::{MasterKeys, SecretKey};
use quiver_catalog::{
    BackupId, BackupKind, BackupManifest, CollectionDef, DATA_DIR, DEFINITION_FILE,
    DefinitionError, LOCK_FILE, MANIFEST_FILE,
};

use crate::{Location, Result};

/// One backup directory found at a location.
#[derive(Debug, Clone)]
pub struct BackupEntry {
    /// The backup's id (its directory name).
    pub id: String,
    /// Its manifest: `None` when there is none (an interrupted backup or copy, or a lost
    /// manifest), `Some(Err(why))` when it cannot be read or trusted.
    pub manifest: Option<Result<BackupManifest, String>>,
}

/// A listing of one collection's files at a location, with the definition and manifests read.
#[derive(Debug, Clone)]
pub struct Inventory {
    /// Every object, by path relative to the location, with its size.
    pub objects: BTreeMap<String, u64>,
    /// When each object was last written.
    pub modified: BTreeMap<String, std::time::SystemTime>,
    /// `collection.json`: `None` if absent, `Some(Err(why))` if unreadable or refused.
    pub definition: Option<Result<CollectionDef, String>>,
    /// The definition read, but was refused: a plain one beside encrypted backups that did
    /// not turn encryption off with the key after them (a fault even without the key).
    pub definition_refused: bool,
    /// Every backup directory, in id (= time) order.
    pub backups: Vec<BackupEntry>,
    /// Why the contents of encrypted backups could not be read (no key, or a wrong one):
    /// their manifests are then their public views
    /// ([`quiver_catalog::SealedManifest::public_view`]): files, sizes, checksums, links.
    pub locked: Option<String>,
}

/// Whether `rel` is named as quiver names what it writes in a collection's location: a
/// backup's `data/<table>.<n>.parquet`, its manifest, or a temporary file of either.
pub(crate) fn is_layout_name(rel: &str) -> bool {
    let parts: Vec<&str> = rel.split('/').collect();
    let temporary = |name: &str| name.starts_with('.') && name.ends_with(".tmp");
    match parts.as_slice() {
        [id, name] => id.parse::<BackupId>().is_ok() && (*name == MANIFEST_FILE || temporary(name)),
        [id, data, file] => {
            id.parse::<BackupId>().is_ok()
                && *data == DATA_DIR
                && (file.ends_with(".parquet") || temporary(file))
        }
        _ => false,
    }
}

/// Reads a manifest or definition: `Some(Err(why))` when it is too large to be one.
fn read_catalog_file(
    location: &Location,
    rel: &str,
) -> Result<Option<Result<bytes::Bytes, String>>> {
    match location.read(rel) {
        Ok(bytes) => Ok(bytes.map(Ok)),
        Err(too_large @ crate::Error::TooLarge { .. }) => Ok(Some(Err(too_large.to_string()))),
        Err(e) => Err(e),
    }
}

impl Inventory {
    /// Lists `location` and reads its definition and manifests, an encrypted collection's
    /// with the master key `keys` find. A manifest of another collection than the
    /// definition names counts as unreadable.
    pub fn read(location: &Location, keys: &dyn MasterKeys) -> Result<Inventory> {
        let listing = location.list_with_times()?;
        let objects: BTreeMap<String, u64> = listing
            .iter()
            .map(|(rel, (size, _))| (rel.clone(), *size))
            .collect();
        let modified = listing
            .into_iter()
            .map(|(rel, (_, at))| (rel, at))
            .collect();
        let mut locked = None;
        let mut master: Option<SecretKey> = None;
        let mut public_identity = None;
        let definition = read_catalog_file(location, DEFINITION_FILE)?.map(|bytes| {
            let bytes = bytes?;
            match CollectionDef::decode(&bytes, keys) {
                Ok((def, key)) => {
                    master = key.or_else(|| {
                        let source = def.encryption.key.as_ref()?;
                        keys.master_key(source).ok()
                    });
                    Ok(def)
                }
                Err(e @ (DefinitionError::Key(_) | DefinitionError::WrongKey { .. })) => {
                    locked = Some(e.to_string());
                    public_identity = CollectionDef::public_identity(&bytes);
                    Err(e.to_string())
                }
                Err(e) => Err(e.to_string()),
            }
        });
        let ids: BTreeSet<&str> = objects
            .keys()
            .filter_map(|path| path.split_once('/').map(|(first, _)| first))
            .filter(|first| first.parse::<BackupId>().is_ok())
            .collect();
        let owner = match &definition {
            Some(Ok(def)) => Some(def.clone()),
            _ => None,
        };
        // A plain definition beside encrypted backups must have turned encryption off with
        // the key after them; else it is forged (or an old one put back) and not used.
        let mut refused_definition: Option<String> = None;
        let plain_owner = owner.as_ref().filter(|def| !def.encryption.enabled());
        let mut backups = Vec::new();
        for id in ids {
            let path = format!("{id}/{MANIFEST_FILE}");
            let manifest = if objects.contains_key(&path) {
                read_catalog_file(location, &path)?.map(|bytes| {
                    let bytes = bytes?;
                    if BackupManifest::is_sealed(&bytes) && master.is_none() {
                        locked.get_or_insert_with(|| {
                            "the collection's key is not at hand".to_string()
                        });
                        if plain_owner.is_some() {
                            refused_definition.get_or_insert_with(|| {
                                "the definition says the collection is not encrypted, yet it has encrypted backups, and without the key it cannot be checked that it turned encryption off after them: a forged or altered definition".to_string()
                            });
                        }
                        // Without the key, the public parts still must name one collection.
                        let manifest = BackupManifest::decode_public(&bytes, id)?;
                        if let Some((name, collection_id)) = &public_identity
                            && (manifest.collection != *name
                                || manifest.collection_id.as_deref() != Some(collection_id.as_str()))
                        {
                            return Err(format!(
                                "its public part names collection `{}` (id {}), the definition `{name}` (id {collection_id}): a manifest of another collection, or altered",
                                manifest.collection,
                                manifest.collection_id.as_deref().unwrap_or("none")
                            ));
                        }
                        return Ok(manifest);
                    }
                    let sealed = BackupManifest::is_sealed(&bytes);
                    let manifest = BackupManifest::decode(&bytes, id, master.as_ref())?;
                    match &owner {
                        Some(def) => {
                            manifest.check_owner(def)?;
                            def.check_encryption(&manifest)?;
                            if let (true, Some(master)) = (sealed, &master)
                                && let Err(why) = def.check_sealed_allowed(master, &bytes)
                            {
                                refused_definition.get_or_insert_with(|| why.clone());
                                return Err(why);
                            }
                            Ok(manifest)
                        }
                        None => Ok(manifest),
                    }
                })
            } else {
                None
            };
            backups.push(BackupEntry {
                id: id.to_string(),
                manifest,
            });
        }
        backups.sort_by_key(|b| b.id.parse::<BackupId>().ok());
        let definition_refused = refused_definition.is_some();
        let definition = match refused_definition {
            Some(why) => Some(Err(why)),
            None => definition,
        };
        Ok(Inventory {
            objects,
            modified,
            definition,
            definition_refused,
            backups,
            locked,
        })
    }

    /// The readable manifests, oldest first.
    pub fn committed(&self) -> impl Iterator<Item = &BackupManifest> {
        self.backups
            .iter()
            .filter_map(|b| b.manifest.as_ref().and_then(|m| m.as_ref().ok()))
    }

    /// The readable manifest of backup `id`.
    pub fn manifest(&self, id: &str) -> Option<&BackupManifest> {
        self.committed().find(|m| m.id == id)
    }

    /// Backup directories without a manifest.
    pub fn incomplete(&self) -> impl Iterator<Item = &str> {
        self.backups
            .iter()
            .filter(|b| b.manifest.is_none())
            .map(|b| b.id.as_str())
    }

    /// The chain ending at `tip`, full backup first, every link checked (the parent exists
    /// here with a readable manifest, is older, and the walk ends at a full backup).
    pub fn chain(&self, tip: &str) -> Result<Vec<&BackupManifest>, String> {
        let mut chain =
            vec![self.manifest(tip).ok_or_else(|| {
                format!("backup `{tip}` is not here, or has no readable manifest")
            })?];
        loop {
            let last = chain.last().expect("chain is never empty");
            if last.kind == BackupKind::Full {
                break;
            }
            let parent = last
                .parent
                .as_deref()
                .ok_or_else(|| format!("incremental backup `{}` names no parent", last.id))?;
            if parent >= last.id.as_str() {
                return Err(format!(
                    "backup `{}` names a parent `{parent}` that is not older",
                    last.id
                ));
            }
            let found = self.manifest(parent).ok_or_else(|| {
                let state = match self.backups.iter().find(|b| b.id == parent) {
                    Some(BackupEntry { manifest: None, .. }) => "has no manifest",
                    Some(_) => "has an unreadable manifest",
                    None => "is missing",
                };
                format!("backup `{parent}`, the parent of `{}`, {state}", last.id)
            })?;
            chain.push(found);
        }
        chain.reverse();
        Ok(chain)
    }

    /// Objects that belong to no committed backup, nor to the collection itself: leftovers of
    /// interrupted backups or copies (and, if a manifest was lost, the data it described).
    /// Files of backups whose manifest is unreadable are not counted: they may be all right.
    pub fn leftovers(&self) -> Vec<(&str, u64)> {
        let mut owned: BTreeSet<String> = [DEFINITION_FILE, LOCK_FILE]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut unreadable = BTreeSet::new();
        for backup in &self.backups {
            match &backup.manifest {
                Some(Ok(manifest)) => {
                    owned.insert(format!("{}/{MANIFEST_FILE}", manifest.id));
                    for file in manifest.tables.iter().flat_map(|t| &t.files) {
                        owned.insert(format!("{}/{}", manifest.id, file.path));
                    }
                }
                Some(Err(_)) => {
                    unreadable.insert(backup.id.as_str());
                }
                None => {}
            }
        }
        self.objects
            .iter()
            .filter(|(path, _)| !owned.contains(*path))
            .filter(|(path, _)| {
                let first = path.split('/').next().unwrap_or_default();
                !unreadable.contains(first)
            })
            .map(|(path, size)| (path.as_str(), *size))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use quiver_catalog::{MANIFEST_FORMAT_VERSION, StorageKind};

    use super::*;
    use crate::{FaultKind, verify};
    use quiver_catalog::crypto::KeyEnvironment;

    fn manifest(id: &str, parent: Option<&str>) -> Vec<u8> {
        let kind = if parent.is_some() {
            BackupKind::Incremental
        } else {
            BackupKind::Full
        };
        BackupManifest {
            format_version: MANIFEST_FORMAT_VERSION,
            collection: "c".into(),
            collection_id: Some("id-of-c".into()),
            id: id.into(),
            kind,
            parent: parent.map(str::to_string),
            created_at: String::new(),
            tables: vec![],
            sealing: None,
        }
        .encode()
    }

    #[test]
    fn only_quiver_names_are_layout_names() {
        let id = "20261125T151429.123Z_full";
        for ok in [
            format!("{id}/manifest.json"),
            format!("{id}/.manifest.json.12-0.tmp"),
            format!("{id}/data/t.0.parquet"),
        ] {
            assert!(is_layout_name(&ok), "{ok}");
        }
        for not in [
            "notes.txt".to_string(),
            "collection.json".into(),
            format!("{id}/data/evil.sh"),
            format!("{id}/other/t.0.parquet"),
            "photos/t.0.parquet".into(),
            format!("{id}/data/deep/t.0.parquet"),
        ] {
            assert!(!is_layout_name(&not), "{not}");
        }
    }

    #[test]
    fn chains_incomplete_backups_and_leftovers_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let at = Location::local_dir(dir.path()).unwrap();
        let def = CollectionDef {
            id: Some("id-of-c".into()),
            ..CollectionDef::new("c", vec!["t".into()], StorageKind::Cluster, true)
        };
        at.put(DEFINITION_FILE, def.encode().unwrap()).unwrap();
        let full = "20261125T100000.000Z_full";
        let inc = "20261125T110000.000Z_incremental";
        let orphan_parent = "20261125T115000.000Z_full";
        let broken = "20261125T120000.000Z_incremental";
        at.put(&format!("{full}/{MANIFEST_FILE}"), manifest(full, None))
            .unwrap();
        at.put(&format!("{inc}/{MANIFEST_FILE}"), manifest(inc, Some(full)))
            .unwrap();
        at.put(
            &format!("{broken}/{MANIFEST_FILE}"),
            manifest(broken, Some(orphan_parent)),
        )
        .unwrap();
        // What an interrupted backup leaves: data, no manifest; and a stray file.
        at.put(
            &format!("{orphan_parent}/data/t.0.parquet"),
            b"half".to_vec(),
        )
        .unwrap();
        at.put("stray.tmp", b"x".to_vec()).unwrap();
        // A data file of a committed backup that its manifest does not claim.
        at.put(&format!("{full}/data/old.0.parquet"), b"old".to_vec())
            .unwrap();

        let inventory = Inventory::read(&at, &KeyEnvironment::default()).unwrap();
        assert_eq!(inventory.committed().count(), 3);
        let chain: Vec<&str> = inventory
            .chain(inc)
            .unwrap()
            .iter()
            .map(|m| m.id.as_str())
            .collect();
        assert_eq!(chain, [full, inc]);
        let err = inventory.chain(broken).unwrap_err();
        assert!(
            err.contains(&format!("`{orphan_parent}`")) && err.contains("has no manifest"),
            "{err}"
        );
        assert_eq!(inventory.incomplete().collect::<Vec<_>>(), [orphan_parent]);
        let leftovers: Vec<&str> = inventory.leftovers().iter().map(|(p, _)| *p).collect();
        assert_eq!(
            leftovers,
            [
                format!("{full}/data/old.0.parquet").as_str(),
                format!("{orphan_parent}/data/t.0.parquet").as_str(),
                "stray.tmp"
            ]
        );

        // verify names each fault once: the broken link, the backup without a manifest (not
        // its files again), the unclaimed data file; the stray file is not quiver's.
        let report = verify(
            &at,
            None,
            &|_| Ok(()),
            &KeyEnvironment::default(),
            &mut |_| {},
        )
        .unwrap();
        let kinds: Vec<FaultKind> = report.faults.iter().map(|f| f.kind).collect();
        assert_eq!(
            kinds,
            [
                FaultKind::MissingManifest,
                FaultKind::Chain,
                FaultKind::Leftover
            ],
            "{:#?}",
            report.faults
        );
        assert_eq!(report.foreign, ["stray.tmp"]);
        // The chain of a sound backup verifies on its own.
        assert!(
            verify(
                &at,
                Some(inc),
                &|_| Ok(()),
                &KeyEnvironment::default(),
                &mut |_| {}
            )
            .unwrap()
            .is_ok()
        );
    }
}
