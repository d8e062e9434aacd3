//! Schedules on a fake clock: weeks of hourly backups in seconds.

use std::sync::{Arc, Mutex};

use quiver_catalog::{BackupKind, FakeClock, OperationKind, OperationResult, Trigger};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::{ScheduleConfig, Scheduler, schedules};
use crate::operations::LoggedOperation;
use crate::{Engine, EngineOptions};

/// A SQLite database with tables `a` and `b`, collections `ca` and `cb` over them (scheduled
/// by `settings`), and a scheduler on a fake clock standing at `start`.
struct Setup {
    _dir: tempfile::TempDir,
    db: std::path::PathBuf,
    clock: FakeClock,
    scheduler: Scheduler,
    lines: Arc<Mutex<Vec<LoggedOperation>>>,
}

impl Setup {
    fn new(start: OffsetDateTime, settings: &str) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("app.db");
        let clock = FakeClock::at(start);
        let options = EngineOptions {
            clock: Some(clock.clock()),
            ..EngineOptions::default()
        };
        let mut engine = Engine::open_with(&db, options.clone()).unwrap();
        engine
            .execute(&format!(
                "CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT);
                 CREATE TABLE b (id INTEGER PRIMARY KEY, v TEXT);
                 CREATE BACKUP COLLECTION ca (TABLE a) WITH (INCREMENTAL_BACKUP_ENABLED = 'true', {settings});
                 CREATE BACKUP COLLECTION cb (TABLE b) WITH (INCREMENTAL_BACKUP_ENABLED = 'true', {settings});"
            ))
            .unwrap();
        let scheduler = Scheduler::new(ScheduleConfig {
            database: db.to_string_lossy().into_owned(),
            engine: options,
        })
        .unwrap();
        Setup {
            _dir: dir,
            db,
            clock,
            scheduler,
            lines: Arc::default(),
        }
    }

    fn sql(&self, sql: &str) {
        rusqlite::Connection::open(&self.db)
            .unwrap()
            .execute_batch(sql)
            .unwrap();
    }

    /// Runs what is due now; returns the entries logged by this run.
    fn run_once(&self) -> Vec<LoggedOperation> {
        let lines = self.lines.clone();
        let before = lines.lock().unwrap().len();
        let report = self
            .scheduler
            .run_once(Arc::new(move |e: &LoggedOperation| {
                lines.lock().unwrap().push(e.clone())
            }))
            .unwrap();
        let ran = self.lines.lock().unwrap()[before..].to_vec();
        let failed = ran
            .iter()
            .filter(|e| e.entry.result == OperationResult::Failed)
            .count();
        assert_eq!(report.failed.len(), failed, "{report:?}");
        ran
    }

    fn backups(&self, name: &str) -> Vec<quiver_catalog::BackupManifest> {
        self.scheduler
            .repository()
            .collection(name)
            .unwrap()
            .backups()
            .unwrap()
    }
}

fn backups_of<'a>(entries: &'a [LoggedOperation], name: &str) -> Vec<&'a LoggedOperation> {
    entries
        .iter()
        .filter(|e| e.collection == name && e.entry.kind == OperationKind::Backup)
        .collect()
}

