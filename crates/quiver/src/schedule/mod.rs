//! Schedules: when each collection is due for a backup, full or incremental, as its
//! `BACKUP_SCHEDULE`, `FULL_BACKUP_SCHEDULE` and `TIMEZONE` say, and `SHOW SCHEDULES`.
//!
//! Nothing is kept beside the repository: a collection's next run follows from its last
//! scheduled run (its operations log) and its latest backup, so that a run missed while
//! nothing was running (downtime) is caught up once, not once per missed slot, and a
//! backup taken by hand moves the schedule on like a scheduled one. [`Scheduler`] takes
//! the backups that are due, each collection on a thread of its own.

mod calendar;
mod runner;

use std::collections::HashMap;

use chrono_tz::Tz;
use quiver_catalog::{
    BackupId, BackupKind, Collection, CollectionDef, OperationKind, Repository, Trigger,
};
use quiver_grammar::{Schedule, parse_schedule};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub use runner::{OnEntry, OnceReport, ScheduleConfig, Scheduler};

use crate::error::ExecError;
use crate::operations::duration_text;
use crate::outcome::QueryResult;
use crate::stored::{rows, text};

/// A collection's schedule, as `SHOW SCHEDULES` and `quiver schedule` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScheduleStatus {
    /// The collection.
    pub collection: String,
    /// `BACKUP_SCHEDULE`, canonical (`0 * * * *`); empty when only fulls are scheduled.
    pub schedule: String,
    /// When scheduled backups are full: `FULL_BACKUP_SCHEDULE`, the default derived from the
    /// backup schedule (marked `(default)`), or `every backup`.
    pub full_schedule: String,
    /// `TIMEZONE`, or `UTC`.
    pub timezone: String,
    /// When it next runs (RFC 3339, UTC); `None` when the schedule never fires or cannot be read.
    pub next_run: Option<String>,
    /// Whether that run is due now (a missed run is due at once).
    pub due: bool,
    /// Whether that run will be a full backup.
    pub next_full: bool,
    /// The last scheduled run: when it started (RFC 3339, UTC).
    pub last_run: Option<String>,
    /// Its result: `ok`, `failed` or `skipped`.
    pub last_result: Option<String>,
    /// How long it took, in milliseconds.
    pub last_duration_ms: Option<u64>,
    /// Why the schedule cannot be followed (a damaged definition, an unknown zone).
    pub error: Option<String>,
    /// What the user should know although the schedule is followed (an operations log that
    /// cannot be read, a backup dated after now).
    pub warnings: Vec<String>,
}

/// A backup a collection's schedule says is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DueRun {
    /// The collection.
    pub collection: String,
    /// A full backup (else an incremental).
    pub full: bool,
    /// Why it is a full backup, for the log entry.
    pub why: Option<String>,
}

/// When scheduled backups are full.
#[derive(Debug, Clone, PartialEq, Eq)]
enum FullRule {
    /// At the first scheduled run after each time this fires.
    On(Schedule, bool),
    /// Every scheduled backup (the backup schedule runs less often than daily).
    Always,
}

/// A collection's schedule, read from its definition (which is untrusted: it is parsed
/// again here, and a fault stops this collection only).
#[derive(Debug, Clone)]
struct Plan {
    backup: Option<Schedule>,
    full: FullRule,
    zone: Tz,
    zone_name: String,
}

impl Plan {
    /// The collection's schedule; `None` when it has none.
    fn read(def: &CollectionDef) -> Result<Option<Plan>, String> {
        let settings = &def.schedule;
        if !settings.is_scheduled() {
            return Ok(None);
        }
        let parse = |what: &str, text: &str| {
            parse_schedule(text).map_err(|e| format!("its {what} cannot be read: {e}"))
        };
        let backup = settings
            .backup
            .as_deref()
            .map(|t| parse("BACKUP_SCHEDULE", t))
            .transpose()?;
        let full = match (&settings.full, &backup) {
            (Some(text), _) => FullRule::On(parse("FULL_BACKUP_SCHEDULE", text)?, false),
            (None, Some(backup)) => match calendar::default_full(backup) {
                Some(full) => FullRule::On(full, true),
                None => FullRule::Always,
            },
            (None, None) => FullRule::Always,
        };
        let zone = calendar::zone(settings.timezone.as_deref())?;
        Ok(Some(Plan {
            backup,
            full,
            zone,
            zone_name: settings.timezone.clone().unwrap_or_else(|| "UTC".into()),
        }))
    }

    fn full_text(&self) -> String {
        match &self.full {
            FullRule::On(s, false) => s.to_string(),
            FullRule::On(s, true) => format!("{s} (default)"),
            FullRule::Always => "every backup".into(),
        }
    }

