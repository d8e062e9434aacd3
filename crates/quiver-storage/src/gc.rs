//! Removing what belongs to no backup.

use serde::Serialize;

use crate::{Inventory, Location, Result};

/// What a garbage collection removed (or, dry, would remove).
#[derive(Debug, Clone, Default, Serialize)]
pub struct GcReport {
    /// The location's URL.
    pub url: String,
    /// Each object removed, relative to the location, with its size.
    pub removed: Vec<(String, u64)>,
    /// Bytes freed.
    pub bytes: u64,
}

/// Removes the objects at `location` that belong to no committed backup (see
/// [`Inventory::leftovers`]); with `dry_run`, only lists them. No backup may be written there
/// meanwhile: for a repository's collection, hold its lock.
pub fn gc(location: &Location, dry_run: bool) -> Result<GcReport> {
    let inventory = Inventory::read(location)?;
    let mut report = GcReport {
        url: location.url().to_string(),
        ..GcReport::default()
    };
    for (rel, size) in inventory.leftovers() {
        if !dry_run {
            location.delete(rel)?;
        }
        report.removed.push((rel.to_string(), size));
        report.bytes += size;
    }
    Ok(report)
}