#[test]
fn hourly_incrementals_with_a_daily_full_over_two_simulated_weeks() {
    let start = datetime!(2026-01-05 00:00:30 UTC);
    let s = Setup::new(start, "BACKUP_SCHEDULE = '@hourly'");
    for hour in 0..24 * 14 {
        s.clock.set(start + Duration::hours(hour));
        s.sql(&format!(
            "INSERT INTO a VALUES ({hour}, 'x'); INSERT INTO b VALUES ({hour}, 'y');"
        ));
        let ran = s.run_once();
        for name in ["ca", "cb"] {
            let runs = backups_of(&ran, name);
            assert_eq!(runs.len(), 1, "hour {hour}: {ran:?}");
            let run = &runs[0].entry;
            assert_eq!(run.result, OperationResult::Ok, "{run:?}");
            assert_eq!(run.trigger, Trigger::Schedule);
        }
        // Nothing more is due in the same minute.
        assert!(s.run_once().is_empty(), "hour {hour}");
    }
    for name in ["ca", "cb"] {
        let backups = s.backups(name);
        assert_eq!(backups.len(), 24 * 14);
        for (hour, backup) in backups.iter().enumerate() {
            let expected = if hour % 24 == 0 {
                BackupKind::Full
            } else {
                BackupKind::Incremental
            };
            assert_eq!(backup.kind, expected, "hour {hour}: {}", backup.id);
            let taken: quiver_catalog::BackupId = backup.id.parse().unwrap();
            assert_eq!(taken.taken_at, start + Duration::hours(hour as i64));
        }
    }
    // The last backup restores what the table held.
    let mut engine = Engine::open(&s.db).unwrap();
    engine.execute("DROP TABLE a; RESTORE ca;").unwrap();
    let rows = rusqlite::Connection::open(&s.db)
        .unwrap()
        .query_row("SELECT count(*) FROM a", [], |r| r.get::<_, i64>(0))
        .unwrap();
    assert_eq!(rows, 24 * 14);
}

#[test]
fn overlaps_are_skipped_downtime_is_caught_up_once_and_retention_follows_each_backup() {
    let start = datetime!(2026-01-05 10:00:00 UTC);
    let s = Setup::new(start, "BACKUP_SCHEDULE = 'every 30m', KEEP_LAST = '3'");
    assert_eq!(backups_of(&s.run_once(), "ca").len(), 1);
    // ca's previous run is still going when its next slot comes: skipped and logged, once.
    assert!(s.scheduler.mark_running("ca"));
    s.clock.set(start + Duration::minutes(31));
    let ran = s.run_once();
    let ca = backups_of(&ran, "ca");
    assert_eq!(ca.len(), 1);
    assert_eq!(ca[0].entry.result, OperationResult::Skipped);
    assert!(ca[0].entry.detail.as_ref().unwrap().contains("still going"));
    assert_eq!(backups_of(&ran, "cb")[0].entry.result, OperationResult::Ok);
    assert!(s.run_once().is_empty());
    // Another process holds ca's lock: skipped, not failed; cb is not held up.
    let held = s
        .scheduler
        .repository()
        .collection("ca")
        .unwrap()
        .lock()
        .unwrap();
    s.clock.set(start + Duration::minutes(61));
    s.scheduler.mark_finished("ca");
    let ran = s.run_once();
    let ca = backups_of(&ran, "ca");
    assert_eq!(ca[0].entry.result, OperationResult::Skipped, "{ca:?}");
    assert!(ca[0].entry.detail.as_ref().unwrap().contains("busy"));
    assert_eq!(backups_of(&ran, "cb")[0].entry.result, OperationResult::Ok);
    drop(held);
    // Three days down: one run catches up, not one per missed slot.
    s.clock.set(start + Duration::days(3));
    let ran = s.run_once();
    assert_eq!(backups_of(&ran, "ca").len(), 1);
    assert_eq!(backups_of(&ran, "cb").len(), 1);
    assert!(s.run_once().is_empty());
    // Each scheduled backup was followed by a prune: KEEP_LAST = '3' holds (with chains).
    let prunes = s
        .lines
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.entry.kind == OperationKind::Prune)
        .count();
    assert!(prunes >= 4, "{prunes}");
    assert!(s.backups("cb").len() <= 4, "{:?}", s.backups("cb"));
    // SHOW SCHEDULES says when each runs next and how the last run went.
    let statuses = schedules(s.scheduler.repository(), s.clock.now()).unwrap();
    assert_eq!(statuses.len(), 2);
    let ca = &statuses[0];
    assert_eq!(ca.collection, "ca");
    assert_eq!(ca.schedule, "every 30m");
    assert_eq!(ca.full_schedule, "0 0 * * * (default)");
    assert_eq!(ca.last_result.as_deref(), Some("ok"));
    assert_eq!(ca.next_run.as_deref(), Some("2026-01-08T10:30:00Z"));
    assert!(!ca.due);
}

