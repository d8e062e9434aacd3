//! Resolve, verify, load.

use arrow::array::BooleanArray;
use arrow::record_batch::RecordBatch;
use quiver_catalog::{
    AdapterError, BackupManifest, Chain, Collection, RestoreTarget, TableBackup, TableSchema,
};
use quiver_snapshot::verify_file;

use crate::{ChainRows, Columns, Error, RestoreProgress, Result, chain_to_restore};

/// Rows per batch read from data files: bounds memory during a restore.
const BATCH_ROWS: usize = 8192;

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreReport {
    /// The backup restored.
    pub backup_id: String,
    /// Each table restored with its row count.
    pub tables: Vec<(String, u64)>,
    /// What the user should know of the result: foreign keys dropped from renamed copies,
    /// references left dangling to tables that are not restored. One line each.
    pub warnings: Vec<String>,
}

/// Checks every data file of `chain` against its recorded size and crc32 (and a plain
/// backup's of an encrypted collection against its pinned SHA-256).
pub fn verify(
    collection: &Collection,
    chain: &Chain,
    progress: &mut dyn FnMut(RestoreProgress),
) -> Result<()> {
    let files: Vec<_> = chain.files().collect();
    for (done, (backup, table, file)) in files.iter().enumerate() {
        let path = collection.data_file_path(backup, &file.path);
        let cipher = crate::file_cipher(backup, &file.path);
        let damaged = |source| Error::Damaged {
            backup: backup.id.clone(),
            source,
        };
        verify_file(&path, &recorded(file), cipher.as_ref()).map_err(damaged)?;
        if let Some(cipher) = &cipher {
            // Every byte of an encrypted file is authenticated before anything is restored:
            // here the structure and the row hashes, the one column a restore does not
            // read; the others page by page as the restore reads them (a failure there
            // rolls the restore back).
            let hash = table.schema.value_column_count();
            quiver_snapshot::authenticate_file(&path, cipher, Some(&[hash])).map_err(damaged)?;
        }
        collection
            .def()
            .check_pinned_file(backup, &file.path, || {
                quiver_catalog::crypto::sha256_of_file(&path)
            })
            .map_err(|message| {
                damaged(quiver_snapshot::Error::Malformed {
                    path: path.clone(),
                    message,
                })
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
    restore_selected(collection, at, &Selection::default(), target, progress)
}

/// The name a table is restored under when it is not its own (`None`: its own name).
pub type Rename<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Keeps the rows of a batch (of [`TableSchema::arrow_schema`]) for which it is true.
pub type RowFilter<'a> =
    &'a dyn Fn(&TableSchema, &RecordBatch) -> std::result::Result<BooleanArray, String>;

/// What a selective restore restores: some tables, under other names, some rows.
#[derive(Default, Clone)]
pub struct Selection<'a> {
    /// The tables to restore (matched ignoring case, as SQLite does); all when `None`.
    pub tables: Option<Vec<String>>,
    /// The names tables are restored under; their own when `None`. A renamed table's DDL
    /// is rewritten by the target ([`RestoreTarget::renamed`]).
    pub rename: Option<Rename<'a>>,
    /// Only rows for which this is true are restored; all when `None`.
    pub filter: Option<RowFilter<'a>>,
}

/// Like [`restore`], restoring only what `selection` selects. Every rule holds: every DDL
/// string is checked and every file of the chain verified first, no target table may exist
/// (under its target name), and it all happens in one transaction, references checked last.
pub fn restore_selected(
    collection: &Collection,
    at: Option<&str>,
    selection: &Selection<'_>,
    target: &mut dyn RestoreTarget,
    progress: &mut dyn FnMut(RestoreProgress),
) -> Result<RestoreReport> {
    let chain = chain_to_restore(collection, at)?;
    let tip = chain.tip();
    let RestorePlan {
        tables,
        targets,
        mut warnings,
    } = plan(tip, selection, &*target)?;
    verify(collection, &chain, progress)?;

    let mut tx = target.begin().map_err(Error::Target)?;
    let names: Vec<String> = targets.iter().map(|t| t.name.clone()).collect();
    let existing = tx.existing_tables(&names).map_err(Error::Target)?;
    if !existing.is_empty() {
        return Err(Error::TablesExist {
            collection: collection.def().name.clone(),
            tables: existing,
        });
    }
    let mut report = RestoreReport {
        backup_id: tip.id.clone(),
        tables: Vec::with_capacity(tables.len()),
        warnings: Vec::new(),
    };
    // Every table exists before any row goes in: foreign keys may point either way.
    for target_schema in &targets {
        tx.create_table(target_schema).map_err(Error::Target)?;
    }
    for (table, target_schema) in tables.iter().zip(&targets) {
        let schema = &table.schema;
        let mut rows = 0u64;
        // The chain's files are read and merged on a thread of their own, a couple of
        // batches ahead, while the target loads: decoding overlaps the database's work.
        std::thread::scope(|scope| -> Result<()> {
            let batches = read_ahead(scope, &chain, collection, schema);
            for batch in batches {
                let mut batch = batch?;
                if let Some(filter) = selection.filter {
                    let keep = filter(schema, &batch).map_err(|message| Error::Selection {
                        message: format!(
                            "the row filter failed on table `{}`: {message}",
                            schema.name
                        ),
                        hint: None,
                    })?;
                    batch = arrow::compute::filter_record_batch(&batch, &keep).map_err(|e| {
                        Error::Selection {
                            message: format!("filtering rows of `{}`: {e}", schema.name),
                            hint: None,
                        }
                    })?;
                }
                tx.insert(target_schema, &batch).map_err(Error::Target)?;
                rows += batch.num_rows() as u64;
                progress(RestoreProgress::Loading {
                    table: target_schema.name.clone(),
                    rows,
                });
            }
            Ok(())
        })?;
        tx.finish_table(target_schema).map_err(Error::Target)?;
        report.tables.push((target_schema.name.clone(), rows));
    }
    warnings.extend(tx.check_references(&targets).map_err(Error::Target)?);
    tx.commit().map_err(Error::Target)?;
    report.warnings = warnings;
    Ok(report)
}

/// What a restore of one backup will create, worked out from its manifest alone.
#[derive(Debug, Clone)]
pub struct RestorePlan<'m> {
    /// The backup's tables that are restored, in the backup's order.
    pub tables: Vec<&'m TableBackup>,
    /// The schema each is created under (its own, or its renamed copy's), checked by the target.
    pub targets: Vec<TableSchema>,
    /// What the plan leaves out (foreign keys dropped from renamed copies), one line each.
    pub warnings: Vec<String>,
}

/// Plans the restore of backup `manifest` as `selection` selects: which tables, under which
/// schemas. Every DDL string is checked by `target` before anything could run (the backup's
/// own, then its renamed copy's), so that a forged manifest is refused here, naming the
/// backup. Reads nothing but the manifest.
pub fn plan<'m>(
    manifest: &'m BackupManifest,
    selection: &Selection<'_>,
    target: &dyn RestoreTarget,
) -> Result<RestorePlan<'m>> {
    let tables = selected_tables(
        &manifest.collection,
        &manifest.tables,
        selection.tables.as_deref(),
    )?;
    let untrusted = |message: AdapterError| Error::UntrustedDdl {
        backup: manifest.id.clone(),
        message: message.to_string(),
    };
    // A restored table's name in the target: its new one, or its own.
    let rename = selection.rename;
    let restored_as = |name: &str| -> Option<String> {
        let table = tables
            .iter()
            .find(|t| t.schema.name.eq_ignore_ascii_case(name))?;
        Some(
            rename
                .and_then(|r| r(&table.schema.name))
                .unwrap_or_else(|| table.schema.name.clone()),
        )
    };
    let mut targets = Vec::with_capacity(tables.len());
    let mut warnings = Vec::new();
    for table in &tables {
        target.check_table(&table.schema).map_err(untrusted)?;
        let Some(_) = rename.and_then(|r| r(&table.schema.name)) else {
            targets.push(table.schema.clone());
            continue;
        };
        let copy = target
            .renamed(&table.schema, &restored_as)
            .map_err(|e| Error::Selection {
                message: format!("table `{}` cannot be renamed: {e}", table.schema.name),
                hint: None,
            })?;
        // The backup's own DDL passed: a copy that does not is quiver's rewrite falling
        // short, not a forged backup.
        target
            .check_table(&copy.schema)
            .map_err(|e| Error::Selection {
                message: format!(
                    "table `{}` cannot be restored under the name `{}`: {e}",
                    table.schema.name, copy.schema.name
                ),
                hint: Some(
                    "restore it under its own name, into another database with DATABASE = '<file>'"
                        .into(),
                ),
            })?;
        warnings.extend(copy.dropped_references);
        targets.push(copy.schema);
    }
    Ok(RestorePlan {
        tables,
        targets,
        warnings,
    })
}

