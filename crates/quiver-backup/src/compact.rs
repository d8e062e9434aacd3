//! Compaction: an incremental backup's chain merged into one full backup of the same time
//! and contents, written from the backup files alone (the database is not read), which
//! replaces the incremental. Backups that built on the incremental build on it instead;
//! the older backups of the chain are no longer needed by it, and retention may remove them.
//!
//! The steps, each crash-safe on its own so that a kill at any point leaves every visible
//! backup restorable: the full backup is written and committed (data files, then its
//! manifest); the backups that built on the incremental are re-linked to it, one atomic
//! manifest replacement each; a pin moves to it; the incremental is removed, manifest first.
//! A crash between two steps leaves both backups of that time, each restorable, and the
//! next compaction of it finishes the job.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::Sender;

use quiver_catalog::{
    BackupId, BackupKind, BackupManifest, Collection, CollectionLock, PendingBackup, TableBackup,
};
use quiver_grammar::quote_ident;
use quiver_restore::{ChainRows, Columns};

use crate::take::{FileWriter, in_parallel};
use crate::{BackupProgress, Error, Result};

/// How a chain is compacted.
#[derive(Debug, Clone)]
pub struct CompactOptions {
    /// The incremental backup whose chain is compacted; `None` for the latest backup.
    pub at: Option<String>,
    /// Rows per batch when reading and writing.
    pub batch_rows: usize,
}

/// What a compaction did.
#[derive(Debug, Clone)]
pub struct Compacted {
    /// The new full backup.
    pub manifest: BackupManifest,
    /// The incremental backup it replaced.
    pub replaced: String,
    /// How many backups the chain it merged had (full backup included).
    pub merged: usize,
    /// The backups that built on the replaced one and now build on the new full backup.
    pub relinked: Vec<String>,
}

/// Compacts the chain of backup `options.at` (or of the latest backup) of `collection`,
/// whose lock is `lock`: see the module documentation. Refused, with nothing written, for
/// a full backup (nothing to compact), a damaged chain, or a collection with external
/// storage (whose copy of the incremental would outlive it).
pub fn compact(
    collection: &mut Collection,
    lock: &CollectionLock,
    options: &CompactOptions,
    progress: &mut dyn FnMut(BackupProgress),
) -> Result<Compacted> {
    let name = quote_ident(&collection.def().name);
    if let quiver_catalog::StorageKind::External(_) = collection.def().storage {
        return Err(Error::refused(
            format!(
                "compaction of {name} is refused: its backups are also kept in external storage, whose copy of the compacted incremental would outlive it"
            ),
            Some("restores from the repository are what compaction speeds up: take a full backup instead (BACKUP name)".to_string()),
        ));
    }
    // What an interrupted compaction (or backup) left goes first.
    collection.remove_incomplete(lock)?;
    let chain = quiver_restore::chain_to_restore(collection, options.at.as_deref())?;
    let tip = chain.tip().clone();
    if tip.kind == BackupKind::Full {
        return Err(Error::refused(
            format!(
                "backup {} of {name} is a full backup: it has no chain to compact",
                tip.id
            ),
            Some(format!(
                "compact an incremental backup: COMPACT {name} AT '<incremental id>' (SHOW BACKUPS IN {name} lists them)"
            )),
        ));
    }
    // Every file the merge reads is checked first: a damaged one stops it before anything
    // is written.
    quiver_restore::verify(collection, &chain, &mut |_| {})?;
    let tip_id: BackupId = tip
        .id
        .parse()
        .map_err(|e: String| Error::refused(e, None))?;
    let full_id = BackupId {
        kind: BackupKind::Full,
        ..tip_id
    };
    // The backups that build on it, read before anything is written: one that cannot be
    // read stops the compaction here.
    let children: Vec<BackupManifest> = collection
        .backups()?
        .into_iter()
        .filter(|b| b.parent.as_deref() == Some(tip.id.as_str()))
        .collect();
    let full = match collection.backup(&full_id.to_string()) {
        // An earlier compaction of it committed the full backup, then stopped.
        Ok(done) => done,
        Err(_) => write_full(collection, lock, &chain, full_id, options, progress)?,
    };
    let mut relinked = Vec::new();
    for backup in children {
        collection.reparent(&backup, &full.id, lock)?;
        relinked.push(backup.id);
    }
    let mut def = collection.def().clone();
    if let Some(pin) = def.pinned.iter_mut().find(|p| **p == tip.id) {
        *pin = full.id.clone();
        collection.save_def(def, lock)?;
    }
    collection.remove_backup(&tip_id, lock)?;
    Ok(Compacted {
        manifest: full,
        replaced: tip.id,
        merged: chain.backups().len(),
        relinked,
    })
}

