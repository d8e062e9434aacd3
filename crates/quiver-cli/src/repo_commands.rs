//! Subcommands that work on a repository or a storage location, without a database:
//! ls, show, verify, prune, gc, export, import.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use arrow::util::pretty::pretty_format_batches;
use quiver::catalog::Repository;
use quiver::storage::{CopyProgress, CopyReport, Location, VerifyReport};
use quiver::{ExecError, QueryResult, human_bytes, stored};
use serde::Serialize;

/// Where the repository is: --repo, or `<db>.quiver` beside --db.
pub(crate) fn repository(db: Option<String>, repo: Option<PathBuf>) -> Result<Repository, String> {
    let root = match (repo, db) {
        (Some(repo), _) => repo,
        (None, Some(db)) if quiver::postgres::is_postgres_url(&db) => {
            return Err("error: a PostgreSQL database has no file to keep backups beside: give the repository with --repo <DIR> (or QUIVER_REPO)\n".into());
        }
        (None, Some(db)) => {
            let db = PathBuf::from(db);
            let mut name = db.file_name().unwrap_or_default().to_os_string();
            name.push(".quiver");
            db.with_file_name(name)
        }
        (None, None) => {
            return Err("error: this command needs the repository: give --repo <DIR>, or --db <PATH> for the one beside a database\n".into());
        }
    };
    Repository::open(root).map_err(|e| render(&ExecError::from(e)))
}

/// A location from a URL and `key=value` S3 options.
pub(crate) fn location(url: &str, options: &[String]) -> Result<Location, String> {
    let mut pairs = Vec::new();
    for option in options {
        let (key, value) = option.split_once('=').ok_or_else(|| {
            format!("error: storage option `{option}` is not key=value\n  = hint: e.g. -o endpoint=http://127.0.0.1:9000\n")
        })?;
        pairs.push((key.to_string(), value.to_string()));
    }
    Location::parse_with(url, &pairs).map_err(|e| render(&ExecError::from(e)))
}

/// True when `target` names a location rather than a collection.
pub(crate) fn is_url(target: &str) -> bool {
    target.contains("://")
}

/// An error as the CLI prints it: message, then the hint.
pub(crate) fn render(error: &ExecError) -> String {
    let mut text = format!("error: {error}\n");
    if let Some(hint) = error.hint() {
        text.push_str(&format!("  = hint: {hint}\n"));
    }
    text
}

pub(crate) fn print_json(value: &impl Serialize) {
    let text =
        serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    outln!("{text}");
}

pub(crate) fn print_rows(rows: &QueryResult) {
    match pretty_format_batches(&rows.batches) {
        Ok(table) => outln!("{table}"),
        Err(e) => outln!("(cannot display rows: {e})"),
    }
}

/// `quiver ls`
pub(crate) fn ls(repo: &Repository, json: bool) -> Result<(), String> {
    let summaries = stored::collections(repo).map_err(|e| render(&e))?;
    if json {
        print_json(&summaries);
    } else if summaries.is_empty() {
        outln!("no backup collections in {}", repo.root().display());
    } else {
        print_rows(&stored::collections_rows(&summaries));
    }
    Ok(())
}

/// `quiver query [--at id] <sql>`
pub(crate) fn query(repo: &Repository, sql: &str, at: Option<&str>) -> Result<(), String> {
    let rows = stored::query(repo, at, sql, 8192).map_err(|e| render(&e))?;
    for warning in &rows.warnings {
        errprint!("warning: {warning}\n");
    }
    print_rows(&rows);
    let n = rows.row_count();
    outln!("({n} row{})", if n == 1 { "" } else { "s" });
    Ok(())
}

/// `quiver show <collection>`
pub(crate) fn show(repo: &Repository, name: &str, json: bool) -> Result<(), String> {
    let summaries = stored::backups(repo, name).map_err(|e| render(&e))?;
    if json {
        print_json(&summaries);
    } else if summaries.is_empty() {
        outln!("backup collection `{name}` has no backups yet");
    } else {
        print_rows(&stored::backups_rows(&summaries));
    }
    Ok(())
}

