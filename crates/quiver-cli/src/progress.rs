//! A one-line progress display on standard error, for terminals.

use std::io::Write;
use std::time::{Duration, Instant};

use quiver::Progress;
use quiver::restore::RestoreProgress;

/// Redraws at most ten times a second.
#[derive(Default)]
pub(crate) struct Display {
    last: Option<Instant>,
}

impl Display {
    /// The engine callback.
    pub(crate) fn into_callback(mut self) -> impl FnMut(&Progress) + 'static {
        move |progress| self.show(progress)
    }

    fn show(&mut self, progress: &Progress) {
        if let Progress::Note(note) = progress {
            // A line of its own, kept: it is not progress to be overwritten.
            errprint!("\r\x1b[2Knote: {note}\n");
            return;
        }
        let now = Instant::now();
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < Duration::from_millis(100))
        {
            return;
        }
        self.last = Some(now);
        let line = match progress {
            Progress::BackupRows {
                collection,
                table,
                rows,
            } => {
                format!("BACKUP {collection}: {table}: {rows} rows read")
            }
            Progress::Copy {
                collection,
                file,
                done,
                total,
            } => format!(
                "{collection}: copying {file}: {} of {}",
                quiver::human_bytes(*done),
                quiver::human_bytes(*total)
            ),
            Progress::Note(_) => return,
            Progress::Restore { collection, step } => match step {
                RestoreProgress::Verified { done, total } => {
                    format!("RESTORE {collection}: verified {done}/{total} files")
                }
                RestoreProgress::Loading { table, rows } => {
                    format!("RESTORE {collection}: {table}: {rows} rows loaded")
                }
            },
        };
        let mut err = std::io::stderr().lock();
        // \r and clear-to-end-of-line: the next line overwrites this one.
        let _ = write!(err, "\r\x1b[2K{line}\r");
        let _ = err.flush();
    }
}
