//! The operations log, as the engine writes it and SHOW OPERATIONS / `quiver log` read it:
//! every BACKUP, RESTORE and PRUNE records what, when, how long, rows, bytes and result in
//! its collection's log (`quiver_catalog::Collection::record_operation`).

use quiver_catalog::{
    Operation, OperationKind, OperationResult, Repository, Trigger, message_with_causes,
};
use serde::Serialize;
use time::OffsetDateTime;

use crate::error::ExecError;
use crate::outcome::{QueryResult, human_bytes};
use crate::stored::{number, rows, text};
use crate::{Engine, Outcome};

/// One entry of a collection's operations log, with the collection it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoggedOperation {
    /// The collection.
    pub collection: String,
    /// The entry.
    #[serde(flatten)]
    pub entry: Operation,
}

impl std::fmt::Display for LoggedOperation {
    /// One line: `2026-12-03T10:00:00Z backup orders ok 1.2 s full 20261203T100000.000Z_full …`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let e = &self.entry;
        write!(
            f,
            "{} {} {} {} {}",
            e.started_at,
            e.kind.as_str(),
            self.collection,
            e.result.as_str(),
            duration_text(e.duration_ms)
        )?;
        if e.trigger == Trigger::Schedule {
            f.write_str(" (scheduled)")?;
        }
        if let Some(backup) = &e.backup {
            write!(f, " {}", printable(backup))?;
        }
        if e.result == OperationResult::Ok {
            write!(f, ", {} row(s), {}", e.rows, human_bytes(e.bytes))?;
        }
        if let Some(detail) = &e.detail {
            write!(f, "; {}", printable(detail))?;
        }
        if let Some(error) = &e.error {
            write!(f, ": {}", printable(error))?;
        }
        Ok(())
    }
}

/// `text` with control characters escaped (`\n`, `\u{1b}`): a log is read from the
/// repository, and a forged line must not move the cursor, colour the terminal or print
/// lines of its own.
pub fn printable(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if hidden(c) {
                c.escape_unicode().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

/// Control characters (C0, DEL, C1) and the format characters that reorder or hide text on
/// a terminal: bidirectional overrides and isolates, zero-width characters, the BOM.
fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{061C}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
        )
}