/// `quiver verify <collection | url>`: exits non-zero, naming each fault, if any.
pub(crate) fn verify(
    repo: impl FnOnce() -> Result<Repository, String>,
    target: &str,
    at: Option<&str>,
    options: &[String],
    json: bool,
    quiet: bool,
) -> Result<(), String> {
    let mut meter = Meter::new("verify", quiet || json);
    let mut progress = |p: quiver::storage::VerifyProgress| meter.show("", p.done, p.total);
    let report = if is_url(target) {
        quiver::storage::verify(
            &location(target, options)?,
            at,
            &stored::check_ddl,
            &quiver::catalog::crypto::KeyEnvironment::from_process(),
            &mut progress,
        )
        .map_err(|e| render(&e.into()))?
    } else {
        stored::verify(&repo()?, target, at, &mut progress).map_err(|e| render(&e))?
    };
    meter.clear();
    if json {
        print_json(&report);
    } else {
        print_verify(&report);
    }
    if report.is_ok() {
        Ok(())
    } else {
        Err(String::new())
    }
}

fn print_verify(report: &VerifyReport) {
    for foreign in &report.foreign {
        outln!("note: {foreign} is not a file quiver writes: left alone");
    }
    let summary = format!(
        "{} backup(s), {} data file(s), {} read",
        report.backups.len(),
        report.files,
        human_bytes(report.bytes)
    );
    if let Some(why) = &report.contents_unchecked {
        outln!("note: contents not checked: {why}");
    }
    if report.is_ok() {
        let sound = match report.contents_unchecked {
            None => "every size, crc32, manifest and chain link is sound",
            Some(_) => "every size, crc32 and chain link is sound (contents not checked)",
        };
        outln!("{}: {summary}: {sound}", report.url);
        return;
    }
    outln!(
        "{}: {summary}: {} fault(s):",
        report.url,
        report.faults.len()
    );
    for fault in &report.faults {
        outln!("  - {fault}");
    }
}

/// `quiver prune <collection>`
pub(crate) fn prune(
    repo: &Repository,
    name: &str,
    dry_run: bool,
    json: bool,
) -> Result<(), String> {
    let now = time::OffsetDateTime::now_utc();
    let prune = || quiver::prune::prune(repo, name, now, dry_run).map(quiver::Outcome::Pruned);
    let result = if dry_run {
        prune()
    } else {
        let how = quiver::operations::Logged::default();
        let (result, _, failed) = quiver::operations::record(
            repo,
            quiver::catalog::OperationKind::Prune,
            name,
            &how,
            prune,
        );
        if let Some(failed) = failed {
            errprint!("warning: {failed}\n");
        }
        result
    };
    let quiver::Outcome::Pruned(report) = result.map_err(|e| render(&e))? else {
        unreachable!("prune gives a prune report")
    };
    if json {
        print_json(&report);
    } else {
        outln!("{report}");
    }
    Ok(())
}

/// `quiver compact <collection> [--at id]`
pub(crate) fn compact(
    repo: &Repository,
    name: &str,
    at: Option<&str>,
    json: bool,
) -> Result<(), String> {
    let how = quiver::operations::Logged::default();
    let (result, _, failed) = quiver::operations::record(
        repo,
        quiver::catalog::OperationKind::Compact,
        name,
        &how,
        || {
            quiver::compacting::compact(repo, name, at, 8192).map(|report| {
                quiver::Outcome::Compacted {
                    collection: name.to_string(),
                    report,
                }
            })
        },
    );
    if let Some(failed) = failed {
        errprint!("warning: {failed}\n");
    }
    let outcome = result.map_err(|e| render(&e))?;
    match (&outcome, json) {
        (quiver::Outcome::Compacted { report, .. }, true) => print_json(&serde_json::json!({
            "collection": name,
            "backup": report.manifest.id,
            "replaced": report.replaced,
            "merged": report.merged,
            "relinked": report.relinked,
            "rows": report.manifest.rows(),
            "bytes": report.manifest.bytes(),
        })),
        _ => outln!("{outcome}"),
    }
    Ok(())
}

