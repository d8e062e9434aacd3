//! The diff: a table's current key-ordered rows against its previous (key, hash) state.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, new_null_array};
use arrow::datatypes::{SchemaRef, UInt64Type};
use arrow::record_batch::RecordBatch;
use quiver_catalog::{BackupKind, KeyColumn, TableSchema};

use crate::cursor::Cursor;
use crate::gather::Gather;
use crate::key::KeyView;
use crate::merge::Batches;
use crate::{Error, Result, StateColumns};

/// What a diff found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiffStats {
    /// Rows inserted or updated since the previous state.
    pub upserts: u64,
    /// Rows deleted since the previous state.
    pub deletes: u64,
    /// Rows unchanged.
    pub unchanged: u64,
}

/// Diffs a table's current rows, pushed batch by batch in key order, against its previous
/// state, pulled as needed; emits the changes as batches of the table's incremental file
/// schema, in key order.
///
/// A row whose key is new or whose hash differs from its previous hash is an upsert (the
/// whole row); a previous key with no current row is a tombstone (the key alone, deleted
/// set). Memory is a few batches, whatever the table's size.
pub struct Differ<'a> {
    previous: Cursor<'a>,
    /// Position of the hash in previous-state batches.
    previous_hash: usize,
    previous_key: Vec<KeyColumn>,
    current_key: Vec<KeyColumn>,
    /// Position of the hash in current batches (after the value columns).
    current_hash: usize,
    output: SchemaRef,
    batch_rows: usize,
    /// The last current row pushed, to check the next batch follows it.
    last_current: Option<(KeyView, usize)>,
    gather: Gather,
    stats: DiffStats,
}

impl<'a> Differ<'a> {
    /// A diff of `table` against `previous`: batches of its [`StateColumns`] (the merge of
    /// its chain so far), in key order. Output batches hold at most `batch_rows` rows.
    pub fn new(table: &TableSchema, previous: Batches<'a>, batch_rows: usize) -> Result<Self> {
        let state = StateColumns::of(table);
        let name = format!("the previous backup state of table `{}`", table.name);
        Ok(Differ {
            previous: Cursor::new(name, previous, state.key.clone())?,
            previous_hash: state.schema.fields().len() - 1,
            previous_key: state.key,
            current_key: table.key_columns(),
            current_hash: table.value_column_count(),
            output: table.file_schema(BackupKind::Incremental),
            batch_rows: batch_rows.max(1),
            last_current: None,
            gather: Gather::default(),
            stats: DiffStats::default(),
        })
    }

    /// Diffs the next batch of current rows (the table's full-backup file schema: values
    /// then hash), handing out batches of changes as they are ready.
    pub fn push(
        &mut self,
        current: &RecordBatch,
        emit: &mut dyn FnMut(RecordBatch) -> Result<()>,
    ) -> Result<()> {
        if current.num_rows() == 0 {
            return Ok(());
        }
        if current.num_columns() != self.current_hash + 1 {
            return Err(Error::Layout(format!(
                "current rows have {} columns, {} expected",
                current.num_columns(),
                self.current_hash + 1
            )));
        }
        let key = KeyView::new(current, &self.current_key)?;
        let hashes = current
            .column(self.current_hash)
            .as_primitive_opt::<UInt64Type>()
            .ok_or_else(|| Error::Layout("the row hash column is not UInt64".into()))?
            .clone();
        let mut upserts_slot = None;
        for row in 0..current.num_rows() {
            let follows = match (row, &self.last_current) {
                (0, None) => true,
                (0, Some((last, last_row))) => last.compare(*last_row, &key, 0).is_lt(),
                _ => key.compare(row - 1, &key, row).is_lt(),
            };
            if !follows {
                return Err(Error::OutOfOrder {
                    input: "the table's current scan".into(),
                    row,
                });
            }
            loop {
                let Some((batch, previous_key, previous_row)) = self.previous.current() else {
                    self.upsert(current, &mut upserts_slot, row)?;
                    break;
                };
                match previous_key.compare(previous_row, &key, row) {
                    std::cmp::Ordering::Less => {
                        self.tombstone()?;
                        self.previous.advance()?;
                    }
                    std::cmp::Ordering::Equal => {
                        let hash = batch
                            .column(self.previous_hash)
                            .as_primitive_opt::<UInt64Type>()
                            .filter(|h| h.is_valid(previous_row))
                            .map(|h| h.value(previous_row));
                        if hash == Some(hashes.value(row)) {
                            self.stats.unchanged += 1;
                        } else {
                            self.upsert(current, &mut upserts_slot, row)?;
                        }
                        self.previous.advance()?;
                        break;
                    }
                    std::cmp::Ordering::Greater => {
                        self.upsert(current, &mut upserts_slot, row)?;
                        break;
                    }
                }
                if self.gather.is_full(self.batch_rows) {
                    self.flush(&mut upserts_slot, emit)?;
                }
            }
            if self.gather.is_full(self.batch_rows) {
                self.flush(&mut upserts_slot, emit)?;
            }
        }
        // The current batch is the caller's: what was picked from it is built now.
        self.flush(&mut upserts_slot, emit)?;
        self.last_current = Some((key, current.num_rows() - 1));
        Ok(())
    }

