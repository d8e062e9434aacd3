//! Reading a chain back: a k-way merge of key-ordered inputs, latest wins, tombstones delete.

use arrow::array::{Array, AsArray, BooleanArray};
use arrow::compute::{filter_record_batch, not};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use quiver_catalog::KeyColumn;

use crate::cursor::Cursor;
use crate::gather::Gather;
use crate::{Error, Result};

/// A stream of record batches, as the engine reads them.
pub type Batches<'a> = Box<dyn Iterator<Item = Result<RecordBatch>> + Send + 'a>;

/// One input of a [`Merge`]: the rows of one backup's file for a table, in key order.
pub struct MergeInput<'a> {
    batches: Batches<'a>,
    /// Whether the batches end with the deleted column (incremental files do).
    has_deleted: bool,
}

impl<'a> MergeInput<'a> {
    /// Rows of a full backup: every row is present.
    pub fn full(batches: Batches<'a>) -> Self {
        MergeInput {
            batches,
            has_deleted: false,
        }
    }

    /// Rows of an incremental backup: each batch's last column says whether the row was deleted.
    pub fn incremental(batches: Batches<'a>) -> Self {
        MergeInput {
            batches,
            has_deleted: true,
        }
    }
}

struct Input<'a> {
    cursor: Cursor<'a>,
    has_deleted: bool,
}

/// The k-way merge of a chain's inputs by key (earliest input first): for every key, the row
/// of the latest input that has it, unless that row is a tombstone. Yields batches of the
/// output schema, whose columns are the first columns of every input batch.
///
/// A single input is passed through batch by batch (tombstones dropped), without comparing
/// keys: a restore of a full backup costs no merging.
pub struct Merge<'a> {
    inputs: Vec<Input<'a>>,
    /// The lone input, when there is only one.
    single: Option<MergeInput<'a>>,
    output: SchemaRef,
    batch_rows: usize,
    gather: Gather,
    failed: bool,
}

impl<'a> Merge<'a> {
    /// Merges `inputs`, whose key columns are at `key`, into batches of `output` of at most
    /// `batch_rows` rows. Reads the first batch of every input.
    pub fn new(
        mut inputs: Vec<MergeInput<'a>>,
        key: Vec<KeyColumn>,
        output: SchemaRef,
        batch_rows: usize,
    ) -> Result<Self> {
        let single = if inputs.len() == 1 {
            inputs.pop()
        } else {
            None
        };
        let inputs = inputs
            .into_iter()
            .enumerate()
            .map(|(position, input)| {
                let name = format!("data file {} of the chain", position + 1);
                Ok(Input {
                    cursor: Cursor::new(name, input.batches, key.clone())?,
                    has_deleted: input.has_deleted,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Merge {
            inputs,
            single,
            output,
            batch_rows: batch_rows.max(1),
            gather: Gather::default(),
            failed: false,
        })
    }

    /// The first `output` columns of `batch`.
    fn project(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let width = self.output.fields().len();
        if batch.num_columns() < width {
            return Err(Error::Layout(format!(
                "a batch of {} columns, {width} expected",
                batch.num_columns()
            )));
        }
        Ok(RecordBatch::try_new(
            self.output.clone(),
            batch.columns()[..width].to_vec(),
        )?)
    }

    /// The next batch of the lone input, tombstones dropped.
    fn next_single(&mut self) -> Result<Option<RecordBatch>> {
        loop {
            let Some(input) = self.single.as_mut() else {
                return Ok(None);
            };
            let Some(batch) = input.batches.next() else {
                return Ok(None);
            };
            let mut batch = batch?;
            if input.has_deleted {
                let live = not(deleted_column(&batch)?)?;
                batch = filter_record_batch(&batch, &live)?;
            }
            if batch.num_rows() > 0 {
                return self.project(&batch).map(Some);
            }
        }
    }

    /// Merges rows until a batch is ready or every input is exhausted.
    fn next_merged(&mut self) -> Result<Option<RecordBatch>> {
        loop {
            if self.gather.is_full(self.batch_rows) {
                return self.take();
            }
            // The smallest key; among equal keys the latest input's row.
            let mut winner: Option<usize> = None;
            for i in 0..self.inputs.len() {
                let Some((_, key, row)) = self.inputs[i].cursor.current() else {
                    continue;
                };
                winner = match winner {
                    None => Some(i),
                    Some(w) => {
                        let (_, best, best_row) = self.inputs[w].cursor.current().expect("live");
                        if key.compare(row, best, best_row).is_le() {
                            Some(i)
                        } else {
                            Some(w)
                        }
                    }
                };
            }
            let Some(w) = winner else {
                return self.take();
            };
            let (batch, _, row) = self.inputs[w].cursor.current().expect("live");
            let deleted = self.inputs[w].has_deleted && deleted_column(batch)?.value(row);
            if !deleted {
                let slot = match self.inputs[w].cursor.slot {
                    Some(slot) => slot,
                    None => {
                        let projected = self.project(batch)?;
                        let slot = self.gather.slot(projected);
                        self.inputs[w].cursor.slot = Some(slot);
                        slot
                    }
                };
                self.gather.push(slot, row);
            }
            // Older rows of the same key are superseded.
            for i in 0..self.inputs.len() {
                if i == w {
                    continue;
                }
                let same = match (
                    self.inputs[i].cursor.current(),
                    self.inputs[w].cursor.current(),
                ) {
                    (Some((_, key, row)), Some((_, best, best_row))) => {
                        key.compare(row, best, best_row).is_eq()
                    }
                    _ => false,
                };
                if same {
                    self.inputs[i].cursor.advance()?;
                }
            }
            self.inputs[w].cursor.advance()?;
        }
    }

    fn take(&mut self) -> Result<Option<RecordBatch>> {
        for input in &mut self.inputs {
            input.cursor.slot = None;
        }
        self.gather.take()
    }
}

impl Iterator for Merge<'_> {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let next = if self.single.is_some() {
            self.next_single()
        } else {
            self.next_merged()
        };
        match next {
            Ok(batch) => batch.map(Ok),
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// The deleted column of an incremental batch: its last.
pub(crate) fn deleted_column(batch: &RecordBatch) -> Result<&BooleanArray> {
    batch
        .columns()
        .last()
        .and_then(|c| c.as_boolean_opt())
        .filter(|c| c.null_count() == 0)
        .ok_or_else(|| Error::Layout("an incremental batch without its deleted column".into()))
}