/// Writes and commits the full backup `id` of `chain`'s state: each table's rows merged
/// from the chain's files, in key order, with their row hashes; tables in parallel, the
/// largest first, one thread per core.
fn write_full(
    collection: &Collection,
    lock: &CollectionLock,
    chain: &quiver_catalog::Chain,
    id: BackupId,
    options: &CompactOptions,
    progress: &mut dyn FnMut(BackupProgress),
) -> Result<BackupManifest> {
    // Encrypted as the chain it replaces is: a chain never mixes encrypted and plain. A
    // plain chain of a collection encrypted since stays as it is: the collection accepts
    // only the plain backups it had then.
    let encrypted = chain.tip().sealing.is_some();
    if !encrypted && collection.def().encryption.enabled() {
        return Err(Error::refused(
            format!(
                "the chain of `{}` was taken before collection `{}` was encrypted: it is not compacted (a new plain backup would not be accepted)",
                chain.tip().id,
                collection.def().name
            ),
            Some("take a full backup (encrypted) instead; PRUNE removes the plain chain when its rules allow".to_string()),
        ));
    }
    let pending = collection.begin_backup_at(id, encrypted, lock)?;
    let batch_rows = options.batch_rows.max(1);
    let tables = &chain.tip().tables;
    let mut order: Vec<usize> = (0..tables.len()).collect();
    let size = |i: usize| -> u64 {
        chain
            .backups()
            .iter()
            .filter_map(|b| b.table(&tables[i].schema.name))
            .map(TableBackup::bytes)
            .sum()
    };
    order.sort_by_key(|&i| std::cmp::Reverse(size(i)));
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(tables.len())
        .max(1);
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let finished: Vec<Result<Vec<(usize, TableBackup)>>> =
        in_parallel((0..threads).collect(), progress, |_, sender| {
            let mut done = Vec::new();
            while !failed.load(Ordering::Relaxed) {
                let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) else {
                    break;
                };
                match merge_table(collection, chain, &pending, &tables[i], batch_rows, &sender) {
                    Ok(table) => done.push((i, table)),
                    Err(e) => {
                        failed.store(true, Ordering::Relaxed);
                        return Err(e);
                    }
                }
            }
            Ok(done)
        });
    let mut merged = Vec::with_capacity(tables.len());
    for result in finished {
        merged.extend(result?);
    }
    merged.sort_by_key(|(i, _)| *i);
    Ok(pending.commit(None, merged.into_iter().map(|(_, t)| t).collect())?)
}

/// One table of the chain's state, merged into its data file of the new full backup.
fn merge_table(
    collection: &Collection,
    chain: &quiver_catalog::Chain,
    pending: &PendingBackup,
    table: &TableBackup,
    batch_rows: usize,
    progress: &Sender<BackupProgress>,
) -> Result<TableBackup> {
    let schema = &table.schema;
    let mut writer = FileWriter::new(pending, schema, BackupKind::Full);
    let mut rows = 0u64;
    // The rows with the hashes their backups stored: the same a full backup computes.
    for batch in chain.rows(collection, schema, Columns::Stored, batch_rows)? {
        let batch = batch?;
        rows += batch.num_rows() as u64;
        writer.write(batch)?;
        let _ = progress.send(BackupProgress::Rows {
            table: schema.name.clone(),
            rows,
        });
    }
    Ok(TableBackup {
        files: writer.finish()?,
        schema: schema.clone(),
        changes: None,
    })
}