    /// The next time after `after` that a run is scheduled (a backup or a full backup).
    fn next_run(&self, after: OffsetDateTime) -> Option<OffsetDateTime> {
        let backup = self
            .backup
            .as_ref()
            .and_then(|s| calendar::next_after(s, self.zone, after));
        let full = match &self.full {
            FullRule::On(s, _) => calendar::next_after(s, self.zone, after),
            FullRule::Always => None,
        };
        match (backup, full) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Checks the schedule settings a CREATE or ALTER leaves a collection with: every schedule
/// fires, the zone exists.
pub(crate) fn check(def: &CollectionDef) -> Result<(), ExecError> {
    let refused = |message: String| {
        ExecError::refused(
            format!(
                "backup collection `{}`: {message}",
                def.name
            ),
            Some("see docs/sql.md, \"Schedules\": e.g. BACKUP_SCHEDULE = '@hourly', TIMEZONE = 'Europe/Berlin'".into()),
        )
    };
    let Some(plan) = Plan::read(def).map_err(refused)? else {
        return Ok(());
    };
    for (what, schedule) in [
        ("BACKUP_SCHEDULE", plan.backup.as_ref()),
        (
            "FULL_BACKUP_SCHEDULE",
            match &plan.full {
                FullRule::On(s, false) => Some(s),
                _ => None,
            },
        ),
    ] {
        if let Some(s) = schedule
            && calendar::next_after(s, plan.zone, OffsetDateTime::UNIX_EPOCH).is_none()
        {
            return Err(refused(format!("{what} '{s}' never fires")));
        }
    }
    Ok(())
}

/// What a collection's schedule says now: its status, and the backup due, if one is.
fn assess(
    collection: &Collection,
    now: OffsetDateTime,
    running_since: Option<OffsetDateTime>,
) -> Result<Option<(ScheduleStatus, Option<DueRun>)>, String> {
    let def = collection.def();
    let Some(plan) = Plan::read(def)? else {
        return Ok(None);
    };
    let mut warnings = Vec::new();
    // A log that cannot be read stops nothing: the backups alone say when runs were.
    let log = collection.operations().unwrap_or_else(|e| {
        warnings.push(format!(
            "its operations log cannot be read ({e}); runs follow its backups"
        ));
        Default::default()
    });
    let last_run = log.entries.iter().rev().find(|e| {
        e.trigger == Trigger::Schedule
            && e.kind == OperationKind::Backup
            && e.started().is_some_and(|t| t <= now)
    });
    let list = collection.backup_list().map_err(|e| e.to_string())?;
    let taken_at = |id: &str| id.parse::<BackupId>().ok().map(|id| id.taken_at);
    let latest_backup = list
        .committed
        .iter()
        .map(|m| m.id.as_str())
        .chain(list.unreadable.iter().map(|u| u.id.as_str()))
        .filter_map(taken_at)
        .max();
    let last_full = list
        .committed
        .iter()
        .rev()
        .find(|m| m.kind == BackupKind::Full && taken_at(&m.id).is_some_and(|t| t <= now));
    if let Some(ahead) = list
        .committed
        .iter()
        .map(|m| m.id.as_str())
        .chain(list.unreadable.iter().map(|u| u.id.as_str()))
        .find(|id| taken_at(id).is_some_and(|t| t > now))
    {
        warnings.push(format!(
            "backup {ahead} is dated after now (a clock that ran ahead, or a forged or stray copy): new backups are numbered after it; if it is not real, move its directory out of the collection"
        ));
    }
    // Runs follow the last scheduled run, or a later backup taken by hand, or the run under
    // way in this process (which has not logged itself yet).
    // A time after now is not trusted (a forged log line, a backup dated by a clock that
    // ran ahead): it would hold the schedule back until then.
    let anchor = [
        last_run.and_then(|e| e.started()),
        latest_backup,
        running_since,
    ]
    .into_iter()
    .flatten()
    .filter(|&t| t <= now)
    .max();
    let next_run = match anchor {
        None => Some(now),
        Some(anchor) => plan.next_run(anchor),
    };
    let due = next_run.is_some_and(|t| t <= now);
    let full_why = if !def.incremental_backup_enabled {
        Some("a full backup: incremental backups are disabled".to_string())
    } else if let Some(unreadable) = list.unreadable_latest() {
        Some(format!(
            "a full backup: the latest backup {} cannot be read",
            unreadable.id
        ))
    } else {
        match (&plan.full, last_full) {
            (_, None) => Some(
                "a full backup: the collection has no readable full backup yet".to_string(),
            ),
            (FullRule::Always, _) => Some(
                "a full backup: the backup schedule runs less often than daily, so every backup is full"
                    .to_string(),
            ),
            (FullRule::On(full, _), Some(last)) => {
                let last_at = taken_at(&last.id)
                    .filter(|&t| t <= now)
                    .unwrap_or(OffsetDateTime::UNIX_EPOCH);
                calendar::next_after(full, plan.zone, last_at)
                    .filter(|&t| t <= now)
                    .map(|_| {
                        format!(
                            "a full backup: the full-backup schedule '{full}' came round since the last full backup {}",
                            last.id
                        )
                    })
            }
        }
    };
    let status = ScheduleStatus {
        collection: def.name.clone(),
        schedule: plan.backup.map(|s| s.to_string()).unwrap_or_default(),
        full_schedule: plan.full_text(),
        timezone: plan.zone_name.clone(),
        next_run: next_run.and_then(|t| t.format(&Rfc3339).ok()),
        due,
        next_full: full_why.is_some(),
        last_run: last_run.map(|e| e.started_at.clone()),
        last_result: last_run.map(|e| e.result.as_str().to_string()),
        last_duration_ms: last_run.map(|e| e.duration_ms),
        error: None,
        warnings,
    };
    let run = due.then(|| DueRun {
        collection: def.name.clone(),
        full: full_why.is_some(),
        why: full_why,
    });
    Ok(Some((status, run)))
}

/// Every scheduled collection's status at `now`, by name. A collection whose schedule or
/// log cannot be read is listed with the reason in `error`, never hiding the others.
pub fn schedules(repo: &Repository, now: OffsetDateTime) -> Result<Vec<ScheduleStatus>, ExecError> {
    Ok(assess_all(repo, now, &HashMap::new())?
        .into_iter()
        .map(|(status, _)| status)
        .collect())
}

/// Each scheduled collection's status and due run.
fn assess_all(
    repo: &Repository,
    now: OffsetDateTime,
    running: &HashMap<String, OffsetDateTime>,
) -> Result<Vec<(ScheduleStatus, Option<DueRun>)>, ExecError> {
    let mut all = Vec::new();
    for entry in repo.collection_entries()? {
        // A collection whose definition cannot be read is SHOW BACKUP COLLECTIONS' to report.
        let Ok(collection) = entry.collection else {
            continue;
        };
        let running_since = running.get(&collection.def().name).copied();
        match assess(&collection, now, running_since) {
            Ok(Some(assessed)) => all.push(assessed),
            Ok(None) => {}
            Err(error) => all.push((
                ScheduleStatus {
                    collection: collection.def().name.clone(),
                    schedule: collection.def().schedule.backup.clone().unwrap_or_default(),
                    full_schedule: collection.def().schedule.full.clone().unwrap_or_default(),
                    timezone: collection
                        .def()
                        .schedule
                        .timezone
                        .clone()
                        .unwrap_or_else(|| "UTC".into()),
                    next_run: None,
                    due: false,
                    next_full: false,
                    last_run: None,
                    last_result: None,
                    last_duration_ms: None,
                    error: Some(error),
                    warnings: Vec::new(),
                },
                None,
            )),
        }
    }
    Ok(all)
}

/// The rows of `SHOW SCHEDULES`.
pub fn schedules_rows(statuses: &[ScheduleStatus]) -> QueryResult {
    rows(vec![
        ("collection", text(statuses, |s| s.collection.clone())),
        ("schedule", text(statuses, |s| s.schedule.clone())),
        ("full_schedule", text(statuses, |s| s.full_schedule.clone())),
        ("timezone", text(statuses, |s| s.timezone.clone())),
        (
            "next_run",
            text(statuses, |s| match (&s.next_run, s.due, &s.error) {
                (_, _, Some(error)) => format!("never: {error}"),
                (None, _, None) => "never".into(),
                (Some(t), true, None) => format!("due now (since {t})"),
                (Some(t), false, None) => t.clone(),
            }),
        ),
        (
            "next_kind",
            text(statuses, |s| {
                if s.error.is_some() {
                    String::new()
                } else if s.next_full {
                    "full".into()
                } else {
                    "incremental".into()
                }
            }),
        ),
        (
            "last_run",
            text(statuses, |s| s.last_run.clone().unwrap_or_default()),
        ),
        (
            "last_result",
            text(statuses, |s| s.last_result.clone().unwrap_or_default()),
        ),
        (
            "last_duration",
            text(statuses, |s| {
                s.last_duration_ms.map(duration_text).unwrap_or_default()
            }),
        ),
        ("warnings", text(statuses, |s| s.warnings.join("; "))),
    ])
}

#[cfg(test)]
mod tests;
