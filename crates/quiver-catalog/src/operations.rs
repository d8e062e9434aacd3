//! The operations log: one line of JSON per BACKUP, RESTORE, prune (and each scheduled run
//! skipped), in the collection's directory, so that a collection's history goes with it and
//! a damaged log hides nothing of another collection's.
//!
//! Lines are appended whole (one `write` of an `O_APPEND` file, then fsync); a line a crash
//! cut short, or one damaged or forged, is skipped and counted by the reader, never trusted.

use std::fs::{self, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::{Collection, Error, Result};

/// The operations log, in a collection's directory.
pub const OPERATIONS_FILE: &str = "operations.jsonl";

/// The newest part of a log that is read: far more entries than anyone lists (about 50 000).
const MAX_LOG_READ: u64 = 16 << 20;
/// The longest line written or read: an entry with a long error message.
const MAX_LINE: usize = 16 << 10;

/// What an operation was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperationKind {
    /// BACKUP (full or incremental).
    Backup,
    /// RESTORE.
    Restore,
    /// PRUNE (not a dry run).
    Prune,
    /// COMPACT.
    Compact,
}

impl OperationKind {
    /// Its name as shown: `backup`, `restore`, `prune`, `compact`.
    pub fn as_str(self) -> &'static str {
        match self {
            OperationKind::Backup => "backup",
            OperationKind::Restore => "restore",
            OperationKind::Prune => "prune",
            OperationKind::Compact => "compact",
        }
    }
}

/// How an operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperationResult {
    /// It did what it was asked.
    Ok,
    /// It failed; the entry's `error` says why.
    Failed,
    /// A scheduled run that did not start (the collection was busy); `detail` says why.
    Skipped,
}

impl OperationResult {
    /// `ok`, `failed` or `skipped`.
    pub fn as_str(self) -> &'static str {
        match self {
            OperationResult::Ok => "ok",
            OperationResult::Failed => "failed",
            OperationResult::Skipped => "skipped",
        }
    }
}

/// What started an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// A statement (the shell, a script, `Engine::execute`, a CLI command).
    #[default]
    Statement,
    /// `quiver schedule run`.
    Schedule,
}

/// What an encrypted collection's log keeps of an entry's detail or error.
pub const ENCRYPTED_TEXT: &str =
    "not kept: the collection is encrypted, and the text may name its tables or values";

/// One entry of a collection's operations log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    /// What it was.
    pub kind: OperationKind,
    /// When it started: RFC 3339, UTC.
    pub started_at: String,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// How it ended.
    pub result: OperationResult,
    /// What started it.
    #[serde(default)]
    pub trigger: Trigger,
    /// The backup made (BACKUP) or restored (RESTORE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<String>,
    /// Rows written (BACKUP: rows of a full backup, changes of an incremental) or restored.
    #[serde(default)]
    pub rows: u64,
    /// Bytes of data files written, restored from, or removed (prune).
    #[serde(default)]
    pub bytes: u64,
    /// What else there is to know: why an incremental became a full backup, why a run was
    /// skipped, what a prune removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Operation {
    /// A new entry for an operation that started at `started_at`, with nothing else known yet.
    pub fn new(kind: OperationKind, started_at: OffsetDateTime, result: OperationResult) -> Self {
        Operation {
            kind,
            started_at: started_at.format(&Rfc3339).unwrap_or_default(),
            duration_ms: 0,
            result,
            trigger: Trigger::Statement,
            backup: None,
            rows: 0,
            bytes: 0,
            detail: None,
            error: None,
        }
    }

    /// When it started; `None` when the entry's time does not read (a damaged log).
    pub fn started(&self) -> Option<OffsetDateTime> {
        OffsetDateTime::parse(&self.started_at, &Rfc3339).ok()
    }
}

