//! Taking one backup of a collection: every table read through one consistent snapshot
//! of the source, in parallel, each written to its data file (a full backup) or diffed
//! against the chain's state (an incremental), then the manifest committed last.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel, sync_channel};

use arrow::record_batch::RecordBatch;
use quiver_catalog::{
    AdapterError, BackupKind, BackupManifest, BackupSource, Chain, ChangeCounts, Collection,
    CollectionLock, DataFile, HASH_COLUMN, PendingBackup, SchemaChangePolicy, SourceSnapshot,
    TableBackup, TableSchema,
};
use quiver_diff::{Batches, Differ, with_row_hashes};
use quiver_grammar::quote_ident;
use quiver_restore::{ChainRows, Columns};
use quiver_snapshot::{PipelinedWriter, SnapshotWriter, WriteOptions};

use crate::{Error, Result};

/// How a backup is taken.
#[derive(Debug, Clone)]
pub struct BackupOptions {
    /// An incremental backup (of the changes since the latest backup) rather than a full one.
    pub incremental: bool,
    /// Rows per batch when reading tables.
    pub batch_rows: usize,
    /// When an incremental cannot be taken but a full backup can (a table without a key, a
    /// damaged or unreadable chain to build on), take the full backup and say why, instead
    /// of refusing: what an unattended (scheduled) backup wants.
    pub full_when_incremental_impossible: bool,
}

/// Progress of a backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackupProgress {
    /// Rows read of a table so far.
    Rows {
        /// The table.
        table: String,
        /// Rows read so far.
        rows: u64,
    },
}

/// A committed backup.
#[derive(Debug, Clone)]
pub struct TakenBackup {
    /// Its manifest.
    pub manifest: BackupManifest,
    /// Why an incremental was asked for and a full backup taken instead (a table's shape
    /// changed, and the collection's `ON_SCHEMA_CHANGE` is `'full'`).
    pub full_instead: Option<String>,
}

/// Takes one backup of `collection` (whose lock is `lock`) from `source`, and commits it:
/// its data files first, fsynced, then its manifest. Refused, with nothing written, when an
/// incremental cannot be taken (disabled, no full backup, a damaged or unreadable chain, a
/// table that has no key, or whose shape changed while `ON_SCHEMA_CHANGE` is `'refuse'`).
/// With `ON_SCHEMA_CHANGE = 'full'` (the default), an incremental that finds a table's shape
/// changed becomes a full backup, which starts a new chain.
pub fn take(
    collection: &mut Collection,
    lock: &CollectionLock,
    source: &mut dyn BackupSource,
    options: &BackupOptions,
    progress: &mut dyn FnMut(BackupProgress),
) -> Result<TakenBackup> {
    // Why an incremental asked for is taken as a full backup, if it is (nothing of the
    // incremental was committed: its directory went with it).
    let why = match take_one(collection, lock, source, options, progress) {
        Err(Error::NeedsFull { message, .. }) if options.full_when_incremental_impossible => {
            message
                .trim_end_matches(" (nothing was written)")
                .to_string()
        }
        Err(Error::ShapeChanged {
            table,
            since,
            change,
            ..
        }) if collection.def().on_schema_change == SchemaChangePolicy::Full => format!(
            "table `{table}` changed since backup {since} ({change}); a new chain starts here"
        ),
        taken => {
            return taken.map(|manifest| TakenBackup {
                manifest,
                full_instead: None,
            });
        }
    };
    let full = BackupOptions {
        incremental: false,
        ..options.clone()
    };
    let manifest = take_one(collection, lock, source, &full, progress)?;
    Ok(TakenBackup {
        manifest,
        full_instead: Some(format!(
            "took a full backup instead of an incremental: {why}"
        )),
    })
}

