//! A data-file writer on a thread of its own, so that encoding and compression overlap
//! with reading the next rows from the database.

use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

use arrow::record_batch::RecordBatch;

use crate::{FileDigest, Result, SnapshotWriter};

/// Batches handed to [`PipelinedWriter::write`] are encoded on a worker thread; at most
/// `depth` of them wait in between, which bounds memory.
pub struct PipelinedWriter {
    sender: Option<SyncSender<RecordBatch>>,
    worker: Option<JoinHandle<Result<FileDigest>>>,
}

impl PipelinedWriter {
    /// Moves `writer` to a new thread that writes what it is sent.
    pub fn spawn(mut writer: SnapshotWriter, depth: usize) -> PipelinedWriter {
        let (sender, receiver) = sync_channel::<RecordBatch>(depth.max(1));
        let worker = std::thread::spawn(move || {
            for batch in receiver {
                // On error the receiver is dropped here, so the next send fails and the
                // caller collects this error from `finish`.
                writer.write(&batch)?;
            }
            writer.finish()
        });
        PipelinedWriter {
            sender: Some(sender),
            worker: Some(worker),
        }
    }

    /// Queues a batch; blocks while `depth` batches are already waiting. After an error the
    /// writer is spent: drop it.
    pub fn write(&mut self, batch: RecordBatch) -> Result<()> {
        let sender = self.sender.as_ref().expect("sender lives until finish");
        if sender.send(batch).is_err() {
            // The worker stopped early: it failed, and says why.
            self.sender = None;
            return self.join().map(|_| ());
        }
        Ok(())
    }

    /// Waits for every queued batch to be written, then finishes the file.
    pub fn finish(mut self) -> Result<FileDigest> {
        self.sender = None;
        self.join()
    }

    fn join(&mut self) -> Result<FileDigest> {
        let worker = self.worker.take().expect("joined once");
        match worker.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

impl Drop for PipelinedWriter {
    fn drop(&mut self) {
        self.sender = None;
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}
