//! Resolve, verify, load.

use quiver_catalog::{BackupManifest, Collection, RestoreTarget};
use quiver_snapshot::{SnapshotReader, verify_file};

use crate::{Error, RestoreProgress, Result};

/// Rows per batch read from data files: bounds memory during a restore.
const BATCH_ROWS: usize = 8192;

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreReport {
    /// The backup restored.
    pub backup_id: String,
    /// Each table restored with its row count.
    pub tables: Vec<(String, u64)>,
}

/// The backup to restore: the one with id `at`, or the latest.
pub fn resolve(collection: &Collection, at: Option<&str>) -> Result<BackupManifest> {
    match at {
        Some(id) => Ok(collection.backup(id)?),
        None => collection
            .backups()?
            .pop()
            .ok_or_else(|| Error::NothingToRestore(collection.def().name.clone())),
    }
}

/// Checks every data file of `manifest` against its recorded size and crc32.
pub fn verify(
    collection: &Collection,
    manifest: &BackupManifest,
    progress: &mut dyn FnMut(RestoreProgress),
) -> Result<()> {
    let files: Vec<_> = manifest.tables.iter().flat_map(|t| &t.files).collect();
    for (done, file) in files.iter().enumerate() {
        let path = collection.data_file_path(manifest, &file.path);
        verify_file(&path, file.bytes, file.crc32).map_err(|source| Error::Damaged {
            backup: manifest.id.clone(),
            source,
        })?;
        progress(RestoreProgress::Verified {
            done: done + 1,
            total: files.len(),
        });
    }
    Ok(())
}

/// Restores the collection's backup `at` (default: the latest) into `target`.
///
/// The caller holds the collection's lock. Every file is verified first; then, in one target
/// transaction, the tables are checked not to exist, created, filled and finished
/// (indexes, triggers), and committed. Any failure rolls the whole restore back.
pub fn restore(
    collection: &Collection,
    at: Option<&str>,
    target: &mut dyn RestoreTarget,
    progress: &mut dyn FnMut(RestoreProgress),
) -> Result<RestoreReport> {
    let manifest = resolve(collection, at)?;
    verify(collection, &manifest, progress)?;

    let mut tx = target.begin().map_err(Error::Target)?;
    let names: Vec<String> = manifest
        .tables
        .iter()
        .map(|t| t.schema.name.clone())
        .collect();
    let existing = tx.existing_tables(&names).map_err(Error::Target)?;
    if !existing.is_empty() {
        return Err(Error::TablesExist {
            collection: collection.def().name.clone(),
            tables: existing,
        });
    }
    let mut report = RestoreReport {
        backup_id: manifest.id.clone(),
        tables: Vec::with_capacity(manifest.tables.len()),
    };
    for table in &manifest.tables {
        let schema = &table.schema;
        tx.create_table(schema).map_err(Error::Target)?;
        let mut rows = 0u64;
        for file in &table.files {
            let path = collection.data_file_path(&manifest, &file.path);
            let read_error = |source| Error::Read {
                backup: manifest.id.clone(),
                source,
            };
            for batch in SnapshotReader::open(&path, BATCH_ROWS).map_err(read_error)? {
                let batch = batch.map_err(read_error)?;
                tx.insert(schema, &batch).map_err(Error::Target)?;
                rows += batch.num_rows() as u64;
                progress(RestoreProgress::Loading {
                    table: schema.name.clone(),
                    rows,
                });
            }
        }
        tx.finish_table(schema).map_err(Error::Target)?;
        report.tables.push((schema.name.clone(), rows));
    }
    tx.commit().map_err(Error::Target)?;
    Ok(report)
}