/// `quiver gc <collection | url>`
pub(crate) fn gc(
    repo: impl FnOnce() -> Result<Repository, String>,
    target: &str,
    options: &[String],
    gc: quiver::storage::GcOptions,
    json: bool,
) -> Result<(), String> {
    let dry_run = gc.dry_run;
    let report = if is_url(target) {
        let keys = quiver::catalog::crypto::KeyEnvironment::from_process();
        quiver::storage::gc(&location(target, options)?, &keys, gc)
            .map_err(|e| render(&e.into()))?
    } else {
        stored::gc(&repo()?, target, dry_run).map_err(|e| render(&e))?
    };
    if json {
        print_json(&report);
        return Ok(());
    }
    let verb = if dry_run { "would remove" } else { "removed" };
    for (path, size) in &report.removed {
        outln!("{verb} {path} ({})", human_bytes(*size));
    }
    for (path, why) in &report.kept {
        outln!("kept {path}: {why}");
    }
    outln!(
        "{}: {verb} {} file(s), {}",
        report.url,
        report.removed.len(),
        human_bytes(report.bytes)
    );
    Ok(())
}

/// `quiver export <collection> --to <url>`
pub(crate) fn export(
    repo: &Repository,
    name: &str,
    to: &str,
    backup: Option<&str>,
    options: &[String],
    json: bool,
    quiet: bool,
) -> Result<(), String> {
    let target = location(to, options)?;
    let mut meter = Meter::new("export", quiet || json);
    let report = stored::export(repo, name, &target, backup, &mut |p: &CopyProgress| {
        meter.show(&p.file, p.done, p.total)
    })
    .map_err(|e| render(&e))?;
    meter.clear();
    print_copy("export", name, &report, json);
    Ok(())
}

/// `quiver import --from <url> --as <collection>`
pub(crate) fn import(
    repo: &Repository,
    from: &str,
    name: &str,
    backup: Option<&str>,
    options: &[String],
    json: bool,
    quiet: bool,
) -> Result<(), String> {
    let source = location(from, options)?;
    let mut meter = Meter::new("import", quiet || json);
    let report = stored::import(repo, &source, name, backup, &mut |p: &CopyProgress| {
        meter.show(&p.file, p.done, p.total)
    })
    .map_err(|e| render(&e))?;
    meter.clear();
    print_copy("import", name, &report, json);
    Ok(())
}

fn print_copy(verb: &str, name: &str, report: &CopyReport, json: bool) {
    if json {
        print_json(report);
        return;
    }
    outln!(
        "{verb} {name}: {} backup(s) copied to {} ({} data file(s), {}, every crc32 checked), {} already there",
        report.copied.len(),
        report.url,
        report.files,
        human_bytes(report.bytes),
        report.present.len()
    );
    for id in &report.copied {
        outln!("  copied  {id}");
    }
    for id in &report.present {
        outln!("  present {id}");
    }
}

/// A byte-count progress line on standard error, for terminals, redrawn ten times a second.
struct Meter {
    verb: &'static str,
    enabled: bool,
    last: Option<Instant>,
}

impl Meter {
    fn new(verb: &'static str, quiet: bool) -> Meter {
        Meter {
            verb,
            enabled: !quiet && std::io::stderr().is_terminal(),
            last: None,
        }
    }

    fn show(&mut self, file: &str, done: u64, total: u64) {
        let now = Instant::now();
        if !self.enabled
            || self
                .last
                .is_some_and(|t| now - t < Duration::from_millis(100))
        {
            return;
        }
        self.last = Some(now);
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[2K{}: {} of {} {file}\r",
            self.verb,
            human_bytes(done),
            human_bytes(total)
        );
        let _ = err.flush();
    }

    fn clear(&self) {
        if self.enabled {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
    }
}