/// A collection's operations log as read: its entries, oldest first, and how many lines were
/// skipped because they do not read as entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OperationLog {
    /// The entries that read, oldest first.
    pub entries: Vec<Operation>,
    /// Lines that do not read (cut short by a crash, damaged, or not written by quiver).
    pub unreadable_lines: usize,
}

impl Collection {
    /// The log's path, refused when something other than a plain file is there: a symbolic
    /// link planted in the repository would have entries written (or read) anywhere.
    fn operations_path(&self) -> Result<PathBuf> {
        let path = self.dir().join(OPERATIONS_FILE);
        match fs::symlink_metadata(&path) {
            Ok(meta) if !meta.file_type().is_file() => Err(Error::Corrupt {
                what: "operations log",
                path,
                message:
                    "it is not a plain file (a symbolic link?); it is neither read nor written"
                        .into(),
            }),
            _ => Ok(path),
        }
    }

    /// Appends `entry` to the collection's operations log, durably. The lock is not needed:
    /// each entry is one append, and a skipped run is logged while another process holds it.
    pub fn record_operation(&self, entry: &Operation) -> Result<()> {
        let path = self.operations_path()?;
        // An encrypted collection's log is in the clear (a scheduler reads it without the
        // key): its texts, which may name tables or quote values, are not kept; the
        // command's own output has them.
        let mut redacted;
        let entry = if self.def().encryption.key.is_some() {
            redacted = entry.clone();
            for text in [&mut redacted.error, &mut redacted.detail]
                .into_iter()
                .flatten()
            {
                *text = ENCRYPTED_TEXT.to_string();
            }
            &redacted
        } else {
            entry
        };
        let mut line = serde_json::to_vec(entry).map_err(|e| Error::Corrupt {
            what: "operations log entry",
            path: path.clone(),
            message: e.to_string(),
        })?;
        if line.len() >= MAX_LINE {
            // Only a huge error message makes an entry this long: shorten it.
            let mut shorter = entry.clone();
            for text in [&mut shorter.error, &mut shorter.detail]
                .into_iter()
                .flatten()
            {
                shorten(text, 1024);
            }
            line = serde_json::to_vec(&shorter).unwrap_or_default();
        }
        line.push(b'\n');
        let created = !path.exists();
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(Error::io("opening", &path))?;
        // A line cut short by a crash would run into this one: start on a line of its own.
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        if len > 0 && !ends_with_newline(&path, len) {
            line.insert(0, b'\n');
        }
        file.write_all(&line)
            .and_then(|()| file.sync_data())
            .map_err(Error::io("appending to", &path))?;
        if created {
            crate::fsync_dir(self.dir())?;
        }
        Ok(())
    }

    /// The collection's operations log, oldest first (its newest 16 MiB at most). No log yet
    /// is an empty one.
    pub fn operations(&self) -> Result<OperationLog> {
        let path = self.operations_path()?;
        let mut file = match fs::File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(OperationLog::default());
            }
            Err(e) => return Err(Error::io("reading", &path)(e)),
        };
        let len = file.metadata().map_err(Error::io("reading", &path))?.len();
        let start = len.saturating_sub(MAX_LOG_READ);
        file.seek(SeekFrom::Start(start))
            .map_err(Error::io("reading", &path))?;
        let mut bytes = Vec::new();
        file.take(MAX_LOG_READ)
            .read_to_end(&mut bytes)
            .map_err(Error::io("reading", &path))?;
        let mut log = OperationLog::default();
        let mut lines = bytes.split(|&b| b == b'\n').peekable();
        if start > 0 {
            // Reading began inside a line: drop its tail.
            lines.next();
        }
        for line in lines {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match serde_json::from_slice::<Operation>(line) {
                Ok(mut entry) if line.len() <= MAX_LINE => match entry.started() {
                    // Times are kept in one form, UTC, so that they sort as text.
                    Some(at) => {
                        entry.started_at = at
                            .to_offset(time::UtcOffset::UTC)
                            .format(&Rfc3339)
                            .unwrap_or_default();
                        log.entries.push(entry);
                    }
                    None => log.unreadable_lines += 1,
                },
                _ => log.unreadable_lines += 1,
            }
        }
        Ok(log)
    }
}

