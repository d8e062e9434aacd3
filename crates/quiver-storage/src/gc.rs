//! Removing what belongs to no backup, and nothing else.
//!
//! A location is untrusted: gc deletes only inside a location that holds a valid collection
//! definition, only objects named as quiver's layout names them (a backup's data files and
//! manifest, quiver's temporary files), and only those older than a grace period, so that
//! an export or BACKUP in flight (data copied, manifest not yet put) is never touched.

use std::time::{Duration, SystemTime};

use quiver_catalog::DEFINITION_FILE;
use serde::Serialize;

use crate::inventory::is_layout_name;
use crate::{Error, Inventory, Location, Result};

/// How long a leftover must have been left alone before gc removes it, by default.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(3600);

/// How a garbage collection runs.
#[derive(Debug, Clone, Copy)]
pub struct GcOptions {
    /// Only list what would be removed.
    pub dry_run: bool,
    /// Leftovers written more recently than this are kept: they may belong to a copy in
    /// flight. Zero only where nothing can be writing (a repository collection under its lock).
    pub grace: Duration,
}

impl Default for GcOptions {
    fn default() -> GcOptions {
        GcOptions {
            dry_run: false,
            grace: DEFAULT_GRACE,
        }
    }
}

/// What a garbage collection removed (or, dry, would remove), and what it left.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GcReport {
    /// The location's URL.
    pub url: String,
    /// Each object removed, relative to the location, with its size.
    pub removed: Vec<(String, u64)>,
    /// Bytes freed.
    pub bytes: u64,
    /// Objects that belong to no backup but were kept, with why.
    pub kept: Vec<(String, String)>,
}

/// Removes the objects at `location` that belong to no committed backup (see
/// [`Inventory::leftovers`]), are named as quiver names its files, and are older than
/// `options.grace`; with `options.dry_run`, only lists them. Refused where the location
/// holds no valid collection definition: nothing there can be proved to be quiver's.
pub fn gc(
    location: &Location,
    keys: &dyn quiver_catalog::crypto::MasterKeys,
    options: GcOptions,
) -> Result<GcReport> {
    let inventory = Inventory::read(location, keys)?;
    match &inventory.definition {
        Some(Ok(_)) => {}
        Some(Err(why)) => {
            return Err(not_a_collection(
                location,
                &format!("its {DEFINITION_FILE} is unreadable: {why}"),
            ));
        }
        None => {
            return Err(not_a_collection(
                location,
                &format!("it has no {DEFINITION_FILE}"),
            ));
        }
    }
    let mut report = GcReport {
        url: location.url().to_string(),
        ..GcReport::default()
    };
    let now = SystemTime::now();
    for (rel, size) in inventory.leftovers() {
        if !is_layout_name(rel) {
            report
                .kept
                .push((rel.to_string(), "not a name quiver gives its files".into()));
            continue;
        }
        if location.through_symlink(rel) {
            report.kept.push((
                rel.to_string(),
                "reached through a symbolic link, which gc does not follow".into(),
            ));
            continue;
        }
        let age = inventory
            .modified
            .get(rel)
            .and_then(|at| now.duration_since(*at).ok())
            .unwrap_or_default();
        if age < options.grace {
            report.kept.push((
                rel.to_string(),
                format!(
                    "written {}s ago, within the grace period of {}s (a copy may be in flight)",
                    age.as_secs(),
                    options.grace.as_secs()
                ),
            ));
            continue;
        }
        if !options.dry_run {
            location.delete(rel)?;
        }
        report.removed.push((rel.to_string(), size));
        report.bytes += size;
    }
    Ok(report)
}

fn not_a_collection(location: &Location, why: &str) -> Error {
    Error::Refused {
        message: format!(
            "{} is not a quiver collection's location ({why}): gc deletes nothing there",
            location.url()
        ),
        hint: Some(
            "give gc a collection of the repository, or a URL a collection was exported to".into(),
        ),
    }
}
