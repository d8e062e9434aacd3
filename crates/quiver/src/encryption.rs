//! The `ENCRYPTION` and `ENCRYPTION_KEY_FILE` settings: turning encryption on and off, and
//! checking that a key source given gives the collection's key.

use quiver_catalog::crypto::{
    Algorithm, KeyEnvironment, KeySource, PlainBackup, SecretKey, Sha256Writer, TurnedOff,
};
use quiver_catalog::{Collection, CollectionDef};
use quiver_grammar::{EncryptionAlgorithm, SettingKey, Settings};

use crate::error::ExecError;

/// Applies what `settings` says of encryption to `def` (of `current`, the collection as it
/// is, or `None` at CREATE). The key is read now, so that a missing or bad key is refused
/// here rather than at the first backup; a key file that gives another key than the
/// collection's is refused (changing keys is `quiver rekey`).
pub(crate) fn set(
    def: &mut CollectionDef,
    current: Option<&Collection>,
    settings: &Settings,
    keys: &KeyEnvironment,
    now: time::OffsetDateTime,
) -> Result<(), ExecError> {
    let algorithm = match settings.encryption {
        Some(EncryptionAlgorithm::Aes256Gcm) => Algorithm::Aes256Gcm,
        Some(EncryptionAlgorithm::None) => Algorithm::None,
        None => def.encryption.algorithm,
    };
    if settings.encryption.is_none() && settings.encryption_key_file.is_none() {
        return Ok(());
    }
    let named_file = match &settings.encryption_key_file {
        Some(path) => Some(KeySource::File {
            path: absolute(path)?,
        }),
        None => None,
    };
    let key_error = |e: quiver_catalog::crypto::KeyError| {
        ExecError::refused(
            format!("backup collection `{}`: {e}", def.name),
            Some(
                "the key is read when the setting is made, so that a backup never finds it missing"
                    .to_string(),
            ),
        )
    };
    // The key the collection has now, if it has one: a new source must give the same.
    let existing = match (current, &def.encryption.key) {
        (Some(collection), Some(_)) => Some(collection.master_key()?),
        _ => None,
    };
    let source = match (named_file, &def.encryption.key) {
        (Some(file), _) => file,
        (None, Some(kept)) => kept.clone(),
        (None, None) if algorithm == Algorithm::Aes256Gcm => {
            keys.new_source(None).map_err(key_error)?
        }
        (None, None) => return Ok(()),
    };
    let master = keys.master_key(&source).map_err(key_error)?;
    if let Some(existing) = &existing
        && *existing != master
    {
        return Err(ExecError::refused(
            format!(
                "the key from {} is not the key of backup collection `{}` (key {} is, this is key {})",
                source.setting(),
                def.name,
                existing.fingerprint(),
                master.fingerprint()
            ),
            Some(format!(
                "to change the collection's key, run `quiver rekey {} --new-key-file <file>`: it re-wraps every backup's key",
                def.name
            )),
        ));
    }
    let was_enabled = def.encryption.enabled();
    def.encryption.key = Some(source);
    match algorithm {
        Algorithm::Aes256Gcm => {
            if !was_enabled {
                turn_on(def, current, now)?;
            }
            seal(def, &master);
        }
        Algorithm::None if was_enabled => turn_off(def, &master, now),
        Algorithm::None => {}
    }
    Ok(())
}

/// Encryption on from now: the plain backups the collection has now, in the repository and
/// at its external location, are the only plain ones it will accept, each pinned by the
/// SHA-256 of its manifest and of every data file (recorded in the definition, which the key
/// seals). Every file is read, and checked against its manifest, to pin it: a damaged one,
/// or a location that cannot be read, refuses the change (its plain backups would be
/// refused as forged later).
fn turn_on(
    def: &mut CollectionDef,
    current: Option<&Collection>,
    now: time::OffsetDateTime,
) -> Result<(), ExecError> {
    let mut pins: Vec<PlainBackup> = Vec::new();
    if let Some(collection) = current {
        let repository = quiver_storage::Location::local_dir(collection.dir())?;
        pin_plain(&repository, &collection.backup_list()?.committed, &mut pins)?;
        if let quiver_catalog::StorageKind::External(url) = &def.storage {
            let location = quiver_storage::Location::parse(url)?;
            let inventory = quiver_storage::Inventory::read(&location, collection).map_err(|e| {
                ExecError::refused(
                    format!(
                        "encryption was not turned on: the plain backups at {} cannot be listed ({e}), and would be refused as forged once it is",
                        quiver_storage::redacted(url)
                    ),
                    Some("turn it on when the location can be reached".to_string()),
                )
            })?;
            let committed: Vec<_> = inventory.committed().cloned().collect();
            pin_plain(&location, &committed, &mut pins)?;
        }
    }
    pins.sort_by(|a, b| (&a.id, &a.sha256).cmp(&(&b.id, &b.sha256)));
    pins.dedup();
    def.encryption.algorithm = Algorithm::Aes256Gcm;
    def.encryption.since = Some(rfc3339(now));
    def.encryption.turned_off = None;
    def.encryption.plain_backups = pins;
    Ok(())
}