/// Cuts `text` to at most `max` bytes, on a char boundary, marking the cut.
fn shorten(text: &mut String, max: usize) {
    if text.len() > max {
        let cut = (0..=max)
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        text.truncate(cut);
        text.push('…');
    }
}

fn ends_with_newline(path: &std::path::Path, len: u64) -> bool {
    let mut last = [0u8];
    fs::File::open(path)
        .and_then(|mut f| {
            f.seek(SeekFrom::Start(len - 1))?;
            f.read_exact(&mut last)
        })
        .map(|()| last[0] == b'\n')
        .unwrap_or(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CollectionDef, Repository, StorageKind};

    /// A collection `c` in a new repository at `root`.
    fn collection(root: &std::path::Path) -> Collection {
        Repository::open(root)
            .unwrap()
            .create_collection(&CollectionDef::new(
                "c",
                vec!["t".into()],
                StorageKind::Cluster,
                true,
            ))
            .unwrap()
    }

    #[test]
    fn entries_round_trip_and_damage_is_counted_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let c = collection(dir.path());
        assert_eq!(c.operations().unwrap(), OperationLog::default());
        let mut first = Operation::new(
            OperationKind::Backup,
            OffsetDateTime::UNIX_EPOCH,
            OperationResult::Ok,
        );
        first.rows = 3;
        c.record_operation(&first).unwrap();
        // A crash cut the next line short; garbage and a forged time follow.
        let path = c.dir().join(OPERATIONS_FILE);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"kind\":\"backup\",\"start").unwrap();
        drop(f);
        let mut second = Operation::new(
            OperationKind::Prune,
            OffsetDateTime::UNIX_EPOCH,
            OperationResult::Failed,
        );
        second.error = Some("é".repeat(20_000));
        c.record_operation(&second).unwrap();
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"not json\n{\"kind\":\"backup\",\"started_at\":\"yesterday\",\"duration_ms\":1,\"result\":\"ok\"}\n")
            .unwrap();
        drop(f);
        let log = c.operations().unwrap();
        assert_eq!(log.unreadable_lines, 3, "{log:?}");
        assert_eq!(log.entries.len(), 2);
        assert_eq!(log.entries[0], first);
        assert_eq!(log.entries[1].kind, OperationKind::Prune);
        assert!(log.entries[1].error.as_ref().unwrap().chars().count() < 1100);
    }

    #[test]
    fn a_log_planted_as_a_symbolic_link_is_neither_written_nor_read() {
        let dir = tempfile::tempdir().unwrap();
        let c = collection(&dir.path().join("repo"));
        let victim = dir.path().join("victim");
        fs::write(&victim, "precious\n").unwrap();
        std::os::unix::fs::symlink(&victim, c.dir().join(OPERATIONS_FILE)).unwrap();
        let entry = Operation::new(
            OperationKind::Backup,
            OffsetDateTime::UNIX_EPOCH,
            OperationResult::Ok,
        );
        let err = c.record_operation(&entry).unwrap_err().to_string();
        assert!(err.contains("not a plain file"), "{err}");
        assert!(c.operations().is_err());
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious\n");
    }

    #[test]
    fn times_with_an_offset_are_read_as_utc() {
        let dir = tempfile::tempdir().unwrap();
        let c = collection(dir.path());
        fs::write(
            c.dir().join(OPERATIONS_FILE),
            "{\"kind\":\"backup\",\"started_at\":\"2026-01-01T05:00:00+05:00\",\"duration_ms\":1,\"result\":\"ok\"}\n",
        )
        .unwrap();
        let log = c.operations().unwrap();
        assert_eq!(log.entries[0].started_at, "2026-01-01T00:00:00Z");
    }
}