fn take_one(
    collection: &mut Collection,
    lock: &CollectionLock,
    source: &mut dyn BackupSource,
    options: &BackupOptions,
    progress: &mut dyn FnMut(BackupProgress),
) -> Result<BackupManifest> {
    let name = collection.def().name.clone();
    if options.incremental {
        check_incremental_allowed(collection)?;
    }
    // A full backup needs nothing of the older ones: damaged manifests do not stop it.
    let list = collection.backup_list()?;
    // An incremental builds on the latest backup, whichever chain it ends.
    let chain = if options.incremental {
        if let Some(unreadable) = list.unreadable_latest() {
            return Err(Error::needs_full(
                format!(
                    "cannot take an incremental backup of {}: its latest backup `{}` cannot be read: {} (nothing was written)",
                    quote_ident(&name),
                    unreadable.id,
                    unreadable.error
                ),
                new_chain_hint(&name),
            ));
        }
        Some(base_chain(collection, list.committed.last().cloned())?)
    } else {
        None
    };
    let backups = list.committed;
    let kind = if options.incremental {
        BackupKind::Incremental
    } else {
        BackupKind::Full
    };
    let pending = collection.begin_backup(kind, lock)?;
    let tables = &collection.def().tables;
    let order = largest_first(&backups, tables, source);
    // Tables are read in parallel, one read transaction per thread, all started at the
    // same instant: the backup is still one point in time.
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(tables.len())
        .max(1);
    let snapshots = source.snapshots(threads).map_err(Error::Adapter)?;
    let job = Job {
        collection,
        chain: chain.as_ref(),
        tables,
        pending: &pending,
        batch_rows: options.batch_rows.max(1),
        order,
        next: AtomicUsize::new(0),
        failed: AtomicBool::new(false),
    };
    let finished = in_parallel(snapshots, progress, |snapshot, sender| {
        job.work(snapshot, sender)
    });
    let mut backed_up = Vec::with_capacity(tables.len());
    for result in finished {
        backed_up.extend(result?);
    }
    backed_up.sort_by_key(|(position, _)| *position);
    let parent = chain.map(|c| c.tip().id.clone());
    let manifest = pending.commit(parent, backed_up.into_iter().map(|(_, t)| t).collect())?;
    Ok(manifest)
}