/// Pins the plain ones of `backups`, stored at `location`, reading each data file once.
fn pin_plain(
    location: &quiver_storage::Location,
    backups: &[quiver_catalog::BackupManifest],
    pins: &mut Vec<PlainBackup>,
) -> Result<(), ExecError> {
    for backup in backups.iter().filter(|m| m.sealing.is_none()) {
        if pins.iter().any(|pin| pin.pins(backup)) {
            continue;
        }
        let mut file_sha256 = |file: &quiver_catalog::DataFile| -> Result<String, String> {
            let rel = format!("{}/{}", backup.id, file.path);
            let mut sha256 = Sha256Writer::default();
            let digest = location
                .download(&rel, &mut sha256)
                .map_err(|e| e.to_string())?;
            if (digest.bytes, digest.crc32) != (file.bytes, file.crc32) {
                return Err(format!(
                    "{} does not match its manifest ({} bytes, crc32 {:08x}; the manifest says {} bytes, crc32 {:08x})",
                    location.url_of(&rel),
                    digest.bytes,
                    digest.crc32,
                    file.bytes,
                    file.crc32
                ));
            }
            Ok(sha256.finish())
        };
        let pin = PlainBackup::of(backup, &mut file_sha256).map_err(|why| {
            ExecError::refused(
                format!(
                    "encryption was not turned on: plain backup `{}` must be read to be pinned, and {why}",
                    backup.id
                ),
                Some("VERIFY the collection; remove or repair the damaged backup, then turn encryption on".to_string()),
            )
        })?;
        pins.push(pin);
    }
    Ok(())
}

/// Encryption off from now, signed with the key: a plain definition without that record is
/// not let open the encrypted backups (a forged one, put there to have backups written in
/// the clear).
fn turn_off(def: &mut CollectionDef, master: &SecretKey, now: time::OffsetDateTime) {
    let at = rfc3339(now);
    let id = def.id.clone().unwrap_or_default();
    def.encryption.algorithm = Algorithm::None;
    def.encryption.since = None;
    def.encryption.plain_backups.clear();
    def.encryption.turned_off = Some(TurnedOff::new(master, &id, &at));
    def.sealing = None;
}

/// `path` made absolute (against the current directory): a key file named relatively would
/// be looked for elsewhere by a scheduler or cron job started in another directory.
pub(crate) fn absolute(path: &str) -> Result<String, ExecError> {
    std::path::absolute(path)
        .map(|p| p.to_string_lossy().into_owned())
        .map_err(|e| ExecError::refused(format!("ENCRYPTION_KEY_FILE '{path}': {e}"), None))
}

/// `RESET ( ENCRYPTION )` turns encryption off (the key settings stay, for the encrypted
/// backups already taken); `RESET ( ENCRYPTION_KEY_FILE )` takes the key from the
/// environment instead, which must hold the same key.
pub(crate) fn reset(
    def: &mut CollectionDef,
    current: &Collection,
    keys_reset: &[SettingKey],
    keys: &KeyEnvironment,
    now: time::OffsetDateTime,
) -> Result<(), ExecError> {
    if keys_reset.contains(&SettingKey::Encryption) && def.encryption.enabled() {
        let master = current.master_key()?;
        turn_off(def, &master, now);
    }
    if keys_reset.contains(&SettingKey::EncryptionKeyFile)
        && matches!(def.encryption.key, Some(KeySource::File { .. }))
    {
        let existing = current.master_key()?;
        let source = keys.new_source(None).map_err(|e| {
            ExecError::refused(
                format!(
                    "backup collection `{}`: without ENCRYPTION_KEY_FILE, {e}",
                    def.name
                ),
                None,
            )
        })?;
        let master = keys
            .master_key(&source)
            .map_err(|e| ExecError::refused(e.to_string(), None))?;
        if master != existing {
            return Err(ExecError::refused(
                format!(
                    "the key from {} is not the key of backup collection `{}`",
                    source.setting(),
                    def.name
                ),
                Some("set the environment to the collection's key first, or change keys with `quiver rekey`".into()),
            ));
        }
        def.encryption.key = Some(source);
        if def.encryption.enabled() {
            seal(def, &master);
        }
    }
    Ok(())
}

/// Seals the definition under `master` with a new data key.
fn seal(def: &mut CollectionDef, master: &SecretKey) {
    def.seal_with(master);
}

fn rfc3339(at: time::OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
