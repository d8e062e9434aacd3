//! The `ENCRYPTION` and `ENCRYPTION_KEY_FILE` settings: turning encryption on and off, and
//! checking that a key source given gives the collection's key.

use quiver_catalog::crypto::{Algorithm, KeyEnvironment, KeySource, SecretKey};
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
    let named_file = settings
        .encryption_key_file
        .as_ref()
        .map(|path| KeySource::File { path: path.clone() });
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
    def.encryption.algorithm = algorithm;
    match algorithm {
        Algorithm::Aes256Gcm => {
            if !was_enabled {
                def.encryption.since = Some(rfc3339(now));
            }
            seal(def, &master);
        }
        Algorithm::None => {
            def.encryption.since = None;
            def.sealing = None;
        }
    }
    Ok(())
}

/// `RESET ( ENCRYPTION )` turns encryption off (the key settings stay, for the encrypted
/// backups already taken); `RESET ( ENCRYPTION_KEY_FILE )` takes the key from the
/// environment instead, which must hold the same key.
pub(crate) fn reset(
    def: &mut CollectionDef,
    current: &Collection,
    keys_reset: &[SettingKey],
    keys: &KeyEnvironment,
) -> Result<(), ExecError> {
    if keys_reset.contains(&SettingKey::Encryption) {
        def.encryption.algorithm = Algorithm::None;
        def.encryption.since = None;
        def.sealing = None;
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
