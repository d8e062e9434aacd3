//! Manifest decoding: arbitrary bytes as a backup manifest, and everything derived from a
//! decoded one, must give errors, never panics.

#![no_main]

use libfuzzer_sys::fuzz_target;
use quiver_catalog::crypto::{KeyEnvironment, SecretKey};
use quiver_catalog::{BackupId, BackupManifest, CollectionDef};

fuzz_target!(|data: &[u8]| {
    if let Ok(manifest) = serde_json::from_slice::<BackupManifest>(data) {
        let _ = (manifest.rows(), manifest.bytes());
        for table in &manifest.tables {
            let _ = table.schema.arrow_schema();
            let _ = table.schema.key_indices();
            let _ = table.schema.rowid_is_key();
            let _ = (table.rows(), table.bytes());
        }
        let _ = manifest.id.parse::<BackupId>();
    }
    // The decoder every reader uses (repository, export, import): its checks must not panic.
    // It is given the id the manifest claims (as a reader given its directory's name would
    // be), so that the checks past the id's are reached too.
    let claimed = serde_json::from_slice::<serde_json::Value>(data)
        .ok()
        .and_then(|v| v.get("id").and_then(|id| id.as_str()).map(str::to_owned));
    // Sealed manifests and definitions too: with a key, the envelope's checks run (they
    // fail at the AEAD for forged bytes, which must be an error).
    let master = SecretKey::from_bytes([7; 32]);
    for id in [claimed.as_deref(), Some("20261125T000000.000Z_full")].into_iter().flatten() {
        for key in [None, Some(&master)] {
            if let Ok(manifest) = BackupManifest::decode(data, id, key) {
                let _ = manifest.encode();
            }
        }
        let _ = BackupManifest::decode_public(data, id);
    }
    let _ = CollectionDef::decode(data, &master);
    let _ = CollectionDef::decode(data, &KeyEnvironment::default());
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(id) = text.parse::<BackupId>() {
            assert_eq!(id.to_string().parse::<BackupId>(), Ok(id));
        }
    }
});
