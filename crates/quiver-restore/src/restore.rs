//! Resolve, verify, load.

use quiver_catalog::{Collection, RestoreTarget};
use quiver_snapshot::verify_file;

use crate::{Chain, Columns, Error, RestoreProgress, Result};

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

/// Checks every data file of `chain` against its recorded size and crc32.
pub fn verify(
    collection: &Collection,
    chain: &Chain,
    progress: &mut dyn FnMut(RestoreProgress),
) -> Result<()> {
    let files: Vec<_> = chain.files().collect();
    for (done, (backup, file)) in files.iter().enumerate() {
        let path = collection.data_file_path(backup, &file.path);
        verify_file(&path, file.bytes, file.crc32).map_err(|source| Error::Damaged {
            backup: backup.id.clone(),
            source,
        })?;
        progress(RestoreProgress::Verified {
            done: done + 1,
            total: files.len(),
        });
    }
    Ok(())
}

/// Restores the collection's backup `at` (default: the latest) into `target`: the state of
/// its tables at that backup, full or incremental.
///
/// The caller holds the collection's lock. Every file of the backup's chain is verified
/// first; then, in one target transaction, the tables are checked not to exist, created,
/// filled from the chain merged by key, finished (indexes, triggers), and committed. Any
/// failure rolls the whole restore back.
pub fn restore(
    collection: &Collection,
    at: Option<&str>,
    target: &mut dyn RestoreTarget,
    progress: &mut dyn FnMut(RestoreProgress),
) -> Result<RestoreReport> {
    let chain = Chain::resolve(collection, at)?;
    verify(collection, &chain, progress)?;
    let tip = chain.tip();

    let mut tx = target.begin().map_err(Error::Target)?;
    let names: Vec<String> = tip.tables.iter().map(|t| t.schema.name.clone()).collect();
    let existing = tx.existing_tables(&names).map_err(Error::Target)?;
    if !existing.is_empty() {
        return Err(Error::TablesExist {
            collection: collection.def().name.clone(),
            tables: existing,
        });
    }
    let mut report = RestoreReport {
        backup_id: tip.id.clone(),
        tables: Vec::with_capacity(tip.tables.len()),
    };
    for table in &tip.tables {
        let schema = &table.schema;
        tx.create_table(schema).map_err(Error::Target)?;
        let mut rows = 0u64;
        for batch in chain.rows(collection, schema, Columns::Values, BATCH_ROWS)? {
            let batch = batch.map_err(|source| Error::Read {
                backup: tip.id.clone(),
                source,
            })?;
            tx.insert(schema, &batch).map_err(Error::Target)?;
            rows += batch.num_rows() as u64;
            progress(RestoreProgress::Loading {
                table: schema.name.clone(),
                rows,
            });
        }
        tx.finish_table(schema).map_err(Error::Target)?;
        report.tables.push((schema.name.clone(), rows));
    }
    tx.commit().map_err(Error::Target)?;
    Ok(report)
}
