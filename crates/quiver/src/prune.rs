//! PRUNE and `quiver prune`: removing the backups a collection's retention rules no
//! longer keep, with the reason each kept backup stays.

use quiver_catalog::Repository;
use serde::Serialize;
use time::OffsetDateTime;

use crate::error::ExecError;
use crate::outcome::human_bytes;

/// What a prune removed (or, in a dry run, would remove) and why the rest stays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PruneReport {
    /// The collection.
    pub collection: String,
    /// True when nothing was removed: the report only says what would go.
    pub dry_run: bool,
    /// The rules applied, as the collection's settings write them (empty: none, all kept).
    pub rules: String,
    /// Every backup, newest first.
    pub backups: Vec<PrunedBackup>,
    /// For a collection with external storage: what the same rules removed there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalPrune>,
}

/// What pruning a collection's external storage did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExternalPrune {
    /// The location's URL, secrets masked.
    pub url: String,
    /// The backups removed there (in a dry run: that would be), newest first.
    pub removed: Vec<String>,
    /// Bytes of their files.
    pub bytes: u64,
    /// Why the location was not pruned, if it was not (the repository's prune stands).
    pub error: Option<String>,
}

/// One backup's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrunedBackup {
    /// The backup id.
    pub id: String,
    /// `full` or `incremental`.
    pub kind: String,
    /// Bytes of its data files.
    pub bytes: u64,
    /// Kept, or removed (would be, in a dry run).
    pub kept: bool,
    /// Why it is kept: the rules, pins, and the kept backups that build on it.
    pub reasons: Vec<String>,
}

impl PruneReport {
    /// The backups that go.
    pub fn removed(&self) -> impl Iterator<Item = &PrunedBackup> {
        self.backups.iter().filter(|b| !b.kept)
    }
}

impl std::fmt::Display for PruneReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verb = if self.dry_run {
            "would remove"
        } else {
            "removed"
        };
        let removed: Vec<&PrunedBackup> = self.removed().collect();
        let freed: u64 = removed.iter().map(|b| b.bytes).sum();
        write!(
            f,
            "PRUNE {}: {verb} {} of {} backup(s), {}",
            self.collection,
            removed.len(),
            self.backups.len(),
            human_bytes(freed)
        )?;
        if self.rules.is_empty() {
            f.write_str(" (the collection has no KEEP_… setting: every backup is kept)")?;
        } else {
            write!(f, " ({})", self.rules)?;
        }
        if let Some(external) = &self.external {
            match &external.error {
                Some(error) => write!(
                    f,
                    "\nwarning: the backups at {} were not pruned: {error}; PRUNE again prunes them",
                    external.url
                )?,
                None => write!(
                    f,
                    "\nat {}: {verb} {} backup(s), {}",
                    external.url,
                    external.removed.len(),
                    human_bytes(external.bytes)
                )?,
            }
        }
        for backup in &self.backups {
            if backup.kept {
                write!(f, "\n  keep   {}: {}", backup.id, backup.reasons.join(", "))?;
            } else {
                write!(
                    f,
                    "\n  {} {}",
                    if self.dry_run {
                        "would remove"
                    } else {
                        "remove"
                    },
                    backup.id
                )?;
            }
        }
        Ok(())
    }
}

/// Applies collection `name`'s retention rules and pins as of `now`; with `dry_run`, only
/// says what would go. Holds the collection's lock while it removes.
pub fn prune(
    repo: &Repository,
    name: &str,
    now: OffsetDateTime,
    dry_run: bool,
) -> Result<PruneReport, ExecError> {
    let collection = repo.collection(name)?;
    let lock = collection.lock()?;
    let backups = collection
        .prune(now, dry_run, &lock)?
        .into_iter()
        .map(|(verdict, manifest)| PrunedBackup {
            kind: manifest.kind.suffix().to_string(),
            bytes: manifest.bytes(),
            kept: verdict.kept(),
            reasons: verdict.reasons.iter().map(ToString::to_string).collect(),
            id: manifest.id,
        })
        .collect();
    // External storage keeps by the same rules, applied to what it holds (which may be more
    // than the repository: copies from another machine); a fault there leaves the
    // repository's prune standing.
    let external = crate::external::location(&collection)
        .map_err(|e| crate::operations::error_text(&e))
        .and_then(|location| {
            location
                .map(|location| {
                    quiver_storage::prune_location(
                        &location,
                        collection.def(),
                        now,
                        dry_run,
                        &collection,
                    )
                    .map_err(|e| quiver_storage::mask_secrets(&e.to_string()))
                    .map(|done| (location, done))
                })
                .transpose()
        });
    let external = match external {
        Ok(None) => None,
        Ok(Some((_, done))) => Some(ExternalPrune {
            url: done.url,
            removed: done.removed,
            bytes: done.bytes,
            error: None,
        }),
        Err(error) => Some(ExternalPrune {
            url: match &collection.def().storage {
                quiver_catalog::StorageKind::External(url) => quiver_storage::redacted(url),
                quiver_catalog::StorageKind::Cluster => String::new(),
            },
            removed: Vec::new(),
            bytes: 0,
            error: Some(error),
        }),
    };
    Ok(PruneReport {
        collection: collection.def().name.clone(),
        dry_run,
        rules: crate::collections::retention_settings(collection.def()).to_string(),
        backups,
        external,
    })
}