/// Runs `work` on each of `inputs`, each on a thread of its own, and returns their results
/// in order; the progress they send is relayed to `progress` on this thread until every one
/// is done. A worker's panic is resumed here.
pub(crate) fn in_parallel<I: Send, T: Send>(
    inputs: Vec<I>,
    progress: &mut dyn FnMut(BackupProgress),
    work: impl Fn(I, Sender<BackupProgress>) -> T + Sync,
) -> Vec<T> {
    let (sender, reports) = channel();
    std::thread::scope(|scope| {
        let work = &work;
        let workers: Vec<_> = inputs
            .into_iter()
            .map(|input| {
                let sender = sender.clone();
                scope.spawn(move || work(input, sender))
            })
            .collect();
        drop(sender);
        for report in reports {
            progress(report);
        }
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

/// One backup's tables, shared by the threads that read them.
struct Job<'a> {
    collection: &'a Collection,
    /// The chain an incremental builds on; `None` for a full backup.
    chain: Option<&'a Chain>,
    tables: &'a [String],
    pending: &'a PendingBackup,
    batch_rows: usize,
    /// Positions of the tables in the order threads take them.
    order: Vec<usize>,
    /// The next entry of `order` to take.
    next: AtomicUsize,
    /// Set by a thread that failed, so that the others stop early.
    failed: AtomicBool,
}

impl Job<'_> {
    /// Takes tables until none are left; returns them with their collection positions.
    fn work(
        &self,
        mut snapshot: Box<dyn SourceSnapshot + Send + '_>,
        progress: Sender<BackupProgress>,
    ) -> Result<Vec<(usize, TableBackup)>, Error> {
        let mut done = Vec::new();
        while !self.failed.load(Ordering::Relaxed) {
            let Some(&position) = self.order.get(self.next.fetch_add(1, Ordering::Relaxed)) else {
                break;
            };
            let table = &self.tables[position];
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

    /// Backs up one table: all of it, or its changes since the chain's state.
    fn table(
        &self,
        snapshot: &mut dyn SourceSnapshot,
        table: &str,
        progress: &Sender<BackupProgress>,
    ) -> Result<TableBackup, Error> {
        let schema = snapshot.describe(table).map_err(Error::Adapter)?;
        match self.chain {
            None => self.full(snapshot, schema, progress),
            Some(chain) => self.incremental(snapshot, schema, chain, progress),
        }
    }

    /// Reads one table into its data file.
    fn full(
        &self,
        snapshot: &mut dyn SourceSnapshot,
        schema: TableSchema,
        progress: &Sender<BackupProgress>,
    ) -> Result<TableBackup, Error> {
        let files = self.scan_into(snapshot, &schema, progress, |batches| {
            let file_schema = schema.file_schema(BackupKind::Full);
            let mut writer = FileWriter::new(self.pending, &schema, BackupKind::Full);
            for batch in batches {
                writer.write(with_row_hashes(&batch, &file_schema)?)?;
            }
            writer.finish()
        })?;
        Ok(TableBackup {
            files,
            schema,
            changes: None,
        })
    }

    /// Diffs one table's current rows against the chain's state of it; writes the changes.
    fn incremental(
        &self,
        snapshot: &mut dyn SourceSnapshot,
        schema: TableSchema,
        chain: &Chain,
        progress: &Sender<BackupProgress>,
    ) -> Result<TableBackup, Error> {
        if schema.row_key().is_empty() {
            return Err(Error::needs_full(
                format!(
                    "table `{}` has no primary key and no unique index over NOT NULL columns: an incremental backup cannot tell its rows apart (nothing was written)",
                    schema.name
                ),
                Some(format!(
                    "add a primary key to it, or take full backups only: BACKUP {}",
                    quote_ident(&self.collection.def().name)
                )),
            ));
        }
        let previous = chain.latest_schema(&schema.name);
        if let Some(change) = previous.and_then(|p| schema.shape_change(p)) {
            return Err(Error::ShapeChanged {
                collection: self.collection.def().name.clone(),
                table: schema.name.clone(),
                since: chain.tip().id.clone(),
                change,
            });
        }
        let (files, stats) = self.scan_into(snapshot, &schema, progress, |batches| {
            // A table new to the collection has no previous state: every row is an insert.
            let previous: Batches<'_> = if previous.is_some() {
                Box::new(chain.rows(self.collection, &schema, Columns::State, self.batch_rows)?)
            } else {
                Box::new(std::iter::empty())
            };
            let file_schema = schema.file_schema(BackupKind::Full);
            let mut differ = Differ::new(&schema, previous, self.batch_rows)?;
            let mut writer = FileWriter::new(self.pending, &schema, BackupKind::Incremental);
            let mut emit = |changes: RecordBatch| {
                writer
                    .write(changes)
                    .map_err(|e| quiver_diff::Error::Input(Box::new(e)))
            };
            for batch in batches {
                differ.push(&with_row_hashes(&batch, &file_schema)?, &mut emit)?;
            }
            let stats = differ.finish(&mut emit)?;
            Ok((writer.finish()?, stats))
        })?;
        Ok(TableBackup {
            files,
            schema,
            changes: Some(ChangeCounts {
                upserts: stats.upserts,
                deletes: stats.deletes,
            }),
        })
    }

    /// Scans `schema`'s table on this thread while `consume` hashes, diffs and writes its
    /// batches on another, through a queue of two: reading overlaps with the rest.
    fn scan_into<T: Send>(
        &self,
        snapshot: &mut dyn SourceSnapshot,
        schema: &TableSchema,
        progress: &Sender<BackupProgress>,
        consume: impl FnOnce(Receiver<RecordBatch>) -> Result<T, Error> + Send,
    ) -> Result<T, Error> {
        std::thread::scope(|scope| {
            let (batches, received) = sync_channel(2);
            let consumer = scope.spawn(move || consume(received));
            let scanned = self.scan(snapshot, schema, progress, &mut |batch| {
                batches
                    .send(batch)
                    .map_err(|_| "stopped: writing the table's backup failed".into())
            });
            // The end of the rows, or of the scan: the consumer finishes either way.
            drop(batches);
            let consumed = consumer
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            // The consumer's error is the cause when both failed: the scan stopped for it.
            let value = consumed?;
            scanned.map(|()| value)
        })
    }

    /// Scans `schema`'s table, handing each batch to `sink` and reporting progress.
    fn scan(
        &self,
        snapshot: &mut dyn SourceSnapshot,
        schema: &TableSchema,
        progress: &Sender<BackupProgress>,
        sink: &mut dyn FnMut(RecordBatch) -> Result<(), AdapterError>,
    ) -> Result<(), Error> {
        let mut rows = 0u64;
        snapshot
            .scan(schema, self.batch_rows, &mut |batch| {
                if self.failed.load(Ordering::Relaxed) {
                    return Err("stopped: another table of the backup failed".into());
                }
                rows += batch.num_rows() as u64;
                sink(batch)?;
                let _ = progress.send(BackupProgress::Rows {
                    table: schema.name.clone(),
                    rows,
                });
                Ok(())
            })
            .map_err(Error::Adapter)?;
        Ok(())
    }
}

/// A table's data file in a pending backup, created at the first batch: an incremental
/// backup of an unchanged table writes no file at all.
pub(crate) struct FileWriter<'a> {
    pending: &'a PendingBackup,
    schema: &'a TableSchema,
    kind: BackupKind,
    open: Option<(String, PipelinedWriter)>,
}

impl<'a> FileWriter<'a> {
    pub(crate) fn new(
        pending: &'a PendingBackup,
        schema: &'a TableSchema,
        kind: BackupKind,
    ) -> Self {
        FileWriter {
            pending,
            schema,
            kind,
            open: None,
        }
    }

    pub(crate) fn write(&mut self, batch: RecordBatch) -> Result<(), quiver_snapshot::Error> {
        self.open()?.1.write(batch)
    }

    /// The file, created on first use.
    fn open(&mut self) -> Result<&mut (String, PipelinedWriter), quiver_snapshot::Error> {
        if self.open.is_none() {
            let (relative, path) = self.pending.data_file(&self.schema.name, 0);
            let cipher = self
                .pending
                .file_key(&relative)
                .map(|key| quiver_snapshot::FileCipher::new(key.key.bytes(), key.aad_prefix));
            let options = data_file_options(self.schema, cipher);
            let file_schema = self.schema.file_schema(self.kind);
            // Encoding runs on a thread of its own while this one hashes or diffs.
            let writer =
                PipelinedWriter::spawn(SnapshotWriter::create(&path, file_schema, &options)?, 2);
            self.open = Some((relative, writer));
        }
        Ok(self.open.as_mut().expect("opened above"))
    }

    /// The file written, if any. A full backup always has one, empty tables included.
    pub(crate) fn finish(mut self) -> Result<Vec<DataFile>, Error> {
        if self.kind == BackupKind::Full {
            self.open()?;
        }
        let Some((path, writer)) = self.open else {
            return Ok(Vec::new());
        };
        let digest = writer.finish()?;
        Ok(vec![DataFile {
            path,
            rows: digest.rows,
            bytes: digest.bytes,
            crc32: digest.crc32,
        }])
    }
}

/// How a backup writes `schema`'s data files: sorted by its row key, the row hashes stored
/// as they are, encrypted with `cipher` if there is one.
pub fn data_file_options(
    schema: &TableSchema,
    cipher: Option<quiver_snapshot::FileCipher>,
) -> WriteOptions {
    WriteOptions {
        random_columns: vec![HASH_COLUMN.to_string()],
        cipher,
        ..WriteOptions::sorted_by(schema.key_indices())
    }
}

/// The positions of `tables`, largest first by their rows in the latest full backup, or as
/// the source estimates them for tables it lacks (first of all if it cannot tell: they may
/// be large). Threads take tables in this order, so that the largest is not left to start
/// last while the other threads sit idle.
fn largest_first(
    backups: &[BackupManifest],
    tables: &[String],
    source: &mut dyn BackupSource,
) -> Vec<usize> {
    let last_full = backups.iter().rev().find(|b| b.kind == BackupKind::Full);
    let rows: Vec<u64> = tables
        .iter()
        .map(|name| match last_full.and_then(|b| b.table(name)) {
            Some(table) => table.rows(),
            None => source.estimated_rows(name).unwrap_or(u64::MAX),
        })
        .collect();
    let mut order: Vec<usize> = (0..tables.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(rows[i]));
    order
}

/// Refuses `BACKUP name INCREMENTAL` where YDB does, with its messages.
pub fn check_incremental_allowed(collection: &Collection) -> Result<(), Error> {
    let name = quote_ident(&collection.def().name);
    if !collection.def().incremental_backup_enabled {
        return Err(Error::refused(
            format!("Incremental backup is disabled on this collection ({name})"),
            Some(format!(
                "enable it with ALTER BACKUP COLLECTION {name} SET (INCREMENTAL_BACKUP_ENABLED = 'true')"
            )),
        ));
    }
    Ok(())
}

/// The hint of every refusal that a new full backup resolves.
fn new_chain_hint(collection: &str) -> Option<String> {
    Some(format!(
        "take a full backup to start a new chain: BACKUP {}",
        quote_ident(collection)
    ))
}

/// The chain an incremental backup builds on: the one ending at `latest`, the collection's
/// latest backup, with every file verified, since the diff reads them.
fn base_chain(collection: &Collection, latest: Option<BackupManifest>) -> Result<Chain, Error> {
    let name = quote_ident(&collection.def().name);
    let no_full = || {
        Error::refused(
            format!("Last continuous backup stream is not found: {name} has no full backup yet"),
            Some(format!("take a full backup first: BACKUP {name}")),
        )
    };
    let unusable = |reason: String| {
        Error::needs_full(
            format!("cannot take an incremental backup of {name}: {reason} (nothing was written)"),
            new_chain_hint(&collection.def().name),
        )
    };
    let Some(latest) = latest else {
        return Err(no_full());
    };
    // A chain is encrypted throughout or not at all: after ENCRYPTION changed, the next
    // backup is a full one.
    let encrypted = collection.def().encryption.enabled();
    if latest.sealing.is_some() != encrypted {
        return Err(unusable(format!(
            "its latest backup `{}` is {}, and ENCRYPTION is now '{}': a chain never mixes encrypted and plain backups",
            latest.id,
            if latest.sealing.is_some() {
                "encrypted"
            } else {
                "not encrypted"
            },
            collection.def().encryption.algorithm.as_str()
        )));
    }
    let chain = match Chain::ending_at(collection, latest) {
        Ok(chain) => chain,
        Err(
            e @ (quiver_catalog::Error::BrokenChain { .. } | quiver_catalog::Error::Corrupt { .. }),
        ) => {
            return Err(unusable(e.to_string()));
        }
        Err(e) => return Err(e.into()),
    };
    match quiver_restore::verify(collection, &chain, &mut |_| {}) {
        Err(quiver_restore::Error::Damaged { backup, source }) => Err(unusable(format!(
            "backup {backup} of its chain is damaged: {source}"
        ))),
        other => other.map(|()| chain).map_err(Error::from),
    }
}