    /// Ends the diff: every previous key not seen is a tombstone.
    pub fn finish(mut self, emit: &mut dyn FnMut(RecordBatch) -> Result<()>) -> Result<DiffStats> {
        let mut no_upserts = None;
        while self.previous.current().is_some() {
            self.tombstone()?;
            self.previous.advance()?;
            if self.gather.is_full(self.batch_rows) {
                self.flush(&mut no_upserts, emit)?;
            }
        }
        self.flush(&mut no_upserts, emit)?;
        Ok(self.stats)
    }

    fn upsert(
        &mut self,
        current: &RecordBatch,
        slot: &mut Option<usize>,
        row: usize,
    ) -> Result<()> {
        let slot = match *slot {
            Some(slot) => slot,
            None => {
                let mut columns = current.columns().to_vec();
                columns.push(Arc::new(BooleanArray::from(vec![
                    false;
                    current.num_rows()
                ])));
                let s = self
                    .gather
                    .slot(RecordBatch::try_new(self.output.clone(), columns)?);
                *slot = Some(s);
                s
            }
        };
        self.gather.push(slot, row);
        self.stats.upserts += 1;
        Ok(())
    }

    /// Records the previous cursor's current row as deleted.
    fn tombstone(&mut self) -> Result<()> {
        let (batch, _, row) = self.previous.current().expect("a previous row");
        let slot = match self.previous.slot {
            Some(slot) => slot,
            None => {
                let tombstones = self.tombstones(batch)?;
                let slot = self.gather.slot(tombstones);
                self.previous.slot = Some(slot);
                slot
            }
        };
        self.gather.push(slot, row);
        self.stats.deletes += 1;
        Ok(())
    }

    /// `state` (a previous-state batch) as tombstones of the output schema: its keys, every
    /// other column NULL, deleted set.
    fn tombstones(&self, state: &RecordBatch) -> Result<RecordBatch> {
        let rows = state.num_rows();
        let fields = self.output.fields();
        let mut columns: Vec<ArrayRef> = fields
            .iter()
            .map(|f| new_null_array(f.data_type(), rows))
            .collect();
        for (current, previous) in self.current_key.iter().zip(&self.previous_key) {
            columns[current.value] = state.column(previous.value).clone();
            if let (Some(to), Some(from)) = (current.raw, previous.raw) {
                columns[to] = state.column(from).clone();
            }
        }
        columns[fields.len() - 1] = Arc::new(BooleanArray::from(vec![true; rows]));
        Ok(RecordBatch::try_new(self.output.clone(), columns)?)
    }

    fn flush(
        &mut self,
        upserts_slot: &mut Option<usize>,
        emit: &mut dyn FnMut(RecordBatch) -> Result<()>,
    ) -> Result<()> {
        *upserts_slot = None;
        self.previous.slot = None;
        match self.gather.take()? {
            Some(batch) => emit(batch),
            None => Ok(()),
        }
    }
}