/// `entry` as one line of JSON with every [`printable`]-hidden character escaped as `\uXXXX`
/// (JSON itself escapes only C0 controls): safe to print to a terminal.
pub fn json_line(entry: &LoggedOperation) -> String {
    let text = serde_json::to_string(entry).unwrap_or_default();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if hidden(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A duration for people: `850 ms`, `12.3 s`, `4 min 05 s`.
pub fn duration_text(ms: u64) -> String {
    match ms {
        0..1_000 => format!("{ms} ms"),
        1_000..60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        _ => format!("{} min {:02} s", ms / 60_000, ms % 60_000 / 1000),
    }
}

/// The operations logs of collection `name`, or of every collection, oldest first (by start
/// time). A collection whose log cannot be read is reported in `warnings`, never hiding the
/// others'; lines that do not read are counted there too.
pub fn operations(
    repo: &Repository,
    name: Option<&str>,
) -> Result<(Vec<LoggedOperation>, Vec<String>), ExecError> {
    let collections = match name {
        Some(name) => vec![repo.collection(name)?],
        None => repo
            .collection_entries()?
            .into_iter()
            .filter_map(|e| e.collection.ok())
            .collect(),
    };
    let mut all = Vec::new();
    let mut warnings = Vec::new();
    for collection in collections {
        let name = collection.def().name.clone();
        match collection.operations() {
            Ok(log) => {
                if log.unreadable_lines > 0 {
                    warnings.push(format!(
                        "{} line(s) of the operations log of `{name}` do not read and are left out",
                        log.unreadable_lines
                    ));
                }
                all.extend(log.entries.into_iter().map(|entry| LoggedOperation {
                    collection: name.clone(),
                    entry,
                }));
            }
            Err(e) => warnings.push(format!(
                "the operations log of `{name}` cannot be read: {e}"
            )),
        }
    }
    // RFC 3339 UTC times of one format sort as text; the sort is stable within a collection.
    all.sort_by(|a, b| a.entry.started_at.cmp(&b.entry.started_at));
    Ok((all, warnings))
}

/// The rows of `SHOW OPERATIONS`.
pub fn operations_rows(entries: &[LoggedOperation], warnings: Vec<String>) -> QueryResult {
    let mut result = rows(vec![
        ("started", text(entries, |o| o.entry.started_at.clone())),
        ("collection", text(entries, |o| o.collection.clone())),
        ("operation", text(entries, |o| o.entry.kind.as_str().into())),
        (
            "trigger",
            text(entries, |o| match o.entry.trigger {
                Trigger::Statement => "statement".into(),
                Trigger::Schedule => "schedule".into(),
            }),
        ),
        ("result", text(entries, |o| o.entry.result.as_str().into())),
        (
            "duration",
            text(entries, |o| duration_text(o.entry.duration_ms)),
        ),
        (
            "backup",
            text(entries, |o| {
                printable(o.entry.backup.as_deref().unwrap_or_default())
            }),
        ),
        ("rows", number(entries, |o| o.entry.rows)),
        ("size", text(entries, |o| human_bytes(o.entry.bytes))),
        (
            "detail",
            text(entries, |o| {
                let e = &o.entry;
                printable(&match (&e.detail, &e.error) {
                    (Some(d), Some(err)) => format!("{d}: {err}"),
                    (Some(d), None) => d.clone(),
                    (None, Some(err)) => err.clone(),
                    (None, None) => String::new(),
                })
            }),
        ),
    ]);
    result.warnings = warnings;
    result
}

/// What a statement did, for its log entry: the backup made or restored, rows, bytes, detail.
fn describe(repo: &Repository, entry: &mut Operation, outcome: &Outcome) {
    match outcome {
        Outcome::BackupTaken {
            manifest,
            full_instead,
            warnings,
            copy_pending,
            ..
        } => {
            entry.backup = Some(manifest.id.clone());
            entry.rows = match manifest.kind {
                quiver_catalog::BackupKind::Full => manifest.rows(),
                quiver_catalog::BackupKind::Incremental => {
                    let changes = manifest.changes();
                    changes.upserts + changes.deletes
                }
            };
            entry.bytes = manifest.bytes();
            let notes: Vec<&str> = full_instead
                .iter()
                .chain(warnings)
                .chain(copy_pending)
                .map(String::as_str)
                .collect();
            append_detail(entry, &notes.join("; "));
        }
        Outcome::Compacted { report, .. } => {
            entry.backup = Some(report.manifest.id.clone());
            entry.rows = report.manifest.rows();
            entry.bytes = report.manifest.bytes();
            append_detail(
                entry,
                &format!(
                    "replaced {}, merging {} backups",
                    report.replaced, report.merged
                ),
            );
        }
        Outcome::Restored { collection, report } => {
            entry.backup = Some(report.backup_id.clone());
            entry.rows = report.tables.iter().map(|(_, n)| n).sum();
            // Bytes of the chain's files: a restore checks every one of them.
            entry.bytes = repo
                .collection(collection)
                .and_then(|c| {
                    let tip = c.backup(&report.backup_id)?;
                    let chain = quiver_catalog::Chain::ending_at(&c, tip)?;
                    Ok(chain.backups().iter().map(|b| b.bytes()).sum())
                })
                .unwrap_or(0);
        }
        Outcome::Pruned(report) => {
            let removed: Vec<_> = report.removed().collect();
            entry.bytes = removed.iter().map(|b| b.bytes).sum();
            append_detail(
                entry,
                &format!(
                    "removed {} of {} backup(s){}",
                    removed.len(),
                    report.backups.len(),
                    if removed.is_empty() {
                        String::new()
                    } else {
                        format!(
                            ": {}",
                            removed
                                .iter()
                                .map(|b| b.id.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    }
                ),
            );
        }
        _ => {}
    }
}

fn append_detail(entry: &mut Operation, more: &str) {
    if more.is_empty() {
        return;
    }
    entry.detail = Some(match entry.detail.take() {
        Some(d) => format!("{d}; {more}"),
        None => more.to_string(),
    });
}

/// How an operation that is logged was started: what started it, and a note for its entry.
#[derive(Debug, Clone, Default)]
pub struct Logged {
    /// What started it.
    pub trigger: Trigger,
    /// Said first in the entry's detail (a scheduled run: why it is a full backup).
    pub note: Option<String>,
}

/// Runs `run` (a BACKUP, RESTORE or PRUNE of collection `name` of `repo`) and records it in
/// the collection's operations log. Returns its outcome, the entry, and why recording it
/// failed, if it did (which does not undo what was done). A collection that does not exist
/// has no log.
pub fn record(
    repo: &Repository,
    kind: OperationKind,
    name: &str,
    how: &Logged,
    run: impl FnOnce() -> Result<Outcome, ExecError>,
) -> (
    Result<Outcome, ExecError>,
    Option<Operation>,
    Option<String>,
) {
    let clock = repo.clock().clone();
    let started = clock.now();
    let timer = std::time::Instant::now();
    let result = run();
    // A scheduled run that found the collection locked (a backup by hand, a RESTORE, or
    // another scheduler) did not run: skipped, not failed.
    let busy = how.trigger == Trigger::Schedule
        && matches!(
            &result,
            Err(ExecError::Catalog(quiver_catalog::Error::Busy(_)))
        );
    let mut entry = Operation::new(
        kind,
        started,
        match &result {
            Ok(_) => OperationResult::Ok,
            Err(_) if busy => OperationResult::Skipped,
            Err(_) => OperationResult::Failed,
        },
    );
    entry.trigger = how.trigger;
    entry.duration_ms = if clock.is_fake() {
        elapsed_ms(started, clock.now())
    } else {
        timer.elapsed().as_millis() as u64
    };
    if let Some(note) = &how.note {
        append_detail(&mut entry, note);
    }
    match &result {
        Ok(outcome) => describe(repo, &mut entry, outcome),
        Err(_) if busy => append_detail(
            &mut entry,
            "skipped: the collection is busy (another BACKUP, RESTORE or DROP of it is running)",
        ),
        Err(e) => entry.error = Some(error_text(e)),
    }
    let Ok(collection) = repo.collection(name) else {
        return (result, None, None);
    };
    let failed = collection.record_operation(&entry).err().map(|e| {
        format!(
            "the operation is done, but recording it in the operations log of `{name}` failed: {e}"
        )
    });
    (result, Some(entry), failed)
}

impl Engine {
    /// [`record`] for a statement of this engine; a failure to record is reported as a note.
    pub(crate) fn logged(
        &mut self,
        kind: OperationKind,
        name: &str,
        how: &Logged,
        run: impl FnOnce(&mut Engine) -> Result<Outcome, ExecError>,
    ) -> (Result<Outcome, ExecError>, Option<Operation>) {
        let repo = self.repo.clone();
        let (mut result, entry, failed) = record(&repo, kind, name, how, || run(self));
        if let Some(failed) = failed {
            // Said with the outcome where it has warnings (printed, also to scripts), else
            // as a note.
            match &mut result {
                Ok(Outcome::BackupTaken { warnings, .. }) => warnings.push(failed),
                Ok(Outcome::Restored { report, .. }) => report.warnings.push(failed),
                _ => self.report(crate::Progress::Note(failed)),
            }
        }
        (result, entry)
    }
}

fn elapsed_ms(from: OffsetDateTime, to: OffsetDateTime) -> u64 {
    u64::try_from((to - from).whole_milliseconds()).unwrap_or(0)
}

/// An error as the log keeps it: the message with its causes, secrets masked.
pub(crate) fn error_text(e: &ExecError) -> String {
    quiver_storage::mask_secrets(&message_with_causes(e))
}
