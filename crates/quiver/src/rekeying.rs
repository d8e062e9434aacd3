//! `quiver rekey`: a collection's data keys wrapped by a new master key, in the repository
//! and at its external location, without rewriting a data file.
//!
//! Crash-safe in three steps: every manifest gets the data key wrapped by both keys; then
//! the definition names the new key; then every manifest drops the old wrapping. Killed at
//! any point, every backup opens with the key the definition names at that point.

use quiver_catalog::crypto::{KeySource, SecretKey, read_key_file};
use quiver_catalog::{
    BackupManifest, Collection, CollectionLock, DEFINITION_FILE, MANIFEST_FILE, Repository,
};
use quiver_storage::{Inventory, Location};

use crate::error::ExecError;

/// What a re-keying did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rekeyed {
    /// The collection.
    pub collection: String,
    /// Encrypted backups re-wrapped in the repository.
    pub backups: usize,
    /// The external location, with the encrypted backups re-wrapped there.
    pub external: Option<(String, usize)>,
    /// The new key's fingerprint (not secret).
    pub fingerprint: String,
}

/// Wraps every data key of collection `name` by the key in `new_key_file` and makes the
/// definition take its key from there; the old key stops opening the collection.
pub fn rekey(repo: &Repository, name: &str, new_key_file: &str) -> Result<Rekeyed, ExecError> {
    // What a killed run (or backup) left, temporary manifests among it, goes first: a
    // re-keying run again after a kill leaves nothing for VERIFY to report.
    crate::stored::gc(repo, name, false)?;
    let mut collection = repo.collection(name)?;
    let lock = collection.lock()?;
    if collection.def().encryption.key.is_none() {
        return Err(ExecError::refused(
            format!("backup collection `{name}` is not encrypted: it has no key to change"),
            Some(format!(
                "ALTER BACKUP COLLECTION {} SET (ENCRYPTION = 'aes-256-gcm', ENCRYPTION_KEY_FILE = '{new_key_file}') encrypts its next backups",
                quiver_grammar::quote_ident(name)
            )),
        ));
    }
    let old = collection.master_key()?;
    let new_key_file = &crate::encryption::absolute(new_key_file)?;
    let new = read_key_file(std::path::Path::new(new_key_file))
        .map_err(|e| ExecError::refused(e.to_string(), None))?;
    let list = collection.backup_list()?;
    // The same key again finishes a re-keying that was interrupted after the definition
    // switched: the old wrappings still there go.
    if let Some(unreadable) = list.unreadable.first() {
        return Err(ExecError::refused(
            format!(
                "backup collection `{name}` was not re-keyed (nothing changed): backup `{}` cannot be read ({}), and a backup left with the old key would be lost with it",
                unreadable.id, unreadable.error
            ),
            Some(format!(
                "VERIFY {} says what is wrong",
                quiver_grammar::quote_ident(name)
            )),
        ));
    }
    let location = crate::external::location(&collection)?;
    let remote = match &location {
        Some(location) => remote_backups(location, &collection)?,
        None => Vec::new(),
    };
    // At either place.
    let unfinished = list
        .committed
        .iter()
        .chain(&remote)
        .any(|m| m.sealing.as_ref().is_some_and(|s| s.has_previous()));
    if new == old && !unfinished {
        return Err(ExecError::refused(
            format!("the key in {new_key_file} is already the key of backup collection `{name}`"),
            None,
        ));
    }
    let id = collection.def().id.clone().unwrap_or_default();
    // One re-wrapping per backup, so that the repository's and the location's copies of a
    // backup stay identical.
    let mut rewrapped = std::collections::BTreeMap::new();
    for manifest in list.committed.iter().chain(&remote) {
        if let Some(sealing) = &manifest.sealing {
            rewrapped.entry(manifest.id.clone()).or_insert_with(|| {
                if new == old {
                    sealing.clone()
                } else {
                    sealing.rewrapped(&new, &id, &manifest.id)
                }
            });
        }
    }
    let with = |manifest: &BackupManifest, last: bool| {
        let sealing = rewrapped.get(&manifest.id)?;
        Some(BackupManifest {
            sealing: Some(if last {
                sealing.without_previous()
            } else {
                sealing.clone()
            }),
            ..manifest.clone()
        })
    };
    for last in [false, true] {
        if last {
            switch_definition(
                &mut collection,
                &lock,
                location.as_ref(),
                new_key_file,
                &new,
            )?;
        }
        for manifest in list.committed.iter().filter_map(|m| with(m, last)) {
            collection.rewrite_manifest(&manifest, &lock)?;
        }
        if let Some(location) = &location {
            for manifest in remote.iter().filter_map(|m| with(m, last)) {
                location.put(
                    &format!("{}/{MANIFEST_FILE}", manifest.id),
                    manifest.encode(),
                )?;
            }
        }
    }
    Ok(Rekeyed {
        collection: name.to_string(),
        backups: list
            .committed
            .iter()
            .filter(|m| m.sealing.is_some())
            .count(),
        external: location.map(|l| {
            (
                quiver_storage::redacted(l.url()),
                remote.iter().filter(|m| m.sealing.is_some()).count(),
            )
        }),
        fingerprint: new.fingerprint(),
    })
}

/// The backups at the collection's external location, every one readable with its key.
fn remote_backups(
    location: &Location,
    collection: &Collection,
) -> Result<Vec<BackupManifest>, ExecError> {
    let inventory = Inventory::read(location, collection)?;
    if inventory.definition.is_none() && !collection.backups()?.is_empty() {
        // Not mounted, or never written: its backups (if any are elsewhere) would keep
        // the old key, unseen.
        return Err(ExecError::refused(
            format!(
                "{} holds no collection definition, yet the collection's backups are kept there: is it reachable (mounted)? nothing was re-keyed",
                quiver_storage::redacted(location.url())
            ),
            Some("re-key when the location is back, or after `quiver export` has copied the backups there".into()),
        ));
    }
    if let Some(why) = &inventory.locked {
        return Err(ExecError::refused(
            format!(
                "{} cannot be read with the collection's key: {why}; nothing was re-keyed",
                location.url()
            ),
            None,
        ));
    }
    for backup in &inventory.backups {
        if let Some(Err(why)) = &backup.manifest {
            return Err(ExecError::refused(
                format!(
                    "backup `{}` at {} cannot be read ({why}); nothing was re-keyed",
                    backup.id,
                    location.url()
                ),
                None,
            ));
        }
    }
    Ok(inventory.committed().cloned().collect())
}

/// The definition (the repository's, and the location's copy) takes its key from the new
/// file, sealed by the new key.
fn switch_definition(
    collection: &mut Collection,
    lock: &CollectionLock,
    location: Option<&Location>,
    new_key_file: &str,
    new: &SecretKey,
) -> Result<(), ExecError> {
    let mut def = collection.def().clone();
    def.encryption.key = Some(KeySource::File {
        path: new_key_file.to_string(),
    });
    if def.encryption.enabled() {
        def.seal_with(new);
    }
    // A collection that turned encryption off keeps the record of it, signed anew.
    if let Some(off) = &def.encryption.turned_off {
        let id = def.id.clone().unwrap_or_default();
        def.encryption.turned_off = Some(quiver_catalog::crypto::TurnedOff::new(new, &id, &off.at));
    }
    if let Some(location) = location {
        let copy = quiver_storage::exported_definition(&def);
        let bytes = copy
            .encode()
            .map_err(|message| ExecError::refused(message, None))?;
        location.put(DEFINITION_FILE, bytes)?;
    }
    collection.save_def(def, lock)?;
    Ok(())
}