#[test]
fn a_collection_that_always_fails_never_stops_one_that_works() {
    let start = datetime!(2026-01-05 00:00:00 UTC);
    let s = Setup::new(start, "BACKUP_SCHEDULE = '@hourly'");
    s.sql("DROP TABLE b;");
    for hour in 0..30 {
        s.clock.set(start + Duration::hours(hour));
        let ran = s.run_once();
        assert_eq!(backups_of(&ran, "ca")[0].entry.result, OperationResult::Ok);
        let cb = backups_of(&ran, "cb");
        assert_eq!(cb[0].entry.result, OperationResult::Failed, "{cb:?}");
        assert!(
            cb[0].entry.error.as_ref().unwrap().contains("`b`"),
            "{cb:?}"
        );
    }
    assert_eq!(s.backups("ca").len(), 30);
    assert!(s.backups("cb").is_empty());
    let statuses = schedules(s.scheduler.repository(), s.clock.now()).unwrap();
    assert_eq!(statuses[1].last_result.as_deref(), Some("failed"));
}

#[test]
fn a_migration_between_two_scheduled_runs_gives_a_full_backup_and_no_failure() {
    let start = datetime!(2026-01-05 00:00:00 UTC);
    let s = Setup::new(start, "BACKUP_SCHEDULE = '@hourly'");
    s.sql("INSERT INTO a VALUES (1, 'x');");
    s.run_once();
    s.clock.set(start + Duration::hours(1));
    s.sql("INSERT INTO a VALUES (2, 'y');");
    s.run_once();
    s.clock.set(start + Duration::hours(2));
    s.sql("ALTER TABLE a ADD COLUMN w INTEGER DEFAULT 7;");
    let ran = s.run_once();
    let ca = &backups_of(&ran, "ca")[0].entry;
    assert_eq!(ca.result, OperationResult::Ok, "{ca:?}");
    let detail = ca.detail.as_deref().unwrap();
    assert!(detail.contains("took a full backup instead"), "{detail}");
    assert!(detail.contains("table `a` changed"), "{detail}");
    let kinds: Vec<BackupKind> = s.backups("ca").iter().map(|b| b.kind).collect();
    assert_eq!(
        kinds,
        [BackupKind::Full, BackupKind::Incremental, BackupKind::Full]
    );
    // The next run builds on the new chain.
    s.clock.set(start + Duration::hours(3));
    s.run_once();
    assert_eq!(s.backups("ca")[3].kind, BackupKind::Incremental);
    // With ON_SCHEMA_CHANGE = 'refuse' the same change is refused, and logged as such.
    let mut engine = Engine::open(&s.db).unwrap();
    engine
        .execute("ALTER BACKUP COLLECTION ca SET (ON_SCHEMA_CHANGE = 'refuse'); ALTER TABLE a ADD COLUMN z TEXT;")
        .unwrap();
    s.clock.set(start + Duration::hours(4));
    let ran = s.run_once();
    let ca = &backups_of(&ran, "ca")[0].entry;
    assert_eq!(ca.result, OperationResult::Failed);
    assert!(
        ca.error
            .as_deref()
            .unwrap()
            .contains("cannot span a schema change")
    );
}

