//! BACKUP and RESTORE.

use quiver_catalog::{BackupKind, BackupSource, DataFile, TableBackup};
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
    // One read transaction over every table: the backup is one point in time.
    let mut snapshot = source.snapshot().map_err(ExecError::Adapter)?;
    let mut tables = Vec::with_capacity(collection.def().tables.len());
    for table in &collection.def().tables {
        let schema = snapshot.describe(table).map_err(ExecError::Adapter)?;
        let (relative, path) = pending.data_file(&schema.name, 0);
        // Encoding runs on a second thread while this one reads the next rows.
        let mut writer = PipelinedWriter::spawn(
            SnapshotWriter::create(
                &path,
                schema.arrow_schema(),
                &WriteOptions::sorted_by(schema.key_indices()),
            )?,
            2,
        );
        let mut rows = 0u64;
        let table_name = schema.name.clone();
        snapshot
            .scan(&schema, engine.batch_rows, &mut |batch| {
                rows += batch.num_rows() as u64;
                writer.write(batch)?;
                engine.report(Progress::BackupRows {
                    collection: name.to_string(),
                    table: table_name.clone(),
                    rows,
                });
                Ok(())
            })
            .map_err(ExecError::Adapter)?;
        let digest = writer.finish()?;
        tables.push(TableBackup {
            schema,
            files: vec![DataFile {
                path: relative,
                rows: digest.rows,
                bytes: digest.bytes,
                crc32: digest.crc32,
            }],
        });
    }
    drop(snapshot);
    let manifest = pending.commit(None, tables)?;
    Ok(Outcome::BackupTaken(manifest))
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
