//! `quiver schedule run`: takes each collection's backups when they are due, each on a
//! thread with an engine (a database connection) of its own, so that a failing, slow or
//! locked collection never delays another.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use quiver_catalog::{Clock, Operation, OperationKind, OperationResult, Repository, Trigger};

use super::{DueRun, assess_all};
use crate::error::ExecError;
use crate::operations::{Logged, LoggedOperation, error_text};
use crate::{Engine, EngineOptions, backup_statement};

/// Where the scheduler finds the database and its repository.
#[derive(Debug, Clone)]
pub struct ScheduleConfig {
    /// The database, as `quiver --db` takes it: a SQLite file or a `postgresql://` URL.
    pub database: String,
    /// The engine's options; `repository` defaults as [`Engine::connect`] has it.
    pub engine: EngineOptions,
}

/// Receives each log entry of the scheduler's runs as it is recorded.
pub type OnEntry = Arc<dyn Fn(&LoggedOperation) + Send + Sync>;

/// Takes the backups collections' schedules say are due.
///
/// ```no_run
/// use std::sync::Arc;
/// use quiver::schedule::{ScheduleConfig, Scheduler};
///
/// let scheduler = Scheduler::new(ScheduleConfig {
///     database: "app.db".into(),
///     engine: Default::default(),
/// })?;
/// // What is due now, then return (for cron); `run` keeps going until told to stop.
/// let report = scheduler.run_once(Arc::new(|entry| println!("{entry}")));
/// # let _ = report;
/// # Ok::<(), quiver::Error>(())
/// ```
pub struct Scheduler {
    config: ScheduleConfig,
    repo: Repository,
    /// Collections whose scheduled run is under way (in this process), with its start.
    running: Running,
    /// Schedule faults already reported, so that each is said once, not at every tick.
    reported: Mutex<HashSet<String>>,
}

impl Scheduler {
    /// A scheduler for `config`'s database and repository.
    pub fn new(config: ScheduleConfig) -> crate::Result<Scheduler> {
        let repository =
            config.engine.repository.clone().unwrap_or_else(|| {
                crate::engine::default_repository(&PathBuf::from(&config.database))
            });
        let repo = Repository::open(&repository)
            .map_err(|e| crate::Error::Open(e.into()))?
            .with_clock(config.engine.clock.clone().unwrap_or_default());
        let config = ScheduleConfig {
            engine: EngineOptions {
                repository: Some(repository),
                ..config.engine
            },
            ..config
        };
        Ok(Scheduler {
            config,
            repo,
            running: Arc::default(),
            reported: Mutex::default(),
        })
    }

    /// The repository it schedules.
    pub fn repository(&self) -> &Repository {
        &self.repo
    }

    /// Marks `collection` as running since now, as a run of this scheduler would (for tests
    /// of overlapping runs); false if it already was.
    #[cfg(test)]
    pub(crate) fn mark_running(&self, collection: &str) -> bool {
        let now = self.repo.clock().now();
        lock(&self.running)
            .insert(collection.to_string(), now)
            .is_none()
    }

    /// Undoes [`Scheduler::mark_running`].
    #[cfg(test)]
    pub(crate) fn mark_finished(&self, collection: &str) {
        lock(&self.running).remove(collection);
    }

