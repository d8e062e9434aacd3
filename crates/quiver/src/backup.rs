//! BACKUP and RESTORE.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Sender, channel};

use quiver_catalog::{
    BackupKind, BackupSource, DataFile, PendingBackup, SourceSnapshot, TableBackup,
};
use quiver_grammar::quote_ident;
use quiver_snapshot::{PipelinedWriter, SnapshotWriter, WriteOptions};
use quiver_sqlite::{SqliteSource, SqliteTarget};

use crate::error::ExecError;
use crate::{Engine, Outcome, Progress};

/// Runs `BACKUP name [INCREMENTAL]`.
pub(crate) fn run(
    engine: &mut Engine,
    name: &str,
    incremental: bool,
) -> Result<Outcome, ExecError> {
    let collection = engine.repo.collection(name)?;
    if incremental {
        return Err(incremental_refusal(&collection)?);
    }
    let lock = collection.lock()?;
    let pending = collection.begin_backup(BackupKind::Full, &lock)?;
    let mut source = SqliteSource::open(&engine.db_path)?;
    let tables = &collection.def().tables;
    // Tables are read in parallel, one read transaction per thread, all started at the
    // same instant: the backup is still one point in time.
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(tables.len())
        .max(1);
    let snapshots = source.snapshots(threads).map_err(ExecError::Adapter)?;
    let job = Job {
        collection: name,
        tables,
        pending: &pending,
        batch_rows: engine.batch_rows,
        next: AtomicUsize::new(0),
        failed: AtomicBool::new(false),
    };
    let (progress, reports) = channel();
    let finished = std::thread::scope(|scope| {
        let workers: Vec<_> = snapshots
            .into_iter()
            .map(|snapshot| {
                let (job, progress) = (&job, progress.clone());
                scope.spawn(move || job.work(snapshot, progress))
            })
            .collect();
        drop(progress);
        // Progress is relayed here, on the engine's thread, until every worker is done.
        for report in reports {
            engine.report(report);
        }
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect::<Vec<_>>()
    });
    let mut backed_up = Vec::with_capacity(tables.len());
    for result in finished {
        backed_up.extend(result?);
    }
    backed_up.sort_by_key(|(position, _)| *position);
    let manifest = pending.commit(None, backed_up.into_iter().map(|(_, t)| t).collect())?;
    Ok(Outcome::BackupTaken(manifest))
}

/// One full backup's tables, shared by the threads that read them.
struct Job<'a> {
    collection: &'a str,
    tables: &'a [String],
    pending: &'a PendingBackup,
    batch_rows: usize,
    /// The next table to take.
    next: AtomicUsize,
    /// Set by a thread that failed, so that the others stop early.
    failed: AtomicBool,
}

impl Job<'_> {
    /// Takes tables until none are left; returns them with their collection positions.
    fn work(
        &self,
        mut snapshot: Box<dyn SourceSnapshot + Send + '_>,
        progress: Sender<Progress>,
    ) -> Result<Vec<(usize, TableBackup)>, ExecError> {
        let mut done = Vec::new();
        while !self.failed.load(Ordering::Relaxed) {
            let position = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(table) = self.tables.get(position) else {
                break;
            };
            match self.table(snapshot.as_mut(), table, &progress) {
                Ok(backup) => done.push((position, backup)),
                Err(e) => {
                    // The first failure is the one to report; a thread that stopped because
                    // of it has nothing to add.
                    if self.failed.swap(true, Ordering::Relaxed) {
                        return Ok(done);
                    }
                    return Err(e);
                }
            }
        }
        Ok(done)
    }

    /// Reads one table into its data file.
    fn table(
        &self,
        snapshot: &mut dyn SourceSnapshot,
        table: &str,
        progress: &Sender<Progress>,
    ) -> Result<TableBackup, ExecError> {
        let schema = snapshot.describe(table).map_err(ExecError::Adapter)?;
        let (relative, path) = self.pending.data_file(&schema.name, 0);
        let options = WriteOptions::sorted_by(schema.key_indices());
        // Encoding runs on a thread of its own while this one reads the next rows.
        let mut writer = PipelinedWriter::spawn(
            SnapshotWriter::create(&path, schema.arrow_schema(), &options)?,
            2,
        );
        let mut rows = 0u64;
        snapshot
            .scan(&schema, self.batch_rows, &mut |batch| {
                if self.failed.load(Ordering::Relaxed) {
                    return Err("stopped: another table of the backup failed".into());
                }
                rows += batch.num_rows() as u64;
                writer.write(batch)?;
                let _ = progress.send(Progress::BackupRows {
                    collection: self.collection.to_string(),
                    table: schema.name.clone(),
                    rows,
                });
                Ok(())
            })
            .map_err(ExecError::Adapter)?;
        let digest = writer.finish()?;
        Ok(TableBackup {
            schema,
            files: vec![DataFile {
                path: relative,
                rows: digest.rows,
                bytes: digest.bytes,
                crc32: digest.crc32,
            }],
        })
    }
}
/// Why `BACKUP name INCREMENTAL` cannot run, with YDB's messages where YDB has one.
fn incremental_refusal(collection: &quiver_catalog::Collection) -> Result<ExecError, ExecError> {
    let name = quote_ident(&collection.def().name);
    if !collection.def().incremental_backup_enabled {
        return Ok(ExecError::refused(
            format!("Incremental backup is disabled on this collection ({name})"),
            Some(format!(
                "enable it with ALTER BACKUP COLLECTION {name} SET (INCREMENTAL_BACKUP_ENABLED = 'true')"
            )),
        ));
    }
    if !collection
        .backups()?
        .iter()
        .any(|b| b.kind == BackupKind::Full)
    {
        return Ok(ExecError::refused(
            format!("Last continuous backup stream is not found: {name} has no full backup yet"),
            Some(format!("take a full backup first: BACKUP {name}")),
        ));
    }
    Ok(ExecError::refused(
        "incremental backups are not supported by this build yet; nothing was written",
        Some(format!("take a full backup instead: BACKUP {name}")),
    ))
}

/// Runs `RESTORE name [AT 'id']`.
pub(crate) fn restore(
    engine: &mut Engine,
    name: &str,
    at: Option<&str>,
) -> Result<Outcome, ExecError> {
    let collection = engine.repo.collection(name)?;
    if !engine.conn.is_autocommit() {
        // The restore writes through a connection of its own, which would wait for this
        // one's transaction, which waits for the restore.
        return Err(ExecError::refused(
            "RESTORE cannot run inside an open transaction",
            Some("COMMIT or ROLLBACK first".to_string()),
        ));
    }
    let _lock = collection.lock()?;
    let mut target = SqliteTarget::open(&engine.db_path)?;
    let report = quiver_restore::restore(&collection, at, &mut target, &mut |step| {
        engine.report(Progress::Restore {
            collection: name.to_string(),
            step,
        })
    })?;
    Ok(Outcome::Restored {
        collection: name.to_string(),
        report,
    })
}
