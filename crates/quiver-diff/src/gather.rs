//! Collecting output rows from several batches into one.

use arrow::compute::interleave_record_batch;
use arrow::record_batch::RecordBatch;

use crate::Result;

/// More source batches than this held at once triggers a flush: it bounds memory when
/// every source batch contributes only a few rows.
const MAX_SLOTS: usize = 32;

/// Output rows picked from source batches (all of the output's schema), built into one batch
/// when taken.
#[derive(Default)]
pub(crate) struct Gather {
    slots: Vec<RecordBatch>,
    rows: Vec<(usize, usize)>,
}

impl Gather {
    /// Keeps `batch` until the next [`Gather::take`]; returns its slot.
    pub(crate) fn slot(&mut self, batch: RecordBatch) -> usize {
        self.slots.push(batch);
        self.slots.len() - 1
    }

    /// Picks row `row` of the batch in `slot`.
    pub(crate) fn push(&mut self, slot: usize, row: usize) {
        self.rows.push((slot, row));
    }

    /// Whether it is time to take what was gathered.
    pub(crate) fn is_full(&self, batch_rows: usize) -> bool {
        self.rows.len() >= batch_rows || self.slots.len() >= MAX_SLOTS
    }

    /// The rows picked so far, as one batch (`None` if there are none); frees every slot.
    pub(crate) fn take(&mut self) -> Result<Option<RecordBatch>> {
        let batch = if self.rows.is_empty() {
            None
        } else if self.slots.len() == 1 && is_run(&self.rows, self.slots[0].num_rows()) {
            // All of one batch, in order: nothing to copy.
            Some(self.slots[0].clone())
        } else {
            let slots: Vec<&RecordBatch> = self.slots.iter().collect();
            Some(interleave_record_batch(&slots, &self.rows)?)
        };
        self.slots.clear();
        self.rows.clear();
        Ok(batch)
    }
}

/// Whether `rows` are rows 0..len of slot 0 in order.
fn is_run(rows: &[(usize, usize)], len: usize) -> bool {
    rows.len() == len && rows.iter().enumerate().all(|(i, &(_, row))| row == i)
}