/// The tables of the backup that `names` selects, in the backup's order.
fn selected_tables<'a>(
    collection: &str,
    tables: &'a [TableBackup],
    names: Option<&[String]>,
) -> Result<Vec<&'a TableBackup>> {
    let Some(names) = names else {
        return Ok(tables.iter().collect());
    };
    for name in names {
        if !tables
            .iter()
            .any(|t| t.schema.name.eq_ignore_ascii_case(name))
        {
            let all: Vec<&str> = tables.iter().map(|t| t.schema.name.as_str()).collect();
            return Err(Error::Selection {
                message: format!("the backup of collection `{collection}` has no table `{name}`"),
                hint: Some(format!("its tables are: {}", all.join(", "))),
            });
        }
    }
    Ok(tables
        .iter()
        .filter(|t| names.iter().any(|n| t.schema.name.eq_ignore_ascii_case(n)))
        .collect())
}

/// Batches read ahead: how many the reading thread may hold ready.
const READ_AHEAD: usize = 2;

/// The rows of `schema`'s table as of the chain's tip ([`ChainRows::rows`]), read on a
/// thread of `scope`, [`READ_AHEAD`] batches ahead. Dropping the receiver stops the thread.
fn read_ahead<'scope, 'env>(
    scope: &'scope std::thread::Scope<'scope, 'env>,
    chain: &'env Chain,
    collection: &'env Collection,
    schema: &'env TableSchema,
) -> std::sync::mpsc::Receiver<Result<RecordBatch>> {
    let (sender, receiver) = std::sync::mpsc::sync_channel(READ_AHEAD);
    scope.spawn(move || {
        let merge = match chain.rows(collection, schema, Columns::Values, BATCH_ROWS) {
            Ok(merge) => merge,
            Err(e) => {
                let _ = sender.send(Err(e));
                return;
            }
        };
        for batch in merge {
            let batch = batch.map_err(|source| Error::Read {
                backup: chain.tip().id.clone(),
                source,
            });
            let failed = batch.is_err();
            if sender.send(batch).is_err() || failed {
                return;
            }
        }
    });
    receiver
}

/// What the manifest records of `file`, as [`verify_file`] checks it.
fn recorded(file: &quiver_catalog::DataFile) -> quiver_snapshot::FileDigest {
    quiver_snapshot::FileDigest {
        rows: file.rows,
        bytes: file.bytes,
        crc32: file.crc32,
    }
}
