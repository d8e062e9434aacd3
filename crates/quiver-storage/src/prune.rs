//! Retention at a location: the backups a collection's rules no longer keep, removed there
//! as in the repository (manifest first, then files; a backup only after every backup that
//! builds on it), so that a kill at any point leaves every visible backup restorable and
//! what is left for gc.

use quiver_catalog::{
    BackupId, CollectionDef, MANIFEST_FILE, RetainedBackup, Verdict, apply_retention,
};
use serde::Serialize;
use time::OffsetDateTime;

use crate::inventory::is_layout_name;
use crate::{Error, Inventory, Location, Result};

/// What pruning a location removed (or, in a dry run, would remove).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LocationPrune {
    /// The location's URL, secrets masked.
    pub url: String,
    /// The backups removed, newest first.
    pub removed: Vec<String>,
    /// Bytes of their files.
    pub bytes: u64,
}

/// Applies `def`'s retention rules and pins, as of `now`, to the backups at `location`
/// (which holds `def`'s collection), and unless `dry_run` removes those the rules do not keep.
/// Refused, with nothing removed, when the location's definition is not `def`'s collection or
/// a manifest there cannot be read (it may build on backups the rules would remove).
pub fn prune_location(
    location: &Location,
    def: &CollectionDef,
    now: OffsetDateTime,
    dry_run: bool,
    keys: &dyn quiver_catalog::crypto::MasterKeys,
) -> Result<LocationPrune> {
    let inventory = Inventory::read(location, keys)?;
    let refuse = |why: String| Error::Refused {
        message: format!(
            "{} was not pruned (nothing there was removed): {why}",
            location.url()
        ),
        hint: Some(format!("quiver verify {} names each fault", location.url())),
    };
    match &inventory.definition {
        Some(Ok(there)) if def.owns(there.id.as_deref()) && there.id.is_some() => {}
        Some(Ok(_)) => return Err(refuse("it holds another collection".into())),
        Some(Err(why)) => {
            return Err(refuse(format!(
                "its collection definition is damaged: {why}"
            )));
        }
        None => return Err(refuse("it holds no collection definition".into())),
    }
    let mut backups = Vec::new();
    for entry in &inventory.backups {
        match &entry.manifest {
            // No manifest: not a backup (an interrupted copy), gc's to remove.
            None => {}
            Some(Err(why)) => {
                return Err(refuse(format!(
                    "the manifest of backup {} cannot be read: {why}",
                    entry.id
                )));
            }
            // Deleting needs proof: a manifest without this collection's id (an old format,
            // or a forged one that left it out) may be another collection's.
            Some(Ok(manifest))
                if manifest.collection_id.is_none()
                    || !def.owns(manifest.collection_id.as_deref()) =>
            {
                return Err(refuse(format!(
                    "backup {} there does not carry this collection's id, so it cannot be proved this collection's",
                    entry.id
                )));
            }
            Some(Ok(manifest)) => backups.push(RetainedBackup {
                id: manifest.id.parse().map_err(refuse)?,
                parent: match &manifest.parent {
                    Some(p) => Some(p.parse().map_err(refuse)?),
                    None => None,
                },
            }),
        }
    }
    let pinned: Vec<BackupId> = def.pinned.iter().filter_map(|p| p.parse().ok()).collect();
    let verdicts: Vec<Verdict> = apply_retention(&backups, &def.retention, &pinned, now);
    let mut report = LocationPrune {
        url: crate::redacted(location.url()),
        ..LocationPrune::default()
    };
    let doomed: Vec<(String, Vec<(&String, &u64)>)> = verdicts
        .iter()
        .filter(|v| !v.kept())
        .map(|verdict| {
            let id = verdict.id.to_string();
            let files = inventory
                .objects
                .iter()
                .filter(|(rel, _)| {
                    rel.strip_prefix(&id).is_some_and(|r| r.starts_with('/')) && is_layout_name(rel)
                })
                .collect();
            (id, files)
        })
        .collect();
    // A local directory's listing follows symbolic links: what is reached through one may be
    // anywhere, so none of it is the location's to delete (gc keeps such files too).
    if let Some((rel, _)) = doomed
        .iter()
        .flat_map(|(_, files)| files)
        .find(|(rel, _)| location.through_symlink(rel))
    {
        return Err(refuse(format!(
            "{rel} is reached through a symbolic link, which prune does not follow"
        )));
    }
    // Newest first: a backup goes only after those that build on it.
    for (id, files) in doomed {
        report.bytes += files.iter().map(|(_, size)| **size).sum::<u64>();
        report.removed.push(id.clone());
        if dry_run {
            continue;
        }
        // The manifest first: from then on the backup is not there for any reader.
        location.delete(&format!("{id}/{MANIFEST_FILE}"))?;
        for (rel, _) in files {
            location.delete(rel)?;
        }
    }
    Ok(report)
}
