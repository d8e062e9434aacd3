//! A table of a backup as a DataFusion table: its chain merged on read.

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use arrow::datatypes::{Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::DFSchema;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::error::Result;
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::streaming::StreamingTableExec;
use quiver_catalog::{BackupKind, BackupManifest, Collection};

use crate::layout::TableLayout;
use crate::scan::{FileRef, MergedScan, Mode, OutputColumn, Part, parquet_scan};

/// One table of a collection as of a backup (its chain merged on read), or the changes a
/// run of incremental backups made to it.
#[derive(Debug)]
pub struct BackupTable {
    collection: Collection,
    /// The backups to read, oldest first: a chain (state) or incrementals (changes).
    backups: Vec<BackupManifest>,
    layout: TableLayout,
    mode: Mode,
    schema: SchemaRef,
    batch_rows: usize,
    /// Whether every file this table reads matched its manifest (size and crc32), checked
    /// once, before the first scan reads anything: a query never answers from damaged data.
    verified: OnceLock<std::result::Result<(), String>>,
}

impl BackupTable {
    /// `table` as of the last backup of `chain` (a full backup and its incrementals, oldest
    /// first), or `None` if no backup of the chain holds it.
    pub fn state(
        collection: Collection,
        chain: Vec<BackupManifest>,
        table: &str,
        batch_rows: usize,
    ) -> Option<BackupTable> {
        BackupTable::new(collection, chain, table, Mode::State, batch_rows)
    }

    /// What the incremental backups `incrementals` (consecutive links of one chain, oldest
    /// first) changed in `table`: per key, its latest change, `_change` = 'upsert' (the row
    /// as it became) or 'delete' (the key alone).
    pub fn changes(
        collection: Collection,
        incrementals: Vec<BackupManifest>,
        table: &str,
        batch_rows: usize,
    ) -> Option<BackupTable> {
        BackupTable::new(collection, incrementals, table, Mode::Changes, batch_rows)
    }

    fn new(
        collection: Collection,
        backups: Vec<BackupManifest>,
        table: &str,
        mode: Mode,
        batch_rows: usize,
    ) -> Option<BackupTable> {
        let schema = backups
            .iter()
            .rev()
            .find_map(|b| b.table(table))
            .map(|t| t.schema.clone())?;
        let layout = TableLayout::of(&schema);
        let schema = match mode {
            Mode::State => layout.visible.clone(),
            Mode::Changes => layout.changes_schema(),
        };
        Some(BackupTable {
            collection,
            backups,
            layout,
            mode,
            schema,
            batch_rows: batch_rows.max(1),
            verified: OnceLock::new(),
        })
    }

    /// Checks every file of [`BackupTable::parts`] against its manifest, once per table.
    fn verify(&self) -> Result<()> {
        let verified = self.verified.get_or_init(|| {
            for (backup, table) in self.backups.iter().filter_map(|b| Some((b, b.table(&self.layout.table.name)?))) {
                for file in &table.files {
                    let path = self.collection.data_file_path(backup, &file.path);
                    let cipher = file_cipher(backup, &file.path);
                    let damaged = |e: &dyn std::fmt::Display| {
                        format!(
                            "backup `{}` of collection `{}` is damaged, nothing was read from it: {e}",
                            backup.id,
                            self.collection.def().name
                        )
                    };
                    quiver_snapshot::verify_file(
                        &path,
                        &quiver_snapshot::FileDigest {
                            rows: file.rows,
                            bytes: file.bytes,
                            crc32: file.crc32,
                        },
                        cipher.as_ref(),
                    )
                        .map_err(|e| damaged(&e))?;
                    self.collection
                        .def()
                        .check_pinned_file(backup, &file.path, || {
                            quiver_catalog::crypto::sha256_of_file(&path)
                        })
                        .map_err(|e| damaged(&e))?;
                }
            }
            Ok(())
        });
        verified
            .clone()
            .map_err(datafusion::error::DataFusionError::Execution)
    }

    /// The same table, reading nothing: an empty view with the right columns.
    pub(crate) fn without_backups(mut self) -> BackupTable {
        self.backups.clear();
        self
    }

    /// The backups holding files of this table, with those files.
    fn parts(&self) -> Vec<(&BackupManifest, Vec<FileRef>)> {
        self.backups
            .iter()
            .filter_map(|backup| {
                let table = backup.table(&self.layout.table.name)?;
                let files: Vec<FileRef> = table
                    .files
                    .iter()
                    .map(|f| FileRef {
                        path: self.collection.data_file_path(backup, &f.path),
                        bytes: f.bytes,
                        cipher: file_cipher(backup, &f.path),
                    })
                    .collect();
                (!files.is_empty()).then_some((backup, files))
            })
            .collect()
    }

    /// Whether `filter` only reads key columns: such a filter gives the same answer for every
    /// version of a row, so it may prune every file of a chain before the merge.
    fn on_key_only(&self, filter: &Expr) -> bool {
        let key: HashSet<String> = self.layout.visible_key_names().into_iter().collect();
        let columns = filter.column_refs();
        !columns.is_empty() && columns.iter().all(|c| key.contains(&c.name))
    }
}

#[async_trait]
impl TableProvider for BackupTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        // Filters prune row groups, pages and rows, but DataFusion applies them again above
        // the scan: a merged chain can only prune on its key before merging.
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let wanted: Vec<usize> = match projection {
            Some(p) => p.clone(),
            None => (0..self.schema.fields().len()).collect(),
        };
        let projected = Arc::new(Schema::new(
            wanted
                .iter()
                .map(|&w| self.schema.field(w).clone())
                .collect::<Vec<_>>(),
        ));
        let parts = self.parts();
        if parts.is_empty() {
            return Ok(Arc::new(EmptyExec::new(projected)));
        }
        self.verify()?;
        let lone_full = parts.len() == 1 && parts[0].0.kind == BackupKind::Full;
        let pushed: Vec<Expr> = filters
            .iter()
            .filter(|f| lone_full || self.on_key_only(f))
            .cloned()
            .collect();
        let predicate = |file_schema: &SchemaRef| -> Result<_> {
            conjunction(pushed.clone())
                .map(|expr| {
                    let df_schema = DFSchema::try_from(file_schema.as_ref().clone())?;
                    state.create_physical_expr(expr, &df_schema)
                })
                .transpose()
        };

        if lone_full && self.mode == Mode::State {
            // One full backup: a plain Parquet scan, no merge, every filter pushed down.
            let (backup, files) = &parts[0];
            let file_schema = backup_file_schema(backup, &self.layout.table.name);
            let columns = wanted.iter().map(|&w| self.layout.positions[w]).collect();
            return parquet_scan(
                files,
                file_schema.clone(),
                columns,
                predicate(&file_schema)?,
            );
        }

        // Columns to produce, in visible terms (changes mode: `_change` is position 0).
        let visible_wanted: Vec<usize> = match self.mode {
            Mode::State => wanted.clone(),
            Mode::Changes => wanted.iter().filter(|&&w| w > 0).map(|w| w - 1).collect(),
        };
        let plan = self.layout.read_plan(&visible_wanted);
        let mut scans = Vec::with_capacity(parts.len());
        for (backup, files) in &parts {
            let file_schema = backup_file_schema(backup, &self.layout.table.name);
            let mut columns = plan.columns.clone();
            let incremental = backup.kind == BackupKind::Incremental;
            if incremental {
                // The deleted column, after the hash.
                columns.push(file_schema.fields().len() - 1);
            }
            scans.push(Part {
                scan: parquet_scan(
                    files,
                    file_schema.clone(),
                    columns,
                    predicate(&file_schema)?,
                )?,
                incremental,
            });
        }
        let mut visible_at = visible_wanted.iter().zip(&plan.output);
        let columns = wanted
            .iter()
            .map(|&w| match self.mode {
                Mode::Changes if w == 0 => OutputColumn::Change,
                _ => OutputColumn::Merged(*visible_at.next().expect("one per column").1),
            })
            .collect();
        let scan = MergedScan {
            schema: projected.clone(),
            parts: scans,
            plan,
            mode: self.mode,
            columns,
            batch_rows: self.batch_rows,
        };
        Ok(Arc::new(StreamingTableExec::try_new(
            projected,
            vec![Arc::new(scan)],
            None,
            Vec::new(),
            false,
            None,
        )?))
    }
}

/// The schema of `table`'s data files in `backup`.
fn backup_file_schema(backup: &BackupManifest, table: &str) -> SchemaRef {
    backup
        .table(table)
        .expect("parts only holds backups with the table")
        .schema
        .file_schema(backup.kind)
}

/// The cipher of data file `path` of `backup`, when the backup is encrypted.
fn file_cipher(backup: &BackupManifest, path: &str) -> Option<quiver_snapshot::FileCipher> {
    let key = backup.file_key(path)?;
    Some(quiver_snapshot::FileCipher::new(
        key.key.bytes(),
        key.aad_prefix,
    ))
}
