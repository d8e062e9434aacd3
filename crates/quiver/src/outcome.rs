//! What running a statement produced.

use std::fmt;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use quiver_catalog::{BackupKind, BackupManifest};
use quiver_restore::RestoreReport;

/// Rows returned by a query, as Arrow batches.
#[derive(Debug, Clone)]
pub struct QueryResult {
    /// Column names and types.
    pub schema: SchemaRef,
    /// The rows.
    pub batches: Vec<RecordBatch>,
    /// What the result leaves out and why (a QUERY skips collections it cannot read).
    pub warnings: Vec<String>,
}

impl QueryResult {
    /// Number of rows over all batches.
    pub fn row_count(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

/// The result of one statement of a script.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// A query's rows.
    Rows(QueryResult),
    /// A plain SQL statement that changed `rows` rows (0 for DDL).
    Changed {
        /// Rows inserted, updated or deleted.
        rows: u64,
    },
    /// A backup was taken and committed.
    BackupTaken {
        /// The new backup's manifest.
        manifest: BackupManifest,
        /// The external storage it was also copied to (and checked there).
        stored_at: Option<String>,
        /// Why its copy to the collection's external storage did not happen (the backup is
        /// committed in the repository; the next BACKUP or `quiver export` copies it).
        copy_pending: Option<String>,
        /// What the user should know of the backup, one line each.
        warnings: Vec<String>,
        /// Why an incremental was asked for and this full backup taken instead.
        full_instead: Option<String>,
    },
    /// A collection was restored.
    Restored {
        /// The collection.
        collection: String,
        /// What was restored.
        report: RestoreReport,
    },
    /// VERIFY found nothing wrong.
    Verified(quiver_storage::VerifyReport),
    /// PRUNE applied the collection's retention rules.
    Pruned(crate::prune::PruneReport),
    /// COMPACT merged a chain into a full backup.
    Compacted {
        /// The collection.
        collection: String,
        /// What was done.
        report: quiver_backup::Compacted,
    },
    /// A collection statement (CREATE / ALTER / DROP BACKUP COLLECTION) succeeded.
    Done(String),
}

impl fmt::Display for Outcome {
    /// A one-line summary for people (queries print as their row count).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Rows(rows) => write!(f, "{} row(s)", rows.row_count()),
            Outcome::Changed { rows } => write!(f, "{rows} row(s) changed"),
            Outcome::BackupTaken {
                manifest: m,
                stored_at,
                copy_pending,
                warnings,
                ..
            } if m.kind == BackupKind::Incremental => {
                let changes = m.changes();
                write!(
                    f,
                    "BACKUP {} INCREMENTAL: incremental backup {} committed: {} table(s), {} row(s) inserted or updated, {} deleted, {}",
                    m.collection,
                    m.id,
                    m.tables.len(),
                    changes.upserts,
                    changes.deletes,
                    human_bytes(m.bytes())
                )?;
                stored(f, stored_at, copy_pending, warnings)
            }
            Outcome::BackupTaken {
                manifest: m,
                stored_at,
                copy_pending,
                warnings,
                full_instead,
            } => {
                let incremental = if full_instead.is_some() {
                    " INCREMENTAL"
                } else {
                    ""
                };
                write!(
                    f,
                    "BACKUP {}{incremental}: {} backup {} committed: {} table(s), {} row(s), {}",
                    m.collection,
                    m.kind.suffix(),
                    m.id,
                    m.tables.len(),
                    m.rows(),
                    human_bytes(m.bytes())
                )?;
                if let Some(why) = full_instead {
                    write!(f, "\nnote: {why}")?;
                }
                stored(f, stored_at, copy_pending, warnings)
            }
            Outcome::Restored { collection, report } => {
                let tables: Vec<String> = report
                    .tables
                    .iter()
                    .map(|(t, n)| format!("{t} ({n} rows)"))
                    .collect();
                write!(
                    f,
                    "RESTORE {collection}: restored backup {}: {}",
                    report.backup_id,
                    tables.join(", ")
                )?;
                for warning in &report.warnings {
                    write!(f, "\nwarning: {warning}")?;
                }
                Ok(())
            }
            Outcome::Verified(report) => {
                write!(
                    f,
                    "VERIFY: {} backup(s), {} data file(s), {} read: ",
                    report.backups.len(),
                    report.files,
                    human_bytes(report.bytes)
                )?;
                match &report.contents_unchecked {
                    None => f.write_str("every size, crc32, manifest and chain link is sound"),
                    Some(why) => write!(
                        f,
                        "every size, crc32 and chain link is sound; CONTENTS NOT CHECKED: {why}"
                    ),
                }
            }
            Outcome::Pruned(report) => report.fmt(f),
            Outcome::Compacted { collection, report } => {
                write!(
                    f,
                    "COMPACT {collection}: the chain of {} ({} backups) is now the full backup {}: {} table(s), {} row(s), {}",
                    report.replaced,
                    report.merged,
                    report.manifest.id,
                    report.manifest.tables.len(),
                    report.manifest.rows(),
                    human_bytes(report.manifest.bytes())
                )?;
                if !report.relinked.is_empty() {
                    write!(f, "; {} now build(s) on it", report.relinked.join(", "))?;
                }
                f.write_str("; the older backups of the chain stay until PRUNE removes them")
            }
            Outcome::Done(message) => f.write_str(message),
        }
    }
}

/// The end of a backup's line: where it was also stored, or why its copy is pending, then
/// its warnings.
fn stored(
    f: &mut fmt::Formatter<'_>,
    stored_at: &Option<String>,
    copy_pending: &Option<String>,
    warnings: &[String],
) -> fmt::Result {
    if let Some(url) = stored_at {
        write!(f, "; stored at {url} (every file read back and checked)")?;
    }
    for warning in warnings {
        write!(f, "\nwarning: {warning}")?;
    }
    if let Some(why) = copy_pending {
        write!(
            f,
            "\nwarning: the copy to external storage is pending: {why}"
        )?;
    }
    Ok(())
}

impl Outcome {
    /// Whether this is a backup committed in the repository whose copy to external storage
    /// is pending: the CLI's exit status 3.
    pub fn copy_pending(&self) -> bool {
        matches!(
            self,
            Outcome::BackupTaken {
                copy_pending: Some(_),
                ..
            }
        )
    }
}

/// Bytes in the largest binary unit that keeps the number >= 1, e.g. `12.3 KiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