    /// Starts every backup that is due, each on a thread of its own, and returns the threads.
    /// A collection still running its previous scheduled run gets a `skipped` entry instead;
    /// a schedule that cannot be read is reported (once) through `on_fault`, and what does
    /// not stop a schedule (a log that cannot be read) through `on_warning`.
    pub fn start_due(
        &self,
        on_entry: &OnEntry,
        on_fault: &mut dyn FnMut(&str),
        on_warning: &mut dyn FnMut(&str),
    ) -> Result<Vec<JoinHandle<()>>, ExecError> {
        let now = self.repo.clock().now();
        let mut started = Vec::new();
        let running = lock(&self.running).clone();
        for (status, due) in assess_all(&self.repo, now, &running)? {
            if let Some(error) = &status.error {
                let fault = format!("collection `{}`: {error}", status.collection);
                if lock(&self.reported).insert(fault.clone()) {
                    on_fault(&fault);
                }
                continue;
            }
            for warning in &status.warnings {
                let warning = format!("collection `{}`: {warning}", status.collection);
                if lock(&self.reported).insert(warning.clone()) {
                    on_warning(&warning);
                }
            }
            let Some(due) = due else { continue };
            // Due although running: a new slot came round since the run began.
            if running.contains_key(&due.collection) {
                self.skip(&due, now, on_entry);
                continue;
            }
            lock(&self.running).insert(due.collection.clone(), now);
            let (config, running, on_entry) =
                (self.config.clone(), self.running.clone(), on_entry.clone());
            started.push(std::thread::spawn(move || {
                let _done = Finished {
                    running,
                    collection: due.collection.clone(),
                };
                run_backup(&config, &due, &on_entry);
            }));
        }
        Ok(started)
    }

    /// Does whatever is due now, waits for it, and says how many runs started and which
    /// failed (for cron). A schedule that cannot be read is an error, after the others ran.
    pub fn run_once(&self, on_entry: OnEntry) -> Result<OnceReport, ExecError> {
        let failed: Arc<Mutex<Vec<String>>> = Arc::default();
        let counting: OnEntry = {
            let failed = failed.clone();
            Arc::new(move |entry: &LoggedOperation| {
                if entry.entry.result == OperationResult::Failed {
                    lock(&failed).push(format!(
                        "{} of `{}`",
                        entry.entry.kind.as_str(),
                        entry.collection
                    ));
                }
                on_entry(entry);
            })
        };
        let mut faults = Vec::new();
        let mut warnings = Vec::new();
        let threads = self.start_due(&counting, &mut |f| faults.push(f.to_string()), &mut |w| {
            warnings.push(w.to_string())
        })?;
        let started = threads.len();
        for thread in threads {
            let _ = thread.join();
        }
        if !faults.is_empty() {
            return Err(ExecError::refused(
                format!("{started} scheduled run(s) started; {}", faults.join("; ")),
                Some("fix the collection's schedule: ALTER BACKUP COLLECTION … SET (BACKUP_SCHEDULE = '…')".into()),
            ));
        }
        let failed = lock(&failed).clone();
        Ok(OnceReport {
            started,
            failed,
            warnings,
        })
    }

    /// Runs until `stop` is set: every second, starts what is due. Then waits for the
    /// backups under way to finish (they are never cut off half-way by this) and returns.
    /// Schedule faults go to `on_fault`, warnings to `on_warning`, once each.
    pub fn run(
        &self,
        stop: &AtomicBool,
        on_entry: OnEntry,
        on_fault: &mut dyn FnMut(&str),
        on_warning: &mut dyn FnMut(&str),
    ) {
        let mut threads: Vec<JoinHandle<()>> = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            threads.retain(|t| !t.is_finished());
            match self.start_due(&on_entry, on_fault, on_warning) {
                Ok(started) => threads.extend(started),
                Err(e) => {
                    let fault = error_text(&e);
                    if lock(&self.reported).insert(fault.clone()) {
                        on_fault(&fault);
                    }
                }
            }
            for _ in 0..10 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        for thread in threads {
            let _ = thread.join();
        }
    }

    /// Logs that `due` was skipped because its previous run is still going.
    fn skip(&self, due: &DueRun, now: time::OffsetDateTime, on_entry: &OnEntry) {
        let Ok(collection) = self.repo.collection(&due.collection) else {
            return;
        };
        let mut entry = Operation::new(OperationKind::Backup, now, OperationResult::Skipped);
        entry.trigger = Trigger::Schedule;
        entry.detail =
            Some("skipped: the collection's previous scheduled run is still going".to_string());
        // The entry is what moves the schedule on: without it, the run stays due.
        if collection.record_operation(&entry).is_ok() {
            on_entry(&LoggedOperation {
                collection: due.collection.clone(),
                entry,
            });
        }
    }
}

