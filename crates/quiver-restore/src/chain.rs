//! Which chain a restore loads, and a table's rows read back through a chain.

use quiver_catalog::{BackupKind, BackupManifest, Chain, Collection, DataFile, TableSchema};
use quiver_diff::{Batches, Merge, MergeInput, StateColumns};
use quiver_snapshot::SnapshotReader;

use crate::{Error, Result};

/// Which columns of a table to read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Columns {
    /// The row's values ([`TableSchema::arrow_schema`]): what a restore loads.
    Values,
    /// The key and the row hash ([`StateColumns`]): what the next incremental diffs against.
    State,
    /// The row's values and its hash, as a full backup's file holds them
    /// ([`TableSchema::file_schema`]): what compaction writes.
    Stored,
}

/// The chain a restore of `collection` loads: the one of its backup `at`, or of its
/// latest backup. The latest backup is the newest committed one: if its manifest cannot be
/// read, restoring the one before it instead would be silently different, so that is
/// refused.
pub fn chain_to_restore(collection: &Collection, at: Option<&str>) -> Result<Chain> {
    let tip = match at {
        Some(id) => collection.backup(id)?,
        None => {
            let mut list = collection.backup_list()?;
            if let Some(unreadable) = list.unreadable_latest() {
                return Err(Error::LatestUnreadable {
                    collection: collection.def().name.clone(),
                    backup: unreadable.id.clone(),
                    why: unreadable.error.to_string(),
                    readable: list.committed.last().map(|m| m.id.clone()),
                });
            }
            list.committed
                .pop()
                .ok_or_else(|| Error::NothingToRestore(collection.def().name.clone()))?
        }
    };
    Ok(Chain::ending_at(collection, tip)?)
}

/// A chain's rows, merged: what a restore loads and what an incremental backup diffs
/// against.
pub trait ChainRows {
    /// The rows of `table` as of the tip, in key order: the chain's files merged, the latest
    /// backup winning, tombstones deleting. Nothing is held in memory beyond a few batches
    /// per file. Files are not verified here; see [`crate::verify`].
    fn rows<'a>(
        &'a self,
        collection: &'a Collection,
        table: &TableSchema,
        columns: Columns,
        batch_rows: usize,
    ) -> Result<Merge<'a>>;
}

impl ChainRows for Chain {
    fn rows<'a>(
        &'a self,
        collection: &'a Collection,
        table: &TableSchema,
        columns: Columns,
        batch_rows: usize,
    ) -> Result<Merge<'a>> {
        let state = StateColumns::of(table);
        let values = table.value_column_count();
        let mut inputs = Vec::new();
        for backup in self.backups() {
            let Some(part) = backup.table(&table.name) else {
                continue;
            };
            if let Some(reason) = part.schema.shape_change(table) {
                return Err(Error::Inconsistent {
                    backup: backup.id.clone(),
                    table: table.name.clone(),
                    reason,
                });
            }
            let projection: Vec<usize> = match (columns, backup.kind) {
                (Columns::State, BackupKind::Full) => state.full.clone(),
                (Columns::State, BackupKind::Incremental) => state.incremental.clone(),
                (Columns::Values, BackupKind::Full) => (0..values).collect(),
                (Columns::Stored, BackupKind::Full) => (0..=values).collect(),
                // The values and the hash, then the deleted column after them.
                (Columns::Stored, BackupKind::Incremental) => (0..values + 2).collect(),
                // The values, then the deleted column after the hash.
                (Columns::Values, BackupKind::Incremental) => {
                    (0..values).chain(std::iter::once(values + 1)).collect()
                }
            };
            let batches = file_batches(collection, backup, &part.files, projection, batch_rows);
            inputs.push(match backup.kind {
                BackupKind::Full => MergeInput::full(batches),
                BackupKind::Incremental => MergeInput::incremental(batches),
            });
        }
        let (key, output) = match columns {
            Columns::Values => (table.key_columns(), table.arrow_schema()),
            Columns::Stored => (table.key_columns(), table.file_schema(BackupKind::Full)),
            Columns::State => (state.key, state.schema),
        };
        Merge::new(inputs, key, output, batch_rows).map_err(|source| Error::Read {
            backup: self.tip().id.clone(),
            source,
        })
    }
}

/// The batches of `files` (one backup's files of a table, in key order) one after another,
/// reading only the columns at `projection`.
fn file_batches<'a>(
    collection: &'a Collection,
    backup: &'a BackupManifest,
    files: &'a [DataFile],
    projection: Vec<usize>,
    batch_rows: usize,
) -> Batches<'a> {
    Box::new(files.iter().flat_map(move |file| {
        let path = collection.data_file_path(backup, &file.path);
        let cipher = crate::file_cipher(backup, &file.path);
        let opened =
            SnapshotReader::open_columns(&path, batch_rows, Some(&projection), cipher.as_ref());
        let batches: Batches<'a> = match opened {
            Ok(reader) => Box::new(reader.map(|b| b.map_err(input_error))),
            Err(e) => Box::new(std::iter::once(Err(input_error(e)))),
        };
        batches
    }))
}

fn input_error(e: quiver_snapshot::Error) -> quiver_diff::Error {
    quiver_diff::Error::Input(Box::new(e))
}
