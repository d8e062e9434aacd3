//! BACKUP: external storage and notes around `quiver_backup::take`, which takes it.

use quiver_backup::{BackupOptions, BackupProgress};

use crate::error::ExecError;
use crate::{Engine, Outcome, Progress, external};

/// What BACKUP is asked for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BackupRequest {
    /// `BACKUP name INCREMENTAL`.
    pub incremental: bool,
    /// Unattended (scheduled): an incremental that cannot be taken becomes a full backup.
    pub unattended: bool,
}

/// Runs `BACKUP name [INCREMENTAL]`.
pub(crate) fn run(
    engine: &mut Engine,
    name: &str,
    request: BackupRequest,
) -> Result<Outcome, ExecError> {
    let BackupRequest {
        incremental,
        unattended,
    } = request;
    let mut collection = engine.repo.collection(name)?;
    // The backup reads through sessions of its own, which would not see this one's writes.
    engine.outside_transaction("BACKUP")?;
    if incremental {
        quiver_backup::check_incremental_allowed(&collection)?;
    }
    let lock = collection.lock()?;
    let mut warnings = Vec::new();
    let external = external::location(&collection)?;
    if let Some(location) = &external {
        // A newer backup at the URL than in the repository (taken from another machine, or
        // the repository is new): the next backup builds on it. Storage that cannot be
        // reached does not stop the backup: it is taken locally, its copy left pending.
        match external::fetch(&collection, &lock, location, None, &mut |p| {
            engine.report(Progress::copy(name, p))
        }) {
            Ok(_) => {}
            Err(e) if external::unreachable(&e) => warnings.push(format!(
                "could not look for newer backups at {} ({e}); this backup builds on the repository's",
                location.url()
            )),
            Err(e) => return Err(e),
        }
    }
    for note in engine.db.backup_notes() {
        engine.report(Progress::Note(note.clone()));
        warnings.push(note);
    }
    let mut source = engine.db.source()?;
    let options = BackupOptions {
        incremental,
        batch_rows: engine.batch_rows,
        full_when_incremental_impossible: unattended,
    };
    let mut progress = engine.progress.take();
    let taken = quiver_backup::take(
        &mut collection,
        &lock,
        source.as_mut(),
        &options,
        &mut |BackupProgress::Rows { table, rows }| {
            if let Some(report) = &mut progress {
                report(&Progress::BackupRows {
                    collection: name.to_string(),
                    table,
                    rows,
                });
            }
        },
    );
    engine.progress = progress;
    let quiver_backup::TakenBackup {
        manifest,
        full_instead,
    } = taken?;
    if let Some(why) = &full_instead {
        engine.report(Progress::Note(why.clone()));
    }
    let (stored_at, copy_pending) = match &external {
        None => (None, None),
        Some(location) => match external::store(&collection, location, &mut |p| {
            engine.report(Progress::copy(name, p))
        }) {
            Ok(_) => (Some(location.url().to_string()), None),
            Err(e) => (
                None,
                Some(format!(
                    "copying it to {} failed: {e}; the next BACKUP copies it, or now: quiver export {name} --to {}",
                    location.url(),
                    location.url()
                )),
            ),
        },
    };
    Ok(Outcome::BackupTaken {
        manifest,
        stored_at,
        copy_pending,
        warnings,
        full_instead,
    })
}