/// What [`Scheduler::run_once`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnceReport {
    /// Collections whose scheduled run started.
    pub started: usize,
    /// The runs that failed, e.g. "backup of `orders`" (the log says why).
    pub failed: Vec<String>,
    /// What the user should know although nothing stopped (a log that cannot be read).
    pub warnings: Vec<String>,
}

/// Collections running, with the time each run began.
type Running = Arc<Mutex<HashMap<String, time::OffsetDateTime>>>;

/// Removes a collection from the running set when its run ends, however it ends.
struct Finished {
    running: Running,
    collection: String,
}

impl Drop for Finished {
    fn drop(&mut self) {
        lock(&self.running).remove(&self.collection);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// One scheduled backup, then the collection's retention rules: each logged.
fn run_backup(config: &ScheduleConfig, due: &DueRun, on_entry: &OnEntry) {
    let how = Logged {
        trigger: Trigger::Schedule,
        note: due.why.clone(),
    };
    let name = due.collection.as_str();
    let emit = |entry: Option<Operation>| {
        if let Some(entry) = entry {
            on_entry(&LoggedOperation {
                collection: name.to_string(),
                entry,
            });
        }
    };
    let mut engine = match Engine::connect(&config.database, config.engine.clone()) {
        Ok(engine) => engine,
        Err(e) => {
            // No engine, so no `logged`: the entry is written here.
            let Ok(repo) = Repository::open(config.engine.repository.clone().unwrap_or_default())
            else {
                return;
            };
            let repo = repo.with_clock(config.engine.clock.clone().unwrap_or_else(Clock::system));
            let Ok(collection) = repo.collection(name) else {
                return;
            };
            let mut entry = Operation::new(
                OperationKind::Backup,
                repo.clock().now(),
                OperationResult::Failed,
            );
            entry.trigger = Trigger::Schedule;
            entry.detail = how.note.clone();
            entry.error = Some(quiver_storage::mask_secrets(&format!(
                "the database could not be opened: {e}"
            )));
            if collection.record_operation(&entry).is_ok() {
                emit(Some(entry));
            }
            return;
        }
    };
    let (result, entry) = engine.logged(OperationKind::Backup, name, &how, |engine| {
        let request = backup_statement::BackupRequest {
            incremental: !due.full,
            unattended: true,
        };
        backup_statement::run(engine, name, request)
    });
    emit(entry);
    if result.is_err() {
        return;
    }
    // COMPACT_AFTER: a chain grown past that many incrementals is compacted.
    let compact_after = engine.repo.collection(name).ok().and_then(|c| {
        let limit = c.def().compact_after?;
        let latest = c.backups().ok()?.pop()?;
        let chain = quiver_catalog::Chain::ending_at(&c, latest).ok()?;
        (chain.backups().len() - 1 > limit as usize).then_some(limit)
    });
    if let Some(limit) = compact_after {
        let how = Logged {
            trigger: Trigger::Schedule,
            note: Some(format!(
                "the chain has more than COMPACT_AFTER = '{limit}' incrementals"
            )),
        };
        let (_, entry) = engine.logged(OperationKind::Compact, name, &how, |engine| {
            crate::compacting::compact(&engine.repo, name, None, engine.batch_rows).map(|report| {
                crate::Outcome::Compacted {
                    collection: name.to_string(),
                    report,
                }
            })
        });
        emit(entry);
    }
    let has_rules = engine
        .repo
        .collection(name)
        .is_ok_and(|c| !c.def().retention.is_empty());
    if has_rules {
        let (_, entry) = engine.logged(OperationKind::Prune, name, &how_prune(), |engine| {
            let now = engine.repo.clock().now();
            crate::prune::prune(&engine.repo, name, now, false).map(crate::Outcome::Pruned)
        });
        emit(entry);
    }
}

fn how_prune() -> Logged {
    Logged {
        trigger: Trigger::Schedule,
        note: None,
    }
}
