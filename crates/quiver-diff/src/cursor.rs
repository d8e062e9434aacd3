//! A position in a key-ordered stream of batches.

use arrow::record_batch::RecordBatch;
use quiver_catalog::KeyColumn;

use crate::key::KeyView;
use crate::merge::Batches;
use crate::{Error, Result};

/// Walks the rows of a stream of batches in order, checking that keys strictly increase.
pub(crate) struct Cursor<'a> {
    /// Names the input in errors.
    name: String,
    batches: Batches<'a>,
    key: Vec<KeyColumn>,
    batch: Option<(RecordBatch, KeyView)>,
    row: usize,
    /// The current batch's slot in the caller's [`crate::gather::Gather`], once it has one.
    pub(crate) slot: Option<usize>,
}

impl<'a> Cursor<'a> {
    /// A cursor on the first row of `batches`.
    pub(crate) fn new(name: String, batches: Batches<'a>, key: Vec<KeyColumn>) -> Result<Self> {
        let mut cursor = Cursor {
            name,
            batches,
            key,
            batch: None,
            row: 0,
            slot: None,
        };
        cursor.load()?;
        Ok(cursor)
    }

    /// The current row's batch, key and index; `None` when the stream is exhausted.
    pub(crate) fn current(&self) -> Option<(&RecordBatch, &KeyView, usize)> {
        self.batch
            .as_ref()
            .map(|(batch, key)| (batch, key, self.row))
    }

    /// Moves to the next row, loading the next batch when this one is done.
    pub(crate) fn advance(&mut self) -> Result<()> {
        let Some((batch, key)) = &self.batch else {
            return Ok(());
        };
        self.row += 1;
        if self.row < batch.num_rows() {
            if key.compare(self.row - 1, key, self.row).is_ge() {
                return Err(self.out_of_order(self.row));
            }
            return Ok(());
        }
        let (last, last_row) = (key.clone(), self.row - 1);
        self.load()?;
        if let Some((_, key)) = &self.batch
            && last.compare(last_row, key, 0).is_ge()
        {
            return Err(self.out_of_order(0));
        }
        Ok(())
    }

    /// Loads the next non-empty batch, or marks the stream exhausted.
    fn load(&mut self) -> Result<()> {
        self.batch = None;
        self.row = 0;
        self.slot = None;
        for batch in self.batches.by_ref() {
            let batch = batch?;
            if batch.num_rows() > 0 {
                let key = KeyView::new(&batch, &self.key)?;
                self.batch = Some((batch, key));
                break;
            }
        }
        Ok(())
    }

    fn out_of_order(&self, row: usize) -> Error {
        Error::OutOfOrder {
            input: self.name.clone(),
            row,
        }
    }
}
