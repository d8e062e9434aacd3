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
    Ok(PruneReport {
        collection: collection.def().name.clone(),
        dry_run,
        rules: crate::collections::retention_settings(collection.def()).to_string(),
        backups,
    })
}