#[test]
fn full_backup_schedules_time_zones_and_bad_settings() {
    // 23:00 UTC is midnight in Berlin: the daily full comes then, not at UTC midnight.
    let start = datetime!(2026-01-05 20:00:00 UTC);
    let s = Setup::new(
        start,
        "BACKUP_SCHEDULE = '@hourly', FULL_BACKUP_SCHEDULE = '@daily', TIMEZONE = 'Europe/Berlin'",
    );
    for hour in 0..6 {
        s.clock.set(start + Duration::hours(hour));
        s.run_once();
    }
    let kinds: Vec<BackupKind> = s.backups("ca").iter().map(|b| b.kind).collect();
    use BackupKind::{Full, Incremental};
    // 20:00 (first), 21, 22, 23 (Berlin midnight: full), 00, 01.
    assert_eq!(
        kinds,
        [
            Full,
            Incremental,
            Incremental,
            Full,
            Incremental,
            Incremental
        ]
    );
    let mut engine = Engine::open(&s.db).unwrap();
    for (bad, says) in [
        ("TIMEZONE = 'Mars/Olympus'", "unknown time zone"),
        ("BACKUP_SCHEDULE = '0 0 30 2 *'", "never fires"),
    ] {
        let err = engine
            .execute(&format!("ALTER BACKUP COLLECTION ca SET ({bad})"))
            .unwrap_err()
            .render();
        assert!(err.contains(says), "{bad}: {err}");
    }
    // A definition damaged on disk stops its own collection only.
    let path = s
        .scheduler
        .repository()
        .collection("ca")
        .unwrap()
        .dir()
        .join("collection.json");
    let mut def = s
        .scheduler
        .repository()
        .collection("ca")
        .unwrap()
        .def()
        .clone();
    def.schedule.backup = Some("every fortnight".into());
    std::fs::write(&path, def.encode().unwrap()).unwrap();
    s.clock.set(start + Duration::hours(7));
    let mut faults = Vec::new();
    let lines = s.lines.clone();
    let on_entry: super::OnEntry =
        Arc::new(move |e: &LoggedOperation| lines.lock().unwrap().push(e.clone()));
    for thread in s
        .scheduler
        .start_due(&on_entry, &mut |f| faults.push(f.to_string()), &mut |_| {})
        .unwrap()
    {
        thread.join().unwrap();
    }
    assert_eq!(faults.len(), 1, "{faults:?}");
    assert!(faults[0].contains("`ca`") && faults[0].contains("BACKUP_SCHEDULE"));
    assert_eq!(s.backups("cb").len(), 7);
}

#[test]
fn compact_after_compacts_a_chain_that_grew_past_it() {
    let start = datetime!(2026-01-05 00:00:00 UTC);
    let s = Setup::new(start, "BACKUP_SCHEDULE = '@hourly', COMPACT_AFTER = '3'");
    for hour in 0..6 {
        s.clock.set(start + Duration::hours(hour));
        s.sql(&format!(
            "INSERT INTO a VALUES ({hour}, 'x'); UPDATE a SET v = 'y{hour}' WHERE id = 0;"
        ));
        let ran = s.run_once();
        let compactions: Vec<_> = ran
            .iter()
            .filter(|e| e.collection == "ca" && e.entry.kind == OperationKind::Compact)
            .collect();
        assert_eq!(
            compactions.len(),
            usize::from(hour == 4),
            "hour {hour}: {ran:?}"
        );
        if let Some(c) = compactions.first() {
            assert_eq!(c.entry.result, OperationResult::Ok, "{c:?}");
            assert_eq!(c.entry.trigger, Trigger::Schedule);
            assert!(
                c.entry
                    .detail
                    .as_deref()
                    .unwrap()
                    .contains("COMPACT_AFTER = '3'")
            );
        }
    }
    use BackupKind::{Full, Incremental};
    let kinds: Vec<BackupKind> = s.backups("ca").iter().map(|b| b.kind).collect();
    // The hour-4 incremental was replaced by a full backup of its time; hour 5 builds on it.
    assert_eq!(
        kinds,
        [
            Full,
            Incremental,
            Incremental,
            Incremental,
            Full,
            Incremental
        ]
    );
    let latest = s.backups("ca").pop().unwrap();
    assert_eq!(
        latest.parent.as_deref(),
        Some(s.backups("ca")[4].id.as_str())
    );
    let mut engine = Engine::open(&s.db).unwrap();
    let before: Vec<(i64, String)> = rows(&s.db);
    engine.execute("DROP TABLE a; RESTORE ca;").unwrap();
    assert_eq!(rows(&s.db), before);
}

