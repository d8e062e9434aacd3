//! End-to-end tests through the `quiver` binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use rusqlite::Connection;

/// A scratch database with its repository in a temporary directory.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("app.db")
    }

    fn repo(&self) -> PathBuf {
        self.dir.path().join("app.db.quiver")
    }

    fn conn(&self) -> Connection {
        Connection::open(self.db()).unwrap()
    }

    /// Runs `quiver --db app.db <args>`.
    fn quiver(&self, args: &[&str]) -> Output {
        let db = self.db();
        let mut all = vec!["--db", db.to_str().unwrap()];
        all.extend_from_slice(args);
        quiver(&all)
    }

    /// Arguments that run `statement` on database `name` (in the scratch directory) with
    /// this scratch's repository: how a backup is restored into another database.
    fn elsewhere(&self, name: &str, statement: &str) -> [String; 5] {
        let target = self.dir.path().join(name);
        [
            "--db".into(),
            target.to_string_lossy().into_owned(),
            "--repo".into(),
            self.repo().to_string_lossy().into_owned(),
            statement.into(),
        ]
    }

    /// Restores with `statement` into a new database `name`; it must succeed.
    fn restore_elsewhere(&self, name: &str, statement: &str) -> Connection {
        let out = quiver(&self.elsewhere(name, statement));
        assert!(
            out.status.success(),
            "{statement}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Connection::open(self.dir.path().join(name)).unwrap()
    }

    /// Runs SQL that must succeed; returns stdout.
    fn ok(&self, sql: &str) -> String {
        let out = self.quiver(&[sql]);
        assert!(
            out.status.success(),
            "`{sql}` failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs SQL that must fail; returns stderr.
    fn fails(&self, sql: &str) -> String {
        let out = self.quiver(&[sql]);
        assert!(
            !out.status.success(),
            "`{sql}` should fail; stdout:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(out.status.code(), Some(1));
        String::from_utf8(out.stderr).unwrap()
    }

    /// Everything in the database: every object's SQL and every row of every table, with
    /// storage classes, in a stable order.
    fn fingerprint(&self) -> Vec<String> {
        fingerprint(&self.conn())
    }

    /// Every file of the repository with its size and crc32.
    fn repo_files(&self) -> Vec<(String, u64, u32)> {
        let mut files = Vec::new();
        list_files(&self.repo(), &self.repo(), &mut files);
        // The operations log records failures too: what is compared is the backups.
        files.retain(|(path, _, _)| !path.ends_with("/operations.jsonl"));
        files.sort();
        files
    }

    /// Data files of every committed backup.
    fn data_files(&self) -> Vec<PathBuf> {
        self.repo_files()
            .into_iter()
            .filter(|(path, _, _)| path.ends_with(".parquet"))
            .map(|(path, _, _)| self.repo().join(path))
            .collect()
    }
}

fn quiver<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_quiver"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// The standard output of a command that must succeed (else both outputs are shown).
#[track_caller]
fn succeeded(out: Output) -> String {
    assert!(
        out.status.success(),
        "failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn list_files(root: &Path, dir: &Path, out: &mut Vec<(String, u64, u32)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            list_files(root, &path, out);
        } else {
            let bytes = std::fs::read(&path).unwrap();
            let relative = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            out.push((relative, bytes.len() as u64, crc32(&bytes)));
        }
    }
}

fn crc32(bytes: &[u8]) -> u32 {
    // Bitwise CRC-32 (IEEE); test code, so no dependency for it.
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn fingerprint(conn: &Connection) -> Vec<String> {
    let mut out = Vec::new();
    let objects: Vec<(String, String, Option<String>)> = conn
        .prepare("SELECT type, name, sql FROM sqlite_master ORDER BY type, name")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (kind, name, sql) in objects {
        out.push(format!("{kind} {name}: {}", sql.unwrap_or_default()));
        if kind == "table" {
            out.extend(table_rows(conn, &name));
        }
    }
    out
}

/// Rows of `table` as `typeof:quote` lists, with the rowid where there is one, sorted.
fn table_rows(conn: &Connection, table: &str) -> Vec<String> {
    let quoted = format!("\"{}\"", table.replace('"', "\"\""));
    let columns: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info(?1)")
        .unwrap()
        .query_map([table], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let without_rowid: bool = conn
        .query_row(
            "SELECT wr FROM pragma_table_list WHERE name = ?1",
            [table],
            |r| r.get(0),
        )
        .unwrap();
    let mut exprs: Vec<String> = columns
        .iter()
        .map(|c| {
            let c = format!("\"{}\"", c.replace('"', "\"\""));
            format!("typeof({c}) || ':' || quote({c})")
        })
        .collect();
    if !without_rowid && !columns.iter().any(|c| c.eq_ignore_ascii_case("_rowid_")) {
        exprs.insert(0, "'rowid=' || _rowid_".into());
    }
    let sql = format!("SELECT {} FROM {quoted}", exprs.join(" || ' | ' || "));
    let mut rows: Vec<String> = conn
        .prepare(&sql)
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    rows.sort();
    rows.into_iter()
        .map(|r| format!("  {table}: {r}"))
        .collect()
}

/// Tables of every storage class, key kind and edge value.
const TYPED_TABLES: &str = r#"
CREATE TABLE typed (
    id INTEGER PRIMARY KEY,
    i INTEGER, r REAL, t TEXT, b BLOB, n NUMERIC, untyped, d DECIMAL(10,2), ts DATETIME, v VARCHAR(5)
);
INSERT INTO typed VALUES
    (1, 0, 0.0, '', x'', 0, NULL, 1.5, '2026-11-25 10:00:00', 'short'),
    (2, 9223372036854775807, 1e308, 'ünïcödé ✓ 日本語 🚀', x'00ff00', 123, 42, 2, 1700000000, 'way too long for five'),
    (3, -9223372036854775808, -0.0, 'quote '' and "double"', zeroblob(3), 1.25, 'text', NULL, NULL, NULL),
    (4, NULL, NULL, NULL, NULL, NULL, x'cafe', 'abc', 3.5, 12),
    (5, 'not a number', 'nan-ish', 42, 'text in blob', 'n/a', 2.5, x'01', x'02', x'03'),
    (6, 4.75, 7, 1e-300, 99, 9223372036854775807, -1, -1.5, 'x', 0.1);
CREATE TABLE no_pk (a TEXT, b INTEGER);
INSERT INTO no_pk VALUES ('x', 1), ('x', 1), (NULL, NULL), ('', 0);
DELETE FROM no_pk WHERE rowid = 2;
INSERT INTO no_pk VALUES ('after gap', 5);
CREATE TABLE kv (tenant TEXT NOT NULL, key BLOB NOT NULL, value, PRIMARY KEY (tenant, key)) WITHOUT ROWID;
INSERT INTO kv VALUES ('a', x'02', 1), ('a', x'01', 'one'), ('b', x'', NULL), ('ü', x'ff', 2.5);
CREATE TABLE strict_t (id INTEGER PRIMARY KEY, n INT, s TEXT, x ANY) STRICT;
INSERT INTO strict_t VALUES (1, 5, 'five', 5.5), (2, NULL, 'two', 'any text'), (3, -1, '', x'00');
CREATE INDEX typed_t ON typed (t);
CREATE UNIQUE INDEX kv_value ON kv (value) WHERE value IS NOT NULL;
"#;

const TYPED_COLLECTION: &str = "CREATE BACKUP COLLECTION everything ( TABLE typed, TABLE no_pk, TABLE kv, TABLE strict_t ) \
                                WITH ( STORAGE = 'cluster', INCREMENTAL_BACKUP_ENABLED = 'true' )";

/// A scratch database with [`TYPED_TABLES`] in collection `everything`, backed up once.
fn typed_tables_backed_up() -> Scratch {
    let s = Scratch::new();
    s.ok(TYPED_TABLES);
    s.ok(TYPED_COLLECTION);
    s.ok("BACKUP everything");
    s
}

const DROP_TYPED: &str = "DROP TABLE typed; DROP TABLE no_pk; DROP TABLE kv; DROP TABLE strict_t";

#[test]
fn every_sqlite_type_and_table_kind_round_trips() {
    let s = Scratch::new();
    s.ok(TYPED_TABLES);
    s.ok(TYPED_COLLECTION);
    let before = s.fingerprint();
    let out = s.ok("BACKUP everything");
    assert_mentions(&out, &["full backup", "4 table(s)"]);
    s.ok(DROP_TYPED);
    assert!(!s.fingerprint().iter().any(|l| l.contains("typed")));
    let out = s.ok("RESTORE everything");
    assert_mentions(&out, &["typed (6 rows)", "no_pk (4 rows)"]);
    assert_eq!(s.fingerprint(), before);
}

#[test]
fn writes_after_backup_do_not_leak_into_it() {
    let s = typed_tables_backed_up();
    let at_backup = s.fingerprint();
    s.ok("INSERT INTO typed (id, t) VALUES (100, 'new'); UPDATE kv SET value = 'changed' WHERE tenant = 'b'; DELETE FROM no_pk; \
          INSERT INTO strict_t VALUES (9, 9, 'nine', 9)");
    assert_ne!(s.fingerprint(), at_backup);
    s.ok(DROP_TYPED);
    s.ok("RESTORE everything");
    assert_eq!(s.fingerprint(), at_backup);
}

#[test]
fn restore_at_picks_any_backup_and_latest_is_default() {
    let s = Scratch::new();
    s.ok("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'first')");
    s.ok("CREATE BACKUP COLLECTION c ( TABLE t )");
    let first = s.ok("BACKUP c");
    let first_id = first
        .split_whitespace()
        .find(|w| w.ends_with("_full"))
        .unwrap()
        .to_string();
    s.ok("UPDATE t SET v = 'second'");
    s.ok("BACKUP c");
    s.ok("DROP TABLE t; RESTORE c");
    assert!(s.ok("SELECT v FROM t").contains("second"));
    s.ok(&format!("DROP TABLE t; RESTORE c AT '{first_id}'"));
    assert!(s.ok("SELECT v FROM t").contains("first"));
    let err = s.fails("DROP TABLE t; RESTORE c AT '20000101T000000.000Z_full'");
    assert_mentions(&err, &["has no backup `20000101T000000.000Z_full`"]);
}

#[test]
fn restore_is_refused_while_any_table_exists_and_changes_nothing() {
    let s = typed_tables_backed_up();
    s.ok("DROP TABLE typed; DROP TABLE kv; INSERT INTO no_pk VALUES ('live', 1)");
    let before = s.fingerprint();
    let err = s.fails("RESTORE everything");
    assert_mentions(
        &err,
        &[
            "table `no_pk`, table `strict_t` already exist",
            "nothing was restored",
        ],
    );
    assert!(err.contains("^"), "caret under the statement: {err}");
    assert_eq!(s.fingerprint(), before);
}

#[test]
fn malformed_sql_runs_nothing_and_points_at_the_fault() {
    let s = Scratch::new();
    s.ok("CREATE TABLE t (a)");
    let before = s.fingerprint();
    let err = s.fails("INSERT INTO t VALUES (1);\nCREATE BACKUP COLLECTION c\n    ( TABEL t );");
    assert_mentions(
        &err,
        &[
            "error: expected `TABLE`, found `TABEL`",
            "--> line 3, column 7",
            "3 |     ( TABEL t );\n  |       ^^^^^",
        ],
    );
    assert_eq!(
        s.fingerprint(),
        before,
        "the INSERT before the fault did not run"
    );

    let err = s.fails("CREATE BACKUP COLLECTION c ( TABLE t ) WITH ( STORAGE = cluster )");
    assert_mentions(&err, &["hint: setting values are string literals"]);
    let err = s.fails(
        "CREATE BACKUP COLLECTION c ( TABLE t ) WITH ( INCREMENTAL_BACKUP_ENABLED = 'yes' )",
    );
    assert_mentions(&err, &["INCREMENTAL_BACKUP_ENABLED"]);
    let err = s.fails("SELEC 1");
    assert_mentions(&err, &["syntax error", "line 1, column 1"]);
    let err = s.fails("SELECT 1;\nSELECT * FRM t");
    assert_mentions(&err, &["near \"FRM\": syntax error"]);
    assert_mentions(
        &err,
        &[
            "--> line 2, column 10",
            "2 | SELECT * FRM t\n  |          ^^^",
        ],
    );
    assert_eq!(s.fingerprint(), before);
    assert!(s.repo_files().is_empty(), "no repository written");
}

#[test]
fn unknown_collections_and_tables_are_clear_errors() {
    let s = Scratch::new();
    s.ok("CREATE TABLE t (a)");
    for sql in [
        "BACKUP nope",
        "RESTORE nope",
        "DROP BACKUP COLLECTION nope",
        "ALTER BACKUP COLLECTION nope ADD TABLE t",
    ] {
        let err = s.fails(sql);
        assert!(
            err.contains("backup collection `nope` does not exist"),
            "{sql}: {err}"
        );
        assert!(err.contains("hint: create it first"), "{sql}: {err}");
    }
    let err = s.fails("CREATE BACKUP COLLECTION c ( TABLE t, TABLE missing )");
    assert_mentions(
        &err,
        &[
            "table `missing` does not exist",
            "tables in the database: t",
        ],
    );
    s.ok("CREATE BACKUP COLLECTION c ( TABLE t )");
    let err = s.fails("CREATE BACKUP COLLECTION c ( TABLE t )");
    assert_mentions(&err, &["backup collection `c` already exists"]);
    let err = s.fails("RESTORE c");
    assert_mentions(&err, &["nothing to restore"]);
    let err = s.fails("BEGIN; INSERT INTO t VALUES (1); RESTORE c");
    assert_mentions(
        &err,
        &["inside an open transaction", "COMMIT or ROLLBACK first"],
    );
    let err = s.fails("BACKUP c INCREMENTAL");
    assert_mentions(&err, &["Incremental backup is disabled on this collection"]);
}

#[test]
fn damaged_backup_files_are_detected_before_anything_is_written() {
    let s = typed_tables_backed_up();
    s.ok(DROP_TYPED);
    let before = s.fingerprint();
    let files = s.data_files();
    assert_eq!(files.len(), 4);
    // Damage the last table's file: the first tables would restore fine, and must not.
    let victim = files
        .iter()
        .find(|f| f.to_string_lossy().contains("strict_t"))
        .unwrap();
    let mut bytes = std::fs::read(victim).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(victim, &bytes).unwrap();
    let err = s.fails("RESTORE everything");
    assert_mentions(&err, &["failed verification", "crc32"]);
    assert!(err.contains("strict_t"), "names the file: {err}");
    assert_eq!(s.fingerprint(), before);

    // Truncation is caught by the size check.
    bytes[middle] ^= 0x40;
    bytes.truncate(bytes.len() - 1);
    std::fs::write(victim, &bytes).unwrap();
    let err = s.fails("RESTORE everything");
    assert_mentions(&err, &["bytes, the manifest says"]);
    assert_eq!(s.fingerprint(), before);
}

#[test]
fn drop_collection_removes_its_backups_only() {
    let s = Scratch::new();
    s.ok("CREATE TABLE a (x); CREATE TABLE b (y); INSERT INTO a VALUES (1); INSERT INTO b VALUES (2)");
    s.ok("CREATE BACKUP COLLECTION ca ( TABLE a ); CREATE BACKUP COLLECTION cb ( TABLE b )");
    s.ok("BACKUP ca; BACKUP cb");
    let out = s.ok("DROP BACKUP COLLECTION ca");
    assert_mentions(&out, &["all its backups are removed"]);
    assert!(
        s.repo_files()
            .iter()
            .all(|(p, _, _)| !p.starts_with("collections/ca/"))
    );
    s.ok("DROP TABLE b; RESTORE cb");
    assert!(s.ok("SELECT y FROM b").contains('2'));
    s.ok("CREATE BACKUP COLLECTION ca ( TABLE a )");
    assert!(s.fails("RESTORE ca").contains("nothing to restore"));
}

#[test]
fn alter_changes_what_the_next_backup_contains() {
    let s = Scratch::new();
    s.ok("CREATE TABLE a (x); CREATE TABLE b (y); INSERT INTO a VALUES (1); INSERT INTO b VALUES (2)");
    s.ok("CREATE BACKUP COLLECTION c ( TABLE a )");
    s.ok("ALTER BACKUP COLLECTION c ADD TABLE b");
    assert!(s.ok("BACKUP c").contains("2 table(s)"));
    s.ok("ALTER BACKUP COLLECTION c DROP TABLE a");
    assert!(s.ok("BACKUP c").contains("1 table(s)"));
    let err = s.fails("ALTER BACKUP COLLECTION c DROP TABLE b");
    assert_mentions(&err, &["last table"]);
    s.ok("ALTER BACKUP COLLECTION c SET ( INCREMENTAL_BACKUP_ENABLED = 'true' )");
    let out = s.ok("BACKUP c INCREMENTAL");
    assert_mentions(&out, &["0 row(s) inserted or updated, 0 deleted"]);
    s.ok("ALTER BACKUP COLLECTION c RESET ( INCREMENTAL_BACKUP_ENABLED )");
    assert!(s.fails("BACKUP c INCREMENTAL").contains("disabled"));
}

#[test]
fn a_backup_is_one_consistent_snapshot_while_writers_write() {
    let s = Scratch::new();
    let setup = s.conn();
    setup
        .execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE left_side (id INTEGER PRIMARY KEY, payload TEXT);
             CREATE TABLE right_side (id INTEGER PRIMARY KEY, payload TEXT);",
        )
        .unwrap();
    s.ok("CREATE BACKUP COLLECTION pair ( TABLE left_side, TABLE right_side ) WITH ( INCREMENTAL_BACKUP_ENABLED = 'true' )");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (db, stop) = (s.db(), stop.clone());
        std::thread::spawn(move || {
            let conn = Connection::open(db).unwrap();
            conn.busy_timeout(std::time::Duration::from_secs(10))
                .unwrap();
            let mut id = 0i64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                id += 1;
                // Each transaction writes the same id to both tables: a consistent snapshot
                // sees both rows or neither.
                conn.execute_batch(&format!(
                    "BEGIN; INSERT INTO left_side VALUES ({id}, hex(randomblob(64)));
                     INSERT INTO right_side VALUES ({id}, hex(randomblob(64))); COMMIT;"
                ))
                .unwrap();
            }
            id
        })
    };
    let mut ids = Vec::new();
    // Full and incremental backups alike are one moment of both tables.
    for statement in [
        "BACKUP pair",
        "BACKUP pair INCREMENTAL",
        "BACKUP pair INCREMENTAL",
        "BACKUP pair",
        "BACKUP pair INCREMENTAL",
    ] {
        std::thread::sleep(std::time::Duration::from_millis(150));
        ids.push(backup_id(&s.ok(statement)));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let written = writer.join().unwrap();
    assert!(written > 0);
    let mut sizes = Vec::new();
    for (n, id) in ids.iter().enumerate() {
        // Restore each backup into a database of its own, from the same repository.
        let conn = s.restore_elsewhere(&format!("check{n}.db"), &format!("RESTORE pair AT '{id}'"));
        let left: Vec<i64> = ids_of(&conn, "left_side");
        let right: Vec<i64> = ids_of(&conn, "right_side");
        assert_eq!(
            left, right,
            "backup {id} saw one table at a different moment than the other"
        );
        assert!(
            left.iter().copied().eq(1..=left.len() as i64),
            "no gaps: committed prefixes only"
        );
        sizes.push(left.len());
    }
    assert!(
        sizes.windows(2).all(|w| w[0] <= w[1]),
        "later backups see more: {sizes:?}"
    );
}

fn ids_of(conn: &Connection, table: &str) -> Vec<i64> {
    conn.prepare(&format!("SELECT id FROM {table} ORDER BY id"))
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// YDB's "Backup strategy for microservices" recipe, verbatim, on the demo's tables.
const YDB_RECIPE: &str = "
-- User service backup collection
CREATE BACKUP COLLECTION user_service_backups
    ( TABLE profiles
    , TABLE preferences
    , TABLE sessions
    )
WITH ( STORAGE = 'cluster', INCREMENTAL_BACKUP_ENABLED = 'true' );

-- Order service backup collection
CREATE BACKUP COLLECTION order_service_backups
    ( TABLE orders
    , TABLE order_items
    , TABLE payments
    )
WITH ( STORAGE = 'cluster', INCREMENTAL_BACKUP_ENABLED = 'true' );

-- Inventory service backup collection
CREATE BACKUP COLLECTION inventory_service_backups
    ( TABLE products
    , TABLE stock_levels
    , TABLE warehouses
    )
WITH ( STORAGE = 'cluster', INCREMENTAL_BACKUP_ENABLED = 'true' );

-- Take backups for each service independently
BACKUP user_service_backups;
BACKUP order_service_backups;
BACKUP inventory_service_backups;
";

/// The recipe's section continued: "Later, take incremental backups", verbatim.
const YDB_RECIPE_INCREMENTAL: &str = "
-- Later, take incremental backups
BACKUP user_service_backups INCREMENTAL;
BACKUP order_service_backups INCREMENTAL;
BACKUP inventory_service_backups INCREMENTAL;
";

/// The recipe's three services with their tables.
const SERVICES: [(&str, [&str; 3]); 3] = [
    (
        "user_service_backups",
        ["profiles", "preferences", "sessions"],
    ),
    (
        "order_service_backups",
        ["orders", "order_items", "payments"],
    ),
    (
        "inventory_service_backups",
        ["products", "stock_levels", "warehouses"],
    ),
];

/// Every row of every table of each service, keyed by service.
fn service_states(s: &Scratch) -> Vec<Vec<String>> {
    let conn = s.conn();
    SERVICES
        .iter()
        .map(|(_, tables)| tables.iter().flat_map(|t| table_rows(&conn, t)).collect())
        .collect()
}

/// Runs a recipe script from a file; it must succeed. Returns stdout.
fn run_script(s: &Scratch, name: &str, script: &str) -> String {
    let path = s.dir.path().join(name);
    std::fs::write(&path, script).unwrap();
    let out = s.quiver(&["-f", path.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_seed_recipe_runs_verbatim_and_services_restore_independently() {
    let s = Scratch::new();
    s.ok(
        "CREATE TABLE profiles (id INTEGER PRIMARY KEY, name TEXT); CREATE TABLE preferences (user_id, k, v);
         CREATE TABLE sessions (token TEXT PRIMARY KEY, user_id INTEGER);
         CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL); CREATE TABLE order_items (order_id, line, PRIMARY KEY (order_id, line));
         CREATE TABLE payments (order_id INTEGER, amount REAL);
         CREATE TABLE products (id INTEGER PRIMARY KEY, title TEXT); CREATE TABLE stock_levels (product_id, qty);
         CREATE TABLE warehouses (code TEXT PRIMARY KEY) WITHOUT ROWID;
         INSERT INTO profiles VALUES (1, 'ann'), (2, 'bob'); INSERT INTO sessions VALUES ('s1', 1), ('s2', 2);
         INSERT INTO orders VALUES (10, 9.5), (12, 3.0);
         INSERT INTO order_items VALUES (10, 1), (10, 2); INSERT INTO payments VALUES (10, 9.5);
         INSERT INTO products VALUES (7, 'pen'); INSERT INTO stock_levels VALUES (7, 3);
         INSERT INTO warehouses VALUES ('AMS');",
    );
    let stdout = run_script(&s, "recipe.sql", YDB_RECIPE);
    assert_eq!(stdout.matches("full backup").count(), 3, "{stdout}");

    // Changes in every service: inserts, updates and deletes.
    s.ok("INSERT INTO profiles VALUES (3, 'cy'); UPDATE profiles SET name = 'Ann' WHERE id = 1;
          DELETE FROM sessions WHERE token = 's2'; INSERT INTO preferences VALUES (1, 'theme', 'dark');
          INSERT INTO orders VALUES (11, 1.0); UPDATE orders SET total = 10.5 WHERE id = 10;
          DELETE FROM orders WHERE id = 12; DELETE FROM order_items WHERE line = 2;
          INSERT INTO payments VALUES (11, 1.0);
          UPDATE stock_levels SET qty = 2; INSERT INTO warehouses VALUES ('BER')");
    let at_incremental = service_states(&s);
    let stdout = run_script(&s, "incremental.sql", YDB_RECIPE_INCREMENTAL);
    assert_eq!(stdout.matches("incremental backup").count(), 3, "{stdout}");
    assert!(
        stdout.contains("3 row(s) inserted or updated, 2 deleted"),
        "order service: order 11 and its payment new, order 10 updated; order 12 and item (10, 2) deleted: {stdout}"
    );

    // Life goes on after the backups; then each service is restored on its own.
    s.ok(
        "INSERT INTO profiles VALUES (4, 'late'); INSERT INTO orders VALUES (13, 2.0);
          DELETE FROM stock_levels; INSERT INTO warehouses VALUES ('LIS')",
    );
    let mut expected = service_states(&s);
    for (i, (collection, tables)) in SERVICES.iter().enumerate() {
        let drops: Vec<String> = tables.iter().map(|t| format!("DROP TABLE {t}")).collect();
        s.ok(&format!("{}; RESTORE {collection}", drops.join("; ")));
        expected[i] = at_incremental[i].clone();
        assert_eq!(
            service_states(&s),
            expected,
            "after restoring {collection}, it is as of its incremental backup and the others keep their live data"
        );
    }
}

#[test]
fn the_demo_runs_and_shows_matching_tables() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let out = quiver(&["demo", "--db", db.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout.matches("INCREMENTAL: incremental backup").count(),
        3,
        "{stdout}"
    );
    for line in [
        "| orders         | 3010      | 0              |",
        "| order_items    | 9010      | 0              |",
        "| payments       | 2227      | 0              |",
    ] {
        assert!(stdout.contains(line), "missing `{line}` in:\n{stdout}");
    }
    assert_mentions(&stdout, &["| 2001         | Signed up after the backup |"]);
    // A second run refuses to reuse the database.
    let out = quiver(&["demo", "--db", db.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
}

#[test]
fn scripts_come_from_files_or_stdin_and_help_explains() {
    let s = Scratch::new();
    let mut child = Command::new(env!("CARGO_BIN_EXE_quiver"))
        .args(["--db", s.db().to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"CREATE TABLE t(a); INSERT INTO t VALUES ('from stdin'); SELECT a FROM t;")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("from stdin")
    );

    let help = String::from_utf8(quiver(&["--help"]).stdout).unwrap();
    for needle in [
        "CREATE BACKUP COLLECTION",
        "RESTORE name [AT 'backup-id']",
        "--repo",
        "demo",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}:\n{help}");
    }
    let out = quiver(&["SELECT 1"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--db <PATH|URL> is required"));
}

/// The manifest of backup `id` of collection `collection` in `repo`.
fn manifest_path(repo: &Path, collection: &str, id: &str) -> PathBuf {
    repo.join("collections")
        .join(collection)
        .join(id)
        .join("manifest.json")
}

/// Committed backups of collection `c`, oldest first: the directories with a manifest.
fn committed_backups(repo: &Path, collection: &str) -> (Vec<String>, usize) {
    let mut committed = Vec::new();
    let mut incomplete = 0;
    for entry in std::fs::read_dir(repo.join("collections").join(collection)).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with("_full") && !name.ends_with("_incremental") {
            continue;
        }
        if entry.path().join("manifest.json").exists() {
            committed.push(name);
        } else {
            incomplete += 1;
        }
    }
    committed.sort();
    (committed, incomplete)
}

/// Runs `statement` (a BACKUP of collection `c`) and kills it, at 12 points spread over
/// `duration` (its usual run time) and a bit past it; at least one must hit it while writing.
fn kill_backups(s: &Scratch, statement: &str, duration: std::time::Duration) {
    let db = s.db();
    let db = db.to_str().unwrap();
    let mut interrupted = 0;
    for step in 0..12u32 {
        kill_after(&["--db", db, statement], duration * step / 10);
        // A killed backup leaves at most its own directory without a manifest (each backup
        // removes the leftovers of earlier ones when it starts); it never shows as a backup.
        let (committed, incomplete) = committed_backups(&s.repo(), "c");
        assert!(!committed.is_empty() && incomplete <= 1);
        interrupted += incomplete;
        assert_verifies_but_for_one_interrupted_backup(s, "c", incomplete);
    }
    assert!(
        interrupted > 0,
        "no `{statement}` was interrupted while writing: the kill points missed"
    );
}

/// VERIFY of `collection` after a kill: every committed backup is sound, and the only
/// fault, if any, is the killed backup's directory without a manifest (VERIFY cannot tell it
/// from a lost manifest, so it names it; the next BACKUP or `quiver gc` removes it). A
/// directory killed before its first file holds nothing to name.
fn assert_verifies_but_for_one_interrupted_backup(
    s: &Scratch,
    collection: &str,
    incomplete: usize,
) {
    verify_allows_one_interrupted_backup(s.quiver(&["verify", collection, "--json"]), incomplete);
}

/// The check of [`assert_verifies_but_for_one_interrupted_backup`] on the output of
/// `quiver verify <collection> --json`.
fn verify_allows_one_interrupted_backup(out: Output, incomplete: usize) {
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let faults = report["faults"].as_array().unwrap();
    assert_eq!(out.status.success(), faults.is_empty());
    assert!(faults.len() <= incomplete, "{report:#}");
    for fault in faults {
        assert_eq!(fault["kind"], "missing_manifest", "{report:#}");
    }
}

/// Runs `quiver <args>` and SIGKILLs it after `delay`.
fn kill_after<S: AsRef<std::ffi::OsStr>>(args: &[S], delay: std::time::Duration) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_quiver"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    let _ = child.kill();
    child.wait().unwrap();
}

#[test]
fn killed_backups_and_restores_leave_only_whole_results() {
    let s = Scratch::new();
    s.ok("CREATE TABLE big (id INTEGER PRIMARY KEY, t TEXT, r REAL, b BLOB);
          WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60000)
          INSERT INTO big SELECT i, 'row ' || i, i / 7.0, CASE WHEN i % 3 = 0 THEN randomblob(16) END FROM n;
          CREATE TABLE small (k TEXT PRIMARY KEY, v) WITHOUT ROWID;
          INSERT INTO small VALUES ('a', 1), ('b', 'two');");
    s.ok("CREATE BACKUP COLLECTION c ( TABLE big, TABLE small )");
    let expected = s.fingerprint();
    let started = std::time::Instant::now();
    s.ok("BACKUP c");
    let backup_time = started.elapsed();

    kill_backups(&s, "BACKUP c", backup_time);
    let (committed, _) = committed_backups(&s.repo(), "c");
    // The next backup cleans up what the killed ones left, and succeeds.
    s.ok("BACKUP c");
    let (after, left) = committed_backups(&s.repo(), "c");
    assert_eq!(left, 0, "incomplete backups were not cleaned up");
    assert_eq!(after.len(), committed.len() + 1);
    assert_verifies_but_for_one_interrupted_backup(&s, "c", 0);

    // Every committed backup is whole: it restores to exactly the data.
    for (n, id) in after.iter().enumerate() {
        let conn = s.restore_elsewhere(&format!("restored{n}.db"), &format!("RESTORE c AT '{id}'"));
        assert_eq!(fingerprint(&conn), expected, "backup {id}");
    }

    // Kill RESTOREs: the target has all the tables with all their rows, or none of them.
    let started = std::time::Instant::now();
    s.restore_elsewhere("probe.db", "RESTORE c");
    let restore_time = started.elapsed();
    let mut whole = 0;
    for step in 0..12u32 {
        let target = s.dir.path().join(format!("killed{step}.db"));
        let args = s.elsewhere(&format!("killed{step}.db"), "RESTORE c");
        kill_after(&args, restore_time * step / 10);
        let found = fingerprint(&Connection::open(&target).unwrap());
        if found.is_empty() {
            let out = quiver(&args);
            assert!(
                out.status.success(),
                "rerun after a killed restore: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(fingerprint(&Connection::open(&target).unwrap()), expected);
        } else {
            assert_eq!(found, expected, "a killed restore left part of its tables");
            whole += 1;
        }
    }
    // Restores only read the repository: it is as sound as before.
    assert_verifies_but_for_one_interrupted_backup(&s, "c", 0);
    assert!(
        whole < 12,
        "no restore was interrupted: the kill points missed"
    );
}

#[test]
fn killed_incremental_backups_leave_only_whole_results() {
    let s = Scratch::new();
    s.ok("CREATE TABLE big (id INTEGER PRIMARY KEY, t TEXT, r REAL);
          WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60000)
          INSERT INTO big SELECT i, 'row ' || i, i / 7.0 FROM n;
          CREATE TABLE small (k TEXT PRIMARY KEY, v) WITHOUT ROWID;
          INSERT INTO small VALUES ('a', 1), ('b', 'two');");
    s.ok("CREATE BACKUP COLLECTION c ( TABLE big, TABLE small ) WITH ( INCREMENTAL_BACKUP_ENABLED = 'true' )");
    s.ok("BACKUP c");
    let at_full = s.fingerprint();
    s.ok(
        "UPDATE big SET t = 'changed' WHERE id % 3 = 0; DELETE FROM big WHERE id % 7 = 0;
          INSERT INTO big (t) VALUES ('new'); DELETE FROM small WHERE k = 'a'",
    );
    let changed = s.fingerprint();
    // Time an incremental in a copy, so the chain under test stays one full backup.
    let probe = Scratch::new();
    std::fs::copy(s.db(), probe.db()).unwrap();
    probe.ok("CREATE BACKUP COLLECTION c ( TABLE big, TABLE small ) WITH ( INCREMENTAL_BACKUP_ENABLED = 'true' )");
    probe.ok("BACKUP c");
    let started = std::time::Instant::now();
    probe.ok("BACKUP c INCREMENTAL");
    let incremental_time = started.elapsed();
    kill_backups(&s, "BACKUP c INCREMENTAL", incremental_time);
    s.ok("BACKUP c INCREMENTAL");
    let (after, left) = committed_backups(&s.repo(), "c");
    assert_eq!(left, 0, "incomplete backups were not cleaned up");
    assert_verifies_but_for_one_interrupted_backup(&s, "c", 0);
    // The full backup restores as it was; every committed incremental, whole, to the changes.
    for (n, id) in after.iter().enumerate() {
        let conn = s.restore_elsewhere(&format!("restored{n}.db"), &format!("RESTORE c AT '{id}'"));
        let expected = if id.ends_with("_full") {
            &at_full
        } else {
            &changed
        };
        assert_eq!(&fingerprint(&conn), expected, "backup {id}");
    }
}

/// Runs `quiver <args>` with a file-size limit of `max_file_bytes`: writes past it fail
/// as they would on a full disk (EFBIG, with SIGXFSZ ignored so that the error is returned).
fn quiver_with_file_limit<S: AsRef<std::ffi::OsStr>>(args: &[S], max_file_bytes: u64) -> Output {
    use std::os::unix::process::CommandExt;
    let mut command = Command::new(env!("CARGO_BIN_EXE_quiver"));
    command.args(args).stdin(Stdio::null());
    // SAFETY: only async-signal-safe calls (setrlimit, signal) between fork and exec.
    unsafe {
        command.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: max_file_bytes,
                rlim_max: max_file_bytes,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    command.output().unwrap()
}

#[test]
fn a_full_disk_fails_clearly_and_commits_nothing() {
    let s = Scratch::new();
    s.ok("CREATE TABLE big (id INTEGER PRIMARY KEY, t TEXT);
          WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
          INSERT INTO big SELECT i, hex(randomblob(32)) FROM n;");
    s.ok("CREATE BACKUP COLLECTION c ( TABLE big )");
    s.ok("BACKUP c");
    let before = s.repo_files();

    let db = s.db();
    let out = quiver_with_file_limit(&["--db", db.to_str().unwrap(), "BACKUP c"], 64 * 1024);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_mentions(&err, &["File too large"]);
    assert_mentions(
        &err,
        &["hint: check that the backup repository's disk has free space"],
    );
    assert_eq!(
        s.repo_files(),
        before,
        "a failed backup leaves the repository as it was"
    );
    let log = succeeded(s.quiver(&["log", "c"]));
    assert!(
        log.contains(" backup c failed ") && log.contains("File too large"),
        "{log}"
    );

    // A restore that cannot write its database rolls back whole.
    let target = s.dir.path().join("target.db");
    let args = s.elsewhere("target.db", "RESTORE c");
    let out = quiver_with_file_limit(&args, 64 * 1024);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_mentions(&err, &["rolled back"]);
    assert_mentions(
        &err,
        &["hint: check that the database's disk has free space"],
    );
    assert!(fingerprint(&Connection::open(&target).unwrap()).is_empty());
    // With room again, both work.
    let out = quiver(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        fingerprint(&Connection::open(&target).unwrap()),
        s.fingerprint()
    );
}

#[test]
fn collections_back_up_concurrently_and_one_collection_admits_one_backup() {
    let s = Scratch::new();
    let setup = s.conn();
    setup.execute_batch("PRAGMA journal_mode = WAL;").unwrap();
    for service in ["users", "orders", "stock"] {
        setup
            .execute_batch(&format!(
                "CREATE TABLE {service}_a (id INTEGER PRIMARY KEY, v TEXT);
                 CREATE TABLE {service}_b (id INTEGER PRIMARY KEY, v TEXT);
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
                 INSERT INTO {service}_a SELECT i, hex(randomblob(24)) FROM n;
                 INSERT INTO {service}_b SELECT id, v FROM {service}_a;"
            ))
            .unwrap();
        s.ok(&format!(
            "CREATE BACKUP COLLECTION {service} ( TABLE {service}_a, TABLE {service}_b )"
        ));
    }
    // A writer keeps adding the same id to both tables of every service, one transaction each.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (db, stop) = (s.db(), stop.clone());
        std::thread::spawn(move || {
            let conn = Connection::open(db).unwrap();
            conn.busy_timeout(std::time::Duration::from_secs(10))
                .unwrap();
            let mut id = 20000;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                id += 1;
                for service in ["users", "orders", "stock"] {
                    conn.execute_batch(&format!(
                        "BEGIN; INSERT INTO {service}_a VALUES ({id}, 'live'); INSERT INTO {service}_b VALUES ({id}, 'live'); COMMIT;"
                    ))
                    .unwrap();
                }
            }
        })
    };
    let db = s.db();
    let spawn = |collection: &str| {
        Command::new(env!("CARGO_BIN_EXE_quiver"))
            .args([
                "--db",
                db.to_str().unwrap(),
                &format!("BACKUP {collection}"),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // Three collections at once, plus a second BACKUP of `orders` racing the first.
    let children: Vec<_> = ["users", "orders", "stock", "orders"]
        .iter()
        .map(|c| (*c, spawn(c)))
        .collect();
    let mut outcomes = Vec::new();
    for (collection, child) in children {
        outcomes.push((collection, child.wait_with_output().unwrap()));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();

    for (collection, out) in &outcomes[..3] {
        if *collection != "orders" {
            assert!(
                out.status.success(),
                "{collection}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let orders: Vec<&Output> = outcomes
        .iter()
        .filter(|(c, _)| *c == "orders")
        .map(|(_, o)| o)
        .collect();
    let succeeded = orders.iter().filter(|o| o.status.success()).count();
    assert!(succeeded >= 1, "at least one BACKUP of `orders` commits");
    for out in orders.iter().filter(|o| !o.status.success()) {
        let err = String::from_utf8_lossy(&out.stderr);
        assert_mentions(
            &err,
            &["is busy: another BACKUP, RESTORE or DROP of it is running"],
        );
    }

    // Every committed backup is consistent across its two tables.
    let repo = s.repo();
    for service in ["users", "orders", "stock"] {
        let (ids, incomplete) = committed_backups(&repo, service);
        assert_eq!(incomplete, 0);
        assert!(!ids.is_empty());
        assert_verifies_but_for_one_interrupted_backup(&s, service, 0);
        for id in ids {
            let conn = s.restore_elsewhere(
                &format!("{service}-{id}.db"),
                &format!("RESTORE {service} AT '{id}'"),
            );
            let a = ids_of(&conn, &format!("{service}_a"));
            assert_eq!(a, ids_of(&conn, &format!("{service}_b")), "{service} {id}");
            assert!(a.len() >= 20000);
        }
    }
}

#[test]
fn ydb_style_paths_unicode_names_and_empty_tables_round_trip() {
    let s = Scratch::new();
    s.ok(
        "CREATE TABLE `/Root/shop/orders` (id INTEGER PRIMARY KEY, total REAL);
          INSERT INTO `/Root/shop/orders` VALUES (1, 2.5), (2, NULL);
          CREATE TABLE \"заказы 📦\" (k TEXT PRIMARY KEY, v) WITHOUT ROWID;
          INSERT INTO \"заказы 📦\" VALUES ('ключ', 'значение');
          CREATE TABLE empty_one (a INTEGER, b TEXT);",
    );
    s.ok("CREATE BACKUP COLLECTION `shop/backups ✓` ( TABLE `/Root/shop/orders`, TABLE `заказы 📦`, TABLE empty_one ) \
          WITH ( STORAGE = 'cluster' )");
    let before = s.fingerprint();
    let out = s.ok("BACKUP `shop/backups ✓`");
    assert_mentions(&out, &["3 table(s), 3 row(s)"]);
    s.ok("DROP TABLE `/Root/shop/orders`; DROP TABLE `заказы 📦`; DROP TABLE empty_one");
    let out = s.ok("RESTORE `shop/backups ✓`");
    assert_mentions(&out, &["empty_one (0 rows)"]);
    assert_eq!(s.fingerprint(), before);
    // The names stay readable-but-safe on disk.
    assert!(
        s.repo_files()
            .iter()
            .any(|(p, _, _)| p.contains("%2FRoot%2Fshop%2Forders.0.parquet")),
        "{:?}",
        s.repo_files()
    );
}

/// Asserts that `text` (an output or error message) contains every one of `parts`.
#[track_caller]
fn assert_mentions(text: &str, parts: &[&str]) {
    for part in parts {
        assert!(text.contains(part), "`{part}` missing in:\n{text}");
    }
}

/// The backup id in a BACKUP's output.
fn backup_id(out: &str) -> String {
    out.split_whitespace()
        .find(|w| w.ends_with("_full") || w.ends_with("_incremental"))
        .unwrap_or_else(|| panic!("no backup id in {out}"))
        .to_string()
}

#[test]
fn incremental_chains_restore_at_every_backup_and_refuse_what_they_cannot_hold() {
    let s = Scratch::new();
    s.ok("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE u (k TEXT COLLATE NOCASE PRIMARY KEY, n);
          INSERT INTO t VALUES (1, 'a'), (2, 'b'); INSERT INTO u VALUES ('x', 1), ('Y', 2), ('z', 'three')");
    s.ok("CREATE BACKUP COLLECTION c ( TABLE t, TABLE u ) WITH ( INCREMENTAL_BACKUP_ENABLED = 'true' )");
    let err = s.fails("BACKUP c INCREMENTAL");
    assert_mentions(
        &err,
        &["Last continuous backup stream is not found", "BACKUP c"],
    );

    let mut taken = vec![(backup_id(&s.ok("BACKUP c")), s.fingerprint())];
    // Nothing changed: an incremental with no data files at all.
    let files = s.data_files().len();
    let out = s.ok("BACKUP c INCREMENTAL");
    assert_mentions(&out, &["0 row(s) inserted or updated, 0 deleted, 0 B"]);
    assert_eq!(s.data_files().len(), files);
    taken.push((backup_id(&out), s.fingerprint()));

    s.ok("UPDATE t SET v = 'B' WHERE id = 2; DELETE FROM u WHERE k = 'x'; UPDATE u SET n = x'00' WHERE k = 'z'");
    let out = s.ok("BACKUP c INCREMENTAL");
    assert_mentions(&out, &["2 row(s) inserted or updated, 1 deleted"]);
    taken.push((backup_id(&out), s.fingerprint()));

    // A column added: with ON_SCHEMA_CHANGE = 'refuse', refused, nothing written.
    s.ok("ALTER TABLE t ADD COLUMN w INTEGER; ALTER BACKUP COLLECTION c SET (ON_SCHEMA_CHANGE = 'refuse')");
    let repo = s.repo_files();
    let err = s.fails("BACKUP c INCREMENTAL");
    assert_mentions(
        &err,
        &[
            "column `w` was added",
            "take a full backup",
            "ON_SCHEMA_CHANGE = 'full'",
        ],
    );
    assert_eq!(s.repo_files(), repo, "a refused incremental wrote nothing");
    // By default the incremental becomes a full backup, which starts a new chain, and says so.
    s.ok("ALTER BACKUP COLLECTION c RESET (ON_SCHEMA_CHANGE)");
    let out = s.ok("BACKUP c INCREMENTAL");
    assert_mentions(
        &out,
        &[
            "BACKUP c INCREMENTAL: full backup",
            "note: took a full backup instead of an incremental: table `t` changed since backup",
            "column `w` was added",
        ],
    );
    taken.push((backup_id(&out), s.fingerprint()));
    let log = succeeded(s.quiver(&["log", "c"]));
    assert_mentions(&log, &["took a full backup instead of an incremental"]);

    // A table added to the collection is backed up whole by the next incremental.
    s.ok("CREATE TABLE added (id INTEGER PRIMARY KEY, note TEXT); INSERT INTO added VALUES (1, 'new');
          ALTER BACKUP COLLECTION c ADD TABLE added; INSERT INTO t VALUES (3, 'c', 7)");
    let out = s.ok("BACKUP c INCREMENTAL");
    assert_mentions(&out, &["2 row(s) inserted or updated, 0 deleted"]);
    taken.push((backup_id(&out), s.fingerprint()));

    // Every backup, of either chain, restores to exactly the state it was taken at.
    for (n, (id, expected)) in taken.iter().enumerate() {
        let conn = s.restore_elsewhere(&format!("at{n}.db"), &format!("RESTORE c AT '{id}'"));
        assert_eq!(&fingerprint(&conn), expected, "RESTORE c AT '{id}'");
    }

    // A damaged file in the chain: the next incremental refuses rather than build on it.
    let full = s
        .repo()
        .join("collections/c")
        .join(&taken[3].0)
        .join("data");
    let file = std::fs::read_dir(&full)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[10] ^= 0xff;
    std::fs::write(&file, bytes).unwrap();
    let repo = s.repo_files();
    let err = s.fails("BACKUP c INCREMENTAL");
    assert_mentions(&err, &["damaged", "take a full backup"]);
    assert_eq!(s.repo_files(), repo);
}

/// Runs `quiver <args>` as a user who may not write what a test made read-only: `nobody`
/// when the tests run as root (root writes anywhere), else the current user. The binary is
/// copied into `dir` first, since `nobody` may not be able to reach the build directory.
fn quiver_unprivileged<S: AsRef<std::ffi::OsStr>>(dir: &Path, args: &[S]) -> Output {
    use std::os::unix::process::CommandExt;
    let binary = dir.join("quiver-unprivileged");
    if !binary.exists() {
        std::fs::copy(env!("CARGO_BIN_EXE_quiver"), &binary).unwrap();
    }
    let mut command = Command::new(&binary);
    command.args(args).stdin(Stdio::null());
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        command.uid(65534).gid(65534);
    }
    // A child forked by another test thread while the copy was open for writing holds it
    // open until it execs: exec meanwhile fails with "text file busy". It passes quickly.
    let mut attempts = 0;
    loop {
        match command.output() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && attempts < 100 => {
                attempts += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other.unwrap(),
        }
    }
}

/// Sets the mode of `path` and, for a directory, of everything below it: directories get
/// `dir_mode`, files `file_mode`.
fn set_modes(path: &Path, dir_mode: u32, file_mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            set_modes(&entry.unwrap().path(), dir_mode, file_mode);
        }
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(dir_mode)).unwrap();
    } else {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(file_mode)).unwrap();
    }
}

#[test]
fn a_repository_or_database_that_cannot_be_written_fails_clearly_and_changes_nothing() {
    let s = Scratch::new();
    s.ok(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a'), (2, 'b');",
    );
    s.ok("CREATE BACKUP COLLECTION c ( TABLE t ) WITH ( INCREMENTAL_BACKUP_ENABLED = 'true' )");
    s.ok("BACKUP c");
    let backed_up = table_rows(&s.conn(), "t");
    s.ok("UPDATE t SET v = 'B' WHERE id = 2");
    let before = s.repo_files();
    // Everyone may read the scratch directory, the database and the repository; nobody may
    // write the repository.
    set_modes(s.dir.path(), 0o755, 0o644);
    set_modes(&s.repo(), 0o555, 0o444);
    let db = s.db();
    for statement in ["BACKUP c", "BACKUP c INCREMENTAL"] {
        let out = quiver_unprivileged(s.dir.path(), &["--db", db.to_str().unwrap(), statement]);
        assert_eq!(out.status.code(), Some(1), "{statement}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("Permission denied") && err.contains("writable"),
            "{statement}: {err}"
        );
        assert_eq!(s.repo_files(), before, "{statement} changed the repository");
    }

    // A restore into a database that cannot be written: an error, and nothing restored.
    let locked = s.dir.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    let target = locked.join("target.db");
    Connection::open(&target)
        .unwrap()
        .execute_batch("CREATE TABLE other (x)")
        .unwrap();
    let untouched = fingerprint(&Connection::open(&target).unwrap());
    set_modes(&locked, 0o555, 0o444);
    let repo = s.repo();
    let restore_into = |db: &Path| {
        quiver_unprivileged(
            s.dir.path(),
            &[
                "--db",
                db.to_str().unwrap(),
                "--repo",
                repo.to_str().unwrap(),
                "RESTORE c",
            ],
        )
    };
    let out = restore_into(&target);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_mentions(&err, &["readonly", "rolled back"]);
    set_modes(&locked, 0o755, 0o644);
    assert_eq!(
        fingerprint(&Connection::open(&target).unwrap()),
        untouched,
        "the target is as it was"
    );
    // A read-only repository still restores (backup media mounted read-only).
    let open = s.dir.path().join("open");
    std::fs::create_dir(&open).unwrap();
    set_modes(&open, 0o777, 0o666);
    let restored = open.join("restored.db");
    let out = restore_into(&restored);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        table_rows(&Connection::open(&restored).unwrap(), "t"),
        backed_up
    );
    assert_eq!(s.repo_files(), before);

    // Writable again, everything works.
    set_modes(&s.repo(), 0o755, 0o644);
    s.ok("BACKUP c INCREMENTAL");
}

#[path = "cli/external.rs"]
mod external;

#[path = "cli/queries.rs"]
mod queries;

#[path = "cli/schemas.rs"]
mod schemas;

#[path = "cli/untrusted.rs"]
mod untrusted;

#[path = "cli/blast.rs"]
mod blast;

#[path = "cli/durability.rs"]
mod durability;

#[path = "cli/postgres.rs"]
mod on_postgres;

#[path = "cli/scenarios.rs"]
mod scenarios;

#[path = "cli/lifecycle.rs"]
mod lifecycle;

#[path = "cli/encryption.rs"]
mod encryption;