fn rows(db: &std::path::Path) -> Vec<(i64, String)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn.prepare("SELECT id, v FROM a ORDER BY id").unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn a_time_after_now_in_the_log_or_a_backup_id_never_holds_the_schedule_back() {
    let start = datetime!(2026-01-05 00:00:00 UTC);
    let s = Setup::new(start, "BACKUP_SCHEDULE = '@hourly'");
    s.run_once();
    // A forged (or clock-ahead) scheduled entry dated years ahead, and a stray backup
    // directory dated in the next century.
    let dir = s
        .scheduler
        .repository()
        .collection("ca")
        .unwrap()
        .dir()
        .to_path_buf();
    let mut log = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join(quiver_catalog::OPERATIONS_FILE))
        .unwrap();
    std::io::Write::write_all(
        &mut log,
        b"{\"kind\":\"backup\",\"started_at\":\"2031-01-01T00:00:00Z\",\"duration_ms\":1,\"result\":\"ok\",\"trigger\":\"schedule\"}\n",
    )
    .unwrap();
    let stray = dir.join("29991231T000000.000Z_full");
    std::fs::create_dir(&stray).unwrap();
    std::fs::write(stray.join("manifest.json"), "x").unwrap();
    s.clock.set(start + Duration::hours(1));
    let statuses = schedules(s.scheduler.repository(), s.clock.now()).unwrap();
    assert!(statuses[0].due, "{:?}", statuses[0]);
    let ran = s.run_once();
    assert_eq!(backups_of(&ran, "ca").len(), 1, "{ran:?}");
}

#[test]
fn a_backup_dated_ahead_or_an_unreadable_log_neither_stops_a_schedule_nor_makes_every_backup_full()
{
    let start = datetime!(2026-01-05 00:00:00 UTC);
    let s = Setup::new(start, "BACKUP_SCHEDULE = '@hourly'");
    s.run_once();
    s.clock.set(start + Duration::hours(1));
    s.run_once();
    // A copy of the full backup, dated next year (a clock that ran ahead).
    let collection = s.scheduler.repository().collection("ca").unwrap();
    let full = s.backups("ca").remove(0);
    let ahead = "20270101T000000.000Z_full";
    let dir = collection.dir().join(ahead);
    std::fs::create_dir_all(dir.join("data")).unwrap();
    for table in &full.tables {
        for file in &table.files {
            std::fs::copy(
                collection.data_file_path(&full, &file.path),
                dir.join(&file.path),
            )
            .unwrap();
        }
    }
    let forged = quiver_catalog::BackupManifest {
        id: ahead.into(),
        ..full.clone()
    };
    std::fs::write(dir.join("manifest.json"), forged.encode()).unwrap();
    s.clock.set(start + Duration::hours(2));
    let statuses = schedules(s.scheduler.repository(), s.clock.now()).unwrap();
    assert!(
        statuses[0].due && !statuses[0].next_full,
        "{:?}",
        statuses[0]
    );
    assert!(
        statuses[0].warnings[0].contains("is dated after now"),
        "{:?}",
        statuses[0]
    );
    let ran = s.run_once();
    assert_eq!(backups_of(&ran, "ca")[0].entry.result, OperationResult::Ok);
    assert_eq!(
        s.backups("ca").last().unwrap().kind,
        BackupKind::Incremental
    );
    // A log planted as a link is not read, and the schedule goes on by the backups.
    let log = collection.dir().join(quiver_catalog::OPERATIONS_FILE);
    std::fs::remove_file(&log).unwrap();
    std::os::unix::fs::symlink("/dev/null", &log).unwrap();
    s.clock.set(start + Duration::hours(3));
    let before = s.backups("ca").len();
    let report = s
        .scheduler
        .run_once(Arc::new(|_: &LoggedOperation| {}))
        .unwrap();
    assert_eq!(s.backups("ca").len(), before + 1);
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("operations log cannot be read")),
        "{report:?}"
    );
}
