//! The same statements on PostgreSQL, against a real server (issue 13): `.ci/run` starts one
//! and exports `QUIVER_TEST_POSTGRES_URL`; without it the first test starts its own
//! (`quiver_postgres::test_server`). Each test has a database of its own.

use quiver::catalog::{BackupManifest, TableSchema};
use quiver_postgres::test_server::PgTestServer;

use super::scenarios::Db;
use super::*;

/// A fresh database on the test server, with a repository in a temporary directory.
pub(super) struct Pg {
    url: String,
    dir: tempfile::TempDir,
}

impl Pg {
    pub(super) fn new(name: &str) -> Pg {
        Pg {
            url: PgTestServer::shared().database(name),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn repo(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    /// Runs `quiver --db <url> --repo <dir> <args>`.
    pub(super) fn quiver(&self, args: &[&str]) -> Output {
        let repo = self.repo();
        let mut all = vec!["--db", self.url.as_str(), "--repo", repo.to_str().unwrap()];
        all.extend_from_slice(args);
        quiver(&all)
    }

    /// A client of the test's database (whatever timeout the database sets).
    fn client(&self) -> postgres::Client {
        let mut config: postgres::Config = self.url.parse().unwrap();
        config.options("-c statement_timeout=0");
        config.connect(postgres::NoTls).unwrap()
    }

    /// Each row of `table` in its text form, in key order: equal text means equal values.
    fn rows(&self, table: &str, order: &str) -> Vec<String> {
        self.client()
            .query(
                &format!("SELECT _row::text FROM {table} _row ORDER BY {order}"),
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    }

    /// The schema of `tables` as pg_dump writes it (its random `\restrict` key left out).
    fn schema(&self, tables: &[&str]) -> String {
        let bin = quiver_postgres::test_server::bin_dir().expect("PostgreSQL binaries");
        let mut command = Command::new(bin.join("pg_dump"));
        // Whatever timeout the database sets (a test sets 1 ms, which pg_dump's own
        // queries overran on a loaded machine).
        command.env("PGOPTIONS", "-c statement_timeout=0");
        command.args(["--schema-only", "--no-owner", "-d", &self.url]);
        for table in tables {
            command.args(["-t", table]);
        }
        let dump = succeeded(command.output().unwrap());
        dump.lines()
            .filter(|l| !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[test]
fn the_seed_demo_runs_on_postgres_and_each_service_restores_alone() {
    let pg = Pg::new("demo");
    let out = succeeded(quiver(&[
        "demo",
        "--db",
        &pg.url,
        "--repo",
        pg.repo().to_str().unwrap(),
        "--quiet",
    ]));
    for line in [
        "| orders         | 3010      | 0              |",
        "| order_items    | 9010      | 0              |",
        "| payments       | 2227      | 0              |",
        "| 2001         | Signed up after the backup | 136             |",
    ] {
        assert!(out.contains(line), "`{line}` missing in:\n{out}");
    }
    for collection in [
        "user_service_backups",
        "order_service_backups",
        "inventory_service_backups",
    ] {
        succeeded(pg.quiver(&["verify", collection]));
    }
    // The restored tables are the tables that were: the same DDL, as pg_dump sees it.
    let restored = pg.schema(&["orders", "order_items", "payments"]);
    let fresh = Pg::new("demo_fresh");
    let script = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/demo_postgres.sql"
    ))
    .unwrap();
    let ddl: String = script
        .lines()
        .filter(|l| {
            l.starts_with("CREATE TABLE")
                || l.starts_with("CREATE TYPE")
                || l.starts_with("CREATE INDEX")
        })
        .collect::<Vec<_>>()
        .join("\n");
    fresh.client().batch_execute(&ddl).unwrap();
    assert_eq!(
        restored,
        fresh.schema(&["orders", "order_items", "payments"])
    );
}

/// Every type of the issue, with NULLs and extremes, in one table.
const TYPES_TABLE: &str = r#"
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN positive AS integer CHECK (VALUE > 0);
CREATE TABLE every_type (
    id integer PRIMARY KEY,
    b boolean, i2 smallint, i4 integer, i8 bigint,
    f4 real, f8 double precision,
    n numeric, n2 numeric(20,4),
    t text, vc varchar(10), c char(5), "Odd ""name""" text,
    by bytea,
    d date, ts timestamp, tstz timestamptz, tm time, tmtz timetz, iv interval,
    u uuid, j json, jb jsonb,
    ai integer[], at text[],
    m mood, ma mood[], p positive,
    inet_v inet, r int4range
);
INSERT INTO every_type VALUES
 (1, true, -32768, -2147483648, -9223372036854775808, 'NaN', 'Infinity', 'NaN', -12345678901234.5678,
  '', '', '', 'x', '\x', '-infinity', '-infinity', '-infinity', '00:00', '00:00+14', '-178000000 years',
  '00000000-0000-0000-0000-000000000000', '{"b": 1, "a": [1, 2]}', '{"b": 1, "a": [1, 2]}',
  '{}', '{}', 'sad', '{}', 1, '::1', 'empty'),
 (2, false, 32767, 2147483647, 9223372036854775807, '-Infinity', '-0', 'Infinity', 99999999999999.9999,
  e'tab\there\nnew line \\ back', 'ten chars!', 'ab', 'ü', '\x00ff0a5c', 'infinity', 'infinity', 'infinity', '24:00', '23:59:59.999999-12',
  '178000000 years 11 mons 30 days 23:59:59.999999', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '[]', '{}',
  '{1,NULL,3}', '{"a b","{c}",NULL,"\"q\""}', 'happy', '{ok,happy}', 2147483647, '10.0.0.1/8', '[1,10)'),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (4, true, 0, 0, 0, 1.17549435e-38, 2.2250738585072014e-308, '-Infinity', 0.0001,
  'naïve 😀', 'x', 'abcde', '', '\xdeadbeef', '4713-01-01 BC', '294276-12-31 23:59:59.999999', '1999-12-31 23:59:59.5+05:30', '12:34:56.789', '01:02:03+01', '1 day -1 second',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'null', '"s"', '{-1,0,1}', '{""}', 'ok', '{sad}', 42, '2001:db8::/32', '(,5]'),
 (5, false, -1, -1, -1, 3.4028235e38, 1.7976931348623157e308, 1e-1000, -0.0001,
  repeat('long ', 1000), 'é', 'a', 'b', decode(repeat('ab', 5000), 'hex'), '2000-02-29', '2000-02-29 12:00', '2000-02-29 12:00+00', '23:59:59.999999', '00:00:00+00', '0',
  gen_random_uuid(), '{"deep": {"er": [true, false, null]}}', '{"deep": {"er": [true, false, null]}}', '{2147483647}', '{"\\"}', 'sad', '{}', 7, '0.0.0.0/0', '[-5,5]');
"#;

#[test]
fn every_type_round_trips_exactly_through_full_and_incremental_backups() {
    let pg = Pg::new("types");
    pg.client().batch_execute(TYPES_TABLE).unwrap();
    pg.ok("CREATE BACKUP COLLECTION c ( TABLE every_type ) WITH ( INCREMENTAL_BACKUP_ENABLED = 'true' )");
    let full_rows = pg.rows("every_type", "id");
    let full = backup_id(&pg.ok("BACKUP c"));
    pg.client()
        .batch_execute(
            "UPDATE every_type SET f8 = -f8, t = t || '!', jb = '{\"new\": 1}' WHERE id IN (2, 4);
             DELETE FROM every_type WHERE id = 1;
             INSERT INTO every_type (id, n, by, m) VALUES (6, 'NaN', '\\x01', 'ok')",
        )
        .unwrap();
    let incremental_rows = pg.rows("every_type", "id");
    pg.ok("BACKUP c INCREMENTAL");
    let schema = pg.schema(&["every_type"]);

    pg.ok("DROP TABLE every_type");
    pg.ok("RESTORE c");
    assert_eq!(pg.rows("every_type", "id"), incremental_rows);
    assert_eq!(pg.schema(&["every_type"]), schema);

    pg.ok("DROP TABLE every_type");
    pg.ok(&format!("RESTORE c AT '{full}'"));
    assert_eq!(pg.rows("every_type", "id"), full_rows);
    succeeded(pg.quiver(&["verify", "c"]));
}

#[test]
fn text_keys_diff_in_the_order_the_server_sorts_them() {
    let pg = Pg::new("keys");
    // Keys the database's collation (ICU en-US on the test server) orders otherwise than C.
    pg.client()
        .batch_execute(
            "CREATE TABLE k (name text PRIMARY KEY, v integer);
             INSERT INTO k VALUES ('a', 1), ('B', 2), ('_c', 3), ('b', 4), ('Ä', 5), ('', 6), ('a b', 7), ('ab', 8);
             CREATE TABLE d (day date, n numeric, v integer, PRIMARY KEY (day, n));
             INSERT INTO d SELECT DATE '2000-01-01' + i * 400, (i - 50) * 1.5, i FROM generate_series(0, 99) i;",
        )
        .unwrap();
    pg.ok("CREATE BACKUP COLLECTION c ( TABLE k, TABLE d ) WITH ( INCREMENTAL_BACKUP_ENABLED = 'true' )");
    pg.ok("BACKUP c");
    pg.client()
        .batch_execute(
            "UPDATE k SET v = v * 10 WHERE name IN ('B', 'Ä', '');
             DELETE FROM k WHERE name = '_c';
             INSERT INTO k VALUES ('Z', 9), ('aa', 10);
             UPDATE d SET v = -v WHERE n < 0;
             DELETE FROM d WHERE v % 7 = 0;",
        )
        .unwrap();
    let (k, d) = (pg.rows("k", "name"), pg.rows("d", "day, n"));
    let out = pg.ok("BACKUP c INCREMENTAL");
    // Only the changed rows: a key order mismatch would show as many more.
    assert!(
        out.contains("47 row(s) inserted or updated, 16 deleted"),
        "{out}"
    );
    pg.ok("DROP TABLE k; DROP TABLE d");
    pg.ok("RESTORE c");
    assert_eq!(pg.rows("k", "name"), k);
    assert_eq!(pg.rows("d", "day, n"), d);
}

#[test]
fn a_table_without_a_key_has_full_backups_only() {
    let pg = Pg::new("keyless");
    pg.client()
        .batch_execute("CREATE TABLE log (at timestamptz, line text); INSERT INTO log VALUES ('2026-01-01', 'x'), ('2026-01-01', 'x'), (NULL, NULL);")
        .unwrap();
    pg.ok("CREATE BACKUP COLLECTION c ( TABLE log ) WITH ( INCREMENTAL_BACKUP_ENABLED = 'true' )");
    pg.ok("BACKUP c");
    let before = committed_backups(&pg.repo(), "c");
    let err = pg.fails("BACKUP c INCREMENTAL");
    assert_mentions(
        &err,
        &[
            "table `log` has no primary key",
            "nothing was written",
            "add a primary key",
        ],
    );
    assert_eq!(committed_backups(&pg.repo(), "c"), before);
    let rows = pg.rows("log", "1");
    pg.ok("DROP TABLE log");
    pg.ok("RESTORE c");
    assert_eq!(pg.rows("log", "1"), rows);
}

#[test]
fn a_restore_is_refused_while_a_table_exists_and_changes_nothing() {
    let pg = Pg::new("exists");
    pg.client()
        .batch_execute("CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY REFERENCES a); INSERT INTO a VALUES (1); INSERT INTO b VALUES (1);")
        .unwrap();
    pg.ok("CREATE BACKUP COLLECTION c ( TABLE a, TABLE b )");
    pg.ok("BACKUP c");
    pg.ok("DROP TABLE b");
    let err = pg.fails("RESTORE c");
    assert_mentions(&err, &["a"]);
    // Nothing was created: b is still gone, a untouched.
    assert_eq!(pg.rows("a", "id"), ["(1)"]);
    let b: bool = pg
        .client()
        .query_one("SELECT to_regclass('b') IS NULL", &[])
        .unwrap()
        .get(0);
    assert!(b);
    // Restored beside the live table under a prefix, with its foreign key following a's copy.
    pg.ok("RESTORE c WITH ( TARGET_PREFIX = 'old_' )");
    assert_eq!(pg.rows("old_b", "id"), ["(1)"]);
    let references: String = pg
        .client()
        .query_one("SELECT confrelid::regclass::text FROM pg_constraint WHERE conrelid = 'old_b'::regclass AND contype = 'f'", &[])
        .unwrap()
        .get(0);
    assert_eq!(references, "old_a");
}

#[test]
fn a_forged_check_never_runs_and_nothing_is_restored() {
    let pg = Pg::new("forged");
    pg.client()
        .batch_execute("CREATE TABLE t (id int PRIMARY KEY, v int CHECK (v > 0)); INSERT INTO t VALUES (1, 1);")
        .unwrap();
    pg.ok("CREATE BACKUP COLLECTION c ( TABLE t )");
    pg.ok("BACKUP c");
    let (ids, _) = committed_backups(&pg.repo(), "c");
    let path = manifest_path(&pg.repo(), "c", &ids[0]);
    let original = BackupManifest::decode(&std::fs::read(&path).unwrap(), &ids[0], None).unwrap();
    let with = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut manifest = original.clone();
        let mut adapter = manifest.tables[0].schema.adapter.clone().unwrap();
        edit(&mut adapter);
        manifest.tables[0].schema = TableSchema {
            adapter: Some(adapter),
            ..manifest.tables[0].schema.clone()
        };
        std::fs::write(&path, manifest.encode()).unwrap();
    };
    pg.ok("DROP TABLE t");
    // A legacy setting of the target database, under which `'\'` opens a string rather than
    // being one: quiver's sessions set it back, as pg_dump's do.
    let name = pg.url.rsplit('/').next().unwrap().to_string();
    pg.client()
        .batch_execute(&format!(
            "ALTER DATABASE {name} SET standard_conforming_strings = off"
        ))
        .unwrap();
    type Edit = Box<dyn Fn(&mut serde_json::Value)>;
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "a default that reads as a string only without standard strings",
            Box::new(|a| {
                a["columns"][1]["default"] =
                    r#"'\' ' , "x" text DEFAULT pg_catalog.pg_read_file($$/etc/hostname$$) ) --'"#
                        .into();
            }),
            // Two strings side by side under standard strings: the server refuses them.
            "creating table `t`",
        ),
        (
            "a default carrying a foreign key",
            Box::new(|a| {
                a["columns"][1]["default"] =
                    r#"0 REFERENCES "public"."secret" ("id") ON DELETE CASCADE"#.into();
            }),
            "carries a column clause",
        ),
        (
            "a default carrying a unique constraint",
            Box::new(|a| a["columns"][1]["default"] = "NULL UNIQUE NOT NULL".into()),
            "carries a column clause",
        ),
        (
            "a default that reads a file",
            Box::new(|a| {
                a["columns"][1]["default"] =
                    "(length(pg_catalog.pg_read_file($$/etc/hostname$$)))".into()
            }),
            "pg_read_file",
        ),
        (
            "a trigger whose condition reads a file",
            Box::new(|a| {
                a["triggers"] = serde_json::json!([{
                    "name": "x", "constraint": false, "timing": "BEFORE UPDATE", "disabled": false,
                    "body": "FOR EACH ROW WHEN (pg_catalog.length(pg_catalog.pg_read_file($$/etc/hostname$$)) > 0) EXECUTE FUNCTION pg_catalog.suppress_redundant_updates_trigger()"
                }]);
            }),
            "pg_read_file",
        ),
        (
            "a check that reads a catalog through an XML export",
            Box::new(|a| {
                a["constraints"][0]["definition"] =
                    "CHECK (((pg_catalog.table_to_xml('pg_catalog.pg_authid'::regclass, true, true, ''))::text::integer > 0))".into();
            }),
            "table_to_xml",
        ),
        (
            "a trigger condition that reads the settings file",
            Box::new(|a| {
                a["triggers"] = serde_json::json!([{
                    "name": "x", "constraint": false, "timing": "BEFORE UPDATE", "disabled": false,
                    "body": "FOR EACH ROW WHEN (pg_catalog.table_to_xml('pg_catalog.pg_file_settings'::regclass, true, true, '') IS NOT NULL) EXECUTE FUNCTION pg_catalog.suppress_redundant_updates_trigger()"
                }]);
            }),
            "table_to_xml",
        ),
        (
            "enum types no column uses",
            Box::new(|a| {
                a["enums"] =
                    serde_json::json!([{"schema": "pg_catalog", "name": "evil", "labels": ["x"]}]);
            }),
            "system schema",
        ),
    ];
    for (what, edit, expected) in cases.into_iter().chain([
        (
            "a volatile check",
            Box::new(|a: &mut serde_json::Value| {
                a["constraints"][0]["definition"] = "CHECK ((pg_sleep(0) IS NOT NULL))".into();
            }) as Edit,
            "volatile function",
        ),
        (
            "a statement after the default",
            Box::new(|a: &mut serde_json::Value| {
                a["columns"][1]["default"] = "1); DROP TABLE x; --".into();
            }),
            "the default of column `v`",
        ),
        (
            "a type that is no type",
            Box::new(|a: &mut serde_json::Value| {
                a["columns"][1]["type_name"] = "integer CHECK (false)".into();
            }),
            "is not a type name",
        ),
    ]) {
        with(&*edit);
        let err = pg.fails("RESTORE c");
        assert_mentions(&err, &[expected]);
        assert!(
            !err.contains("rolpassword") && !err.contains("SCRAM"),
            "{what}: {err}"
        );
        let gone: bool = pg
            .client()
            .query_one("SELECT to_regclass('t') IS NULL", &[])
            .unwrap()
            .get(0);
        assert!(gone, "{what}: t was created");
        let types: i64 = pg
            .client()
            .query_one("SELECT count(*) FROM pg_type WHERE typname = 'evil'", &[])
            .unwrap()
            .get(0);
        assert_eq!(types, 0, "{what}: a type was created");
    }
}

#[test]
fn connection_faults_are_clear_errors_without_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgresql://app:s3cret-pw@127.0.0.1:{port}/shop");
    let out = quiver(&["--db", &url, "--repo", repo.to_str().unwrap(), "SELECT 1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_mentions(
        &err,
        &[
            &format!("postgresql://app@127.0.0.1:{port}/shop"),
            "server is running",
        ],
    );
    assert!(!err.contains("s3cret"), "{err}");
    // No repository: a server's database has no file to keep it beside.
    let pg = Pg::new("norepo");
    let out = quiver(&["--db", &pg.url, "SELECT 1"]);
    assert_mentions(&String::from_utf8_lossy(&out.stderr), &["--repo"]);
}

#[test]
fn writers_during_backups_never_split_the_cut() {
    let pg = Pg::new("cut");
    // Transfers move amounts between a row of `a` and a row of `b` in one transaction: the
    // sum over both tables is the same at every instant, so in every consistent backup.
    pg.client()
        .batch_execute(
            "CREATE TABLE a (id int PRIMARY KEY, v bigint NOT NULL);
             CREATE TABLE b (id int PRIMARY KEY, v bigint NOT NULL);
             INSERT INTO a SELECT i, 1000 FROM generate_series(1, 20000) i;
             INSERT INTO b SELECT i, 1000 FROM generate_series(1, 20000) i;",
        )
        .unwrap();
    pg.ok("CREATE BACKUP COLLECTION c ( TABLE a, TABLE b ) WITH ( INCREMENTAL_BACKUP_ENABLED = 'true' )");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (url, stop) = (pg.url.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            let mut transfers = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let (from, to, amount) = (
                    1 + transfers % 20000,
                    1 + (transfers * 7919) % 20000,
                    1 + transfers % 13,
                );
                let mut tx = client.transaction().unwrap();
                tx.execute(
                    "UPDATE a SET v = v - $1 WHERE id = $2",
                    &[&(amount as i64), &(from as i32)],
                )
                .unwrap();
                tx.execute(
                    "UPDATE b SET v = v + $1 WHERE id = $2",
                    &[&(amount as i64), &(to as i32)],
                )
                .unwrap();
                tx.commit().unwrap();
                transfers += 1;
            }
            transfers
        })
    };
    let mut ids = Vec::new();
    for round in 0..6 {
        let statement = if round == 0 {
            "BACKUP c"
        } else {
            "BACKUP c INCREMENTAL"
        };
        ids.push(backup_id(&pg.ok(statement)));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let transfers = writer.join().unwrap();
    assert!(
        transfers > 0,
        "the writer committed nothing during the backups"
    );
    for id in &ids {
        let out = pg.ok(&format!(
            "QUERY AT '{id}' SELECT (SELECT sum(v) FROM c.a) + (SELECT sum(v) FROM c.b) AS total"
        ));
        assert!(
            out.contains("| 40000000 |"),
            "backup {id} is not one cut:\n{out}"
        );
    }
}

#[test]
fn killed_backups_and_restores_on_postgres_leave_only_whole_results() {
    let pg = Pg::new("killed");
    pg.client()
        .batch_execute(
            "CREATE TABLE big (id int PRIMARY KEY, t text, r double precision, b bytea);
             INSERT INTO big SELECT i, 'row ' || i, i / 7.0, CASE WHEN i % 3 = 0 THEN sha256(i::text::bytea) END
               FROM generate_series(1, 100000) i;
             CREATE TABLE small (k text PRIMARY KEY, v text);
             INSERT INTO small VALUES ('a', '1'), ('b', 'two');",
        )
        .unwrap();
    pg.ok("CREATE BACKUP COLLECTION c ( TABLE big, TABLE small ) WITH ( INCREMENTAL_BACKUP_ENABLED = 'true' )");
    let expected = (pg.rows("big", "id"), pg.rows("small", "k"));
    let started = std::time::Instant::now();
    pg.ok("BACKUP c");
    let backup_time = started.elapsed();
    let repo = pg.repo();
    let args = |statement: &str| -> Vec<String> {
        vec![
            "--db".into(),
            pg.url.clone(),
            "--repo".into(),
            repo.to_string_lossy().into_owned(),
            statement.into(),
        ]
    };
    let mut interrupted = 0;
    for step in 0..12u32 {
        kill_after(&args("BACKUP c"), backup_time * step / 10);
        let (committed, incomplete) = committed_backups(&repo, "c");
        assert!(!committed.is_empty() && incomplete <= 1);
        interrupted += incomplete;
        verify_allows_one_interrupted_backup(pg.quiver(&["verify", "c", "--json"]), incomplete);
    }
    assert!(
        interrupted > 0,
        "no BACKUP was interrupted while writing: the kill points missed"
    );
    pg.ok("BACKUP c");
    assert_eq!(
        committed_backups(&repo, "c").1,
        0,
        "incomplete backups were not cleaned up"
    );

    // Kill RESTOREs: the database has both tables with all their rows, or neither.
    pg.ok("DROP TABLE big; DROP TABLE small");
    let started = std::time::Instant::now();
    pg.ok("RESTORE c");
    let restore_time = started.elapsed();
    let mut whole = 0;
    for step in 0..12u32 {
        pg.ok("DROP TABLE big; DROP TABLE small");
        kill_after(&args("RESTORE c"), restore_time * step / 10);
        // The server rolls a killed client's transaction back when it notices the
        // connection is gone; wait for that before looking.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while pg
            .client()
            .query_one("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'quiver' AND datname = current_database()", &[])
            .unwrap()
            .get::<_, i64>(0)
            > 0
        {
            assert!(std::time::Instant::now() < deadline, "a killed restore's session lingers");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let present: i64 = pg
            .client()
            .query_one(
                "SELECT count(*) FROM pg_tables WHERE tablename IN ('big', 'small')",
                &[],
            )
            .unwrap()
            .get(0);
        match present {
            0 => pg.ok("RESTORE c"),
            2 => {
                whole += 1;
                String::new()
            }
            other => panic!("a killed restore left {other} of 2 tables"),
        };
        assert_eq!((pg.rows("big", "id"), pg.rows("small", "k")), expected);
    }
    assert!(
        whole < 12,
        "no RESTORE was interrupted: the kill points missed"
    );
}

#[test]
fn a_connection_lost_mid_backup_commits_nothing() {
    let pg = Pg::new("lost");
    pg.client()
        .batch_execute(
            "CREATE TABLE big (id int PRIMARY KEY, t text);
             INSERT INTO big SELECT i, repeat('x', 200) FROM generate_series(1, 300000) i;",
        )
        .unwrap();
    pg.ok("CREATE BACKUP COLLECTION c ( TABLE big )");
    let repo = pg.repo();
    let child = Command::new(env!("CARGO_BIN_EXE_quiver"))
        .args([
            "--db",
            &pg.url,
            "--repo",
            repo.to_str().unwrap(),
            "BACKUP c",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // As a server restart would: end the backup's sessions while it reads.
    let mut admin = pg.client();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let ended: i64 = admin
            .query_one(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                 WHERE application_name = 'quiver' AND datname = current_database() AND query LIKE 'COPY%'",
                &[],
            )
            .unwrap()
            .get(0);
        if ended > 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the backup never started reading"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_mentions(&err, &["big"]);
    assert_eq!(committed_backups(&repo, "c").0, Vec::<String>::new());
    // The next one, undisturbed, succeeds and verifies.
    pg.ok("BACKUP c");
    succeeded(pg.quiver(&["verify", "c"]));
}

#[test]
fn awkward_but_real_tables_back_up_and_restore_exactly() {
    let pg = Pg::new("awkward");
    pg.client()
        .batch_execute(
            r#"CREATE SCHEMA a; CREATE SCHEMA sales;
               CREATE TABLE a.b (id int PRIMARY KEY, v text); INSERT INTO a.b VALUES (1, 'schema a, table b');
               CREATE TABLE public."a.b" (id int PRIMARY KEY, v text); INSERT INTO public."a.b" VALUES (1, 'public, table a.b');
               CREATE TABLE "a\b" (id serial PRIMARY KEY, v text); INSERT INTO "a\b" (v) VALUES ('x'), ('y');
               CREATE TABLE tr (id int PRIMARY KEY, a int, b int);
               CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
               CREATE TRIGGER tr_ab BEFORE UPDATE OF a, b ON tr FOR EACH ROW EXECUTE FUNCTION touch();
               INSERT INTO tr VALUES (1, 2, 3);
               CREATE TABLE gen (a int NOT NULL, b int GENERATED ALWAYS AS (a * 2) STORED PRIMARY KEY);
               INSERT INTO gen (a) VALUES (1), (2);
               CREATE TABLE padded (id int PRIMARY KEY, c bpchar, c3 char(3));
               INSERT INTO padded VALUES (1, 'ab   ', 'x'), (2, ' ', '');
               CREATE TABLE sales.orders (id int PRIMARY KEY, total numeric);
               INSERT INTO sales.orders VALUES (7, 1.5);
               CREATE TABLE "Foo" (id int PRIMARY KEY); CREATE TABLE foo (id int PRIMARY KEY);
               INSERT INTO "Foo" VALUES (1); INSERT INTO foo VALUES (2);"#,
        )
        .unwrap();
    let name = pg.url.rsplit('/').next().unwrap().to_string();
    // Settings a database may have: quiver's sessions override them.
    pg.client()
        .batch_execute(&format!(
            "ALTER DATABASE {name} SET standard_conforming_strings = off; ALTER DATABASE {name} SET statement_timeout = '1ms'"
        ))
        .unwrap();
    pg.ok(r#"CREATE BACKUP COLLECTION c ( TABLE public.a.b, TABLE `a\b`, TABLE tr, TABLE gen, TABLE padded, TABLE sales.orders, TABLE "Foo", TABLE foo )
             WITH ( INCREMENTAL_BACKUP_ENABLED = 'true' )"#);
    let show = pg.ok("SHOW BACKUP COLLECTIONS");
    assert!(show.contains(r#"public."a.b""#), "{show}");
    pg.ok("BACKUP c");
    // A generated key orders nothing stored: full backups only, named.
    assert_mentions(
        &pg.fails("BACKUP c INCREMENTAL"),
        &["table `gen` has no primary key"],
    );
    let tables = [
        r#"public."a.b""#,
        r#""a\b""#,
        "tr",
        "gen",
        "padded",
        "sales.orders",
        r#""Foo""#,
        "foo",
    ];
    let before: Vec<Vec<String>> = tables.iter().map(|t| pg.rows(t, "1")).collect();
    let padding: Vec<i32> = pg
        .client()
        .query("SELECT octet_length(c) FROM padded ORDER BY id", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let schema = pg.schema(&[
        "public.\"a.b\"",
        "public.\"a\\b\"",
        "tr",
        "gen",
        "padded",
        "sales.orders",
    ]);
    for table in tables {
        pg.client()
            .batch_execute(&format!("DROP TABLE {table}"))
            .unwrap();
    }
    pg.ok("RESTORE c");
    let after: Vec<Vec<String>> = tables.iter().map(|t| pg.rows(t, "1")).collect();
    assert_eq!(after, before);
    assert_eq!(
        pg.rows("a.b", "1"),
        ["(1,\"schema a, table b\")"],
        "the other a.b is untouched"
    );
    let kept: Vec<i32> = pg
        .client()
        .query("SELECT octet_length(c) FROM padded ORDER BY id", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(kept, padding);
    assert_eq!(
        pg.schema(&[
            "public.\"a.b\"",
            "public.\"a\\b\"",
            "tr",
            "gen",
            "padded",
            "sales.orders"
        ]),
        schema
    );
    // A prefix goes before the table's own name, in its schema.
    pg.ok("RESTORE c WITH ( TABLES = 'sales.orders', TARGET_PREFIX = 'p_' )");
    assert_eq!(pg.rows("sales.p_orders", "1"), ["(7,1.5)"]);
}

#[test]
fn missing_privileges_are_clear_errors_and_change_nothing() {
    let pg = Pg::new("privileges");
    let role = format!("quiver_app_{}", std::process::id());
    pg.client()
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN;
             CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a');"
        ))
        .unwrap();
    let (user, rest) = pg.url.split_once("://").unwrap().1.split_once('@').unwrap();
    assert_eq!(user, "postgres");
    let as_app = format!("postgresql://{role}@{rest}");
    let repo = pg.repo();
    let app = |sql: &str| quiver(&["--db", &as_app, "--repo", repo.to_str().unwrap(), sql]);
    succeeded(app("CREATE BACKUP COLLECTION c ( TABLE t )"));
    let out = app("BACKUP c");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_mentions(&err, &["permission denied for table t", "privileges"]);
    assert!(committed_backups(&repo, "c").0.is_empty());

    pg.client()
        .batch_execute(&format!("GRANT SELECT ON t TO {role}"))
        .unwrap();
    succeeded(app("BACKUP c"));
    pg.client().batch_execute("DROP TABLE t").unwrap();
    // PostgreSQL 15 gives PUBLIC no CREATE on schema public: the role cannot create t.
    let out = app("RESTORE c");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_mentions(
        &err,
        &["permission denied for schema public", "rolled back"],
    );
    let gone: bool = pg
        .client()
        .query_one("SELECT to_regclass('t') IS NULL", &[])
        .unwrap()
        .get(0);
    assert!(gone);
    pg.client()
        .batch_execute(&format!("DROP OWNED BY {role}; DROP ROLE {role}"))
        .unwrap();
}

#[test]
fn a_restore_keeps_every_rule_whatever_the_target_database_sets() {
    let pg = Pg::new("rules");
    pg.client()
        .batch_execute(
            "CREATE TABLE t (id int PRIMARY KEY, tags text[], ints int[], doc xml, balance numeric(12,2), amount numeric);
             INSERT INTO t VALUES (1, ARRAY['a', NULL], ARRAY[1, NULL], 'fragment <b>1</b>', 999.00, 1),
                                  (2, '{}', '{}', NULL, 1500.00, 2), (3, NULL, NULL, '<a/>', 20000.00, 3);
             CREATE TABLE customer_subscription_billing_history_entries (
                 id int PRIMARY KEY, last_payment_amount_cents int CHECK (last_payment_amount_cents >= 0));
             INSERT INTO customer_subscription_billing_history_entries VALUES (1, 1);",
        )
        .unwrap();
    pg.ok("CREATE BACKUP COLLECTION c ( TABLE t, TABLE customer_subscription_billing_history_entries ) WITH ( INCREMENTAL_BACKUP_ENABLED = 'true' )");
    // BACKUP inside the session's own open transaction would miss its writes: refused.
    assert_mentions(
        &pg.fails("BEGIN; INSERT INTO t (id) VALUES (9); BACKUP c"),
        &["BACKUP cannot run inside an open transaction"],
    );
    assert!(committed_backups(&pg.repo(), "c").0.is_empty());
    pg.ok("BACKUP c");
    let rows = pg.rows("t", "id");
    let name = pg.url.rsplit('/').next().unwrap().to_string();
    pg.client()
        .batch_execute(&format!(
            "ALTER DATABASE {name} SET array_nulls = off; ALTER DATABASE {name} SET xmloption = document"
        ))
        .unwrap();
    pg.ok("DROP TABLE t");
    pg.ok("RESTORE c WITH ( TABLES = 't' )");
    assert_eq!(pg.rows("t", "id"), rows);
    // An unconstrained numeric travels as text: a condition on it would compare strings,
    // so it is refused; numeric(12,2) is a decimal, compared as one.
    assert_mentions(
        &pg.fails("RESTORE c WITH ( TABLES = 't', TARGET_PREFIX = 'f_', FILTER = 'amount > 1' )"),
        &["amount", "text form"],
    );
    pg.ok("RESTORE c WITH ( TABLES = 't', TARGET_PREFIX = 'f_', FILTER = 'balance > 1000' )");
    assert_eq!(pg.rows("f_t", "id"), rows[1..].to_vec());
    // Copies of a table with a long name get names PostgreSQL keeps whole and apart.
    pg.ok("RESTORE c WITH ( TABLES = 'customer_subscription_billing_history_entries', TARGET_PREFIX = 'old_' )");
    pg.ok("RESTORE c WITH ( TABLES = 'customer_subscription_billing_history_entries', RENAME = 'customer_subscription_billing_history_entries = billing_copy' )");
    assert_eq!(
        pg.rows("old_customer_subscription_billing_history_entries", "id"),
        ["(1,1)"]
    );
    assert_eq!(pg.rows("billing_copy", "id"), ["(1,1)"]);
    let long = "x".repeat(70);
    assert_mentions(
        &pg.fails(&format!(
            "RESTORE c WITH ( TABLES = 't', TARGET_PREFIX = '{long}' )"
        )),
        &["longer than PostgreSQL's 63 bytes"],
    );
}

#[test]
fn dates_times_and_booleans_are_values_that_queries_and_filters_compare_as_such() {
    let pg = Pg::new("typed");
    pg.client()
        .batch_execute(
            "CREATE TABLE ev (id int PRIMARY KEY, at timestamptz, day date, done boolean, t time, local timestamp,
                              price numeric(12,2), tiny numeric(38,38), big numeric(38));
             INSERT INTO ev VALUES
              (1, '2026-01-01 10:00+00', '2026-01-01', true, '08:00', '2026-01-01 10:00', 9.5, 0.5, 1),
              (2, '2026-06-01 10:00+02', '2026-06-01', false, '24:00', 'infinity', -0.01, -0.00000000000000000000000000000000000001, -99999999999999999999999999999999999999),
              (3, '1999-12-31 23:59:59.999999+00', '4713-01-01 BC', NULL, NULL, '-infinity', NULL, NULL, NULL),
              (4, '2026-03-01 00:00+00', 'infinity', true, '00:00', '294276-12-31 23:59:59.999999', 9999999999.99, 0.99999999999999999999999999999999999999, 99999999999999999999999999999999999999);",
        )
        .unwrap();
    pg.ok("CREATE BACKUP COLLECTION c ( TABLE ev ) WITH ( INCREMENTAL_BACKUP_ENABLED = 'true' )");
    pg.ok("BACKUP c");
    // As text, '2026-06-01 10:00:00+02' would sort after '2026-06-01 08:00'; as instants
    // they are equal.
    let out = pg.ok(
        "QUERY SELECT id FROM c.ev WHERE at = TIMESTAMP '2026-06-01T08:00:00Z' OR (done AND day < DATE '2026-02-01') ORDER BY id",
    );
    assert!(
        out.contains("| 1  |") && out.contains("| 2  |") && !out.contains("| 4  |"),
        "{out}"
    );
    // 24:00:00 is past Arrow's times: kept on the side (restored below), NULL to queries.
    let out = pg.ok("QUERY SELECT max(t) AS latest FROM c.ev");
    assert!(out.contains("08:00:00"), "{out}");
    // numeric(p, s) is a decimal: summed exactly, compared as a number.
    let out = pg.ok("QUERY SELECT sum(price) AS total FROM c.ev WHERE price > 1");
    assert!(out.contains("10000000009.49"), "{out}");
    // Exactly, at 38 digits too: literals are decimals, not floats (as floats both sides
    // below would be 1e38), and sums outgrow 128 bits without wrapping or losing a digit.
    let out = pg.ok(
        "QUERY SELECT id, sum(big) + sum(big) AS twice FROM c.ev WHERE big > 99999999999999999999999999999999999998 GROUP BY id",
    );
    assert!(
        out.contains("| 4  | 199999999999999999999999999999999999998 |"),
        "{out}"
    );
    pg.ok("RESTORE c WITH ( TARGET_PREFIX = 'tiny_', FILTER = 'tiny > 0.99999999999999999999999999999999999998' )");
    assert_eq!(pg.rows("tiny_ev", "id").len(), 1);
    let rows = pg.rows("ev", "id");
    pg.ok("RESTORE c WITH ( TARGET_PREFIX = 'all_' )");
    assert_eq!(pg.rows("all_ev", "id"), rows);
    // A condition on a typed column restores just the rows it holds for...
    pg.ok("RESTORE c WITH ( TARGET_PREFIX = 'recent_', FILTER = 'at >= TIMESTAMP ''2026-02-01T00:00:00Z''' )");
    assert_eq!(
        pg.rows("recent_ev", "id"),
        [rows[1].clone(), rows[3].clone()]
    );
    // ...but not on a column with a value Arrow cannot hold (PostgreSQL's last timestamp):
    // the condition would see NULL there.
    assert_mentions(
        &pg.fails("RESTORE c WITH ( TARGET_PREFIX = 'local_', FILTER = 'local IS NULL' )"),
        &["local"],
    );
    pg.client()
        .batch_execute(
            "UPDATE ev SET done = NOT done, local = '294276-12-31 23:59:59.999998' WHERE id = 4;
             UPDATE ev SET price = 'NaN' WHERE id = 1",
        )
        .unwrap();
    let changed = pg.rows("ev", "id");
    pg.ok("BACKUP c INCREMENTAL");
    pg.ok("DROP TABLE ev");
    pg.ok("RESTORE c");
    assert_eq!(pg.rows("ev", "id"), changed);
}

#[test]
fn row_level_security_is_restored_and_what_is_not_is_said() {
    let pg = Pg::new("rls");
    pg.client()
        .batch_execute(
            "CREATE TABLE docs (id int PRIMARY KEY, owner text);
             ALTER TABLE docs ENABLE ROW LEVEL SECURITY; ALTER TABLE docs FORCE ROW LEVEL SECURITY;
             CREATE POLICY own ON docs USING (owner = current_user);
             GRANT SELECT ON docs TO PUBLIC;
             INSERT INTO docs VALUES (1, 'a');
             CREATE TABLE open_docs (id int PRIMARY KEY);",
        )
        .unwrap();
    pg.ok("CREATE BACKUP COLLECTION c ( TABLE docs, TABLE open_docs ); BACKUP c");
    pg.ok("DROP TABLE docs; DROP TABLE open_docs");
    let out = pg.ok("RESTORE c");
    assert_mentions(
        &out,
        &[
            "row-level security policies of `docs` (\"own\") were not restored",
            "privileges granted on `docs` were not restored",
        ],
    );
    assert!(!out.contains("open_docs` w"), "{out}");
    let row = pg
        .client()
        .query_one(
            "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = 'docs'",
            &[],
        )
        .unwrap();
    assert!(row.get::<_, bool>(0) && row.get::<_, bool>(1));
}

#[test]
fn scheduled_backups_on_postgres_take_a_migration_and_a_keyless_table_without_failing() {
    use quiver::catalog::{BackupKind, FakeClock, OperationKind, OperationResult};
    use quiver::operations::LoggedOperation;
    use quiver::schedule::{ScheduleConfig, Scheduler};
    use std::sync::{Arc, Mutex};

    let pg = Pg::new("scheduled");
    pg.client()
        .batch_execute(
            "CREATE TABLE orders (id int PRIMARY KEY, total numeric(10,2)); INSERT INTO orders VALUES (1, 9.50);
             CREATE TABLE log (at timestamptz, line text); INSERT INTO log VALUES ('2026-01-01', 'a');",
        )
        .unwrap();
    pg.ok("CREATE BACKUP COLLECTION c ( TABLE orders ) WITH ( INCREMENTAL_BACKUP_ENABLED = 'true', BACKUP_SCHEDULE = '@hourly' );
           CREATE BACKUP COLLECTION l ( TABLE log ) WITH ( INCREMENTAL_BACKUP_ENABLED = 'true', BACKUP_SCHEDULE = '@hourly' )");
    let start = time::macros::datetime!(2026-01-05 00:00 UTC);
    let clock = FakeClock::at(start);
    let scheduler = Scheduler::new(ScheduleConfig {
        database: pg.url.clone(),
        engine: quiver::EngineOptions {
            repository: Some(pg.repo()),
            clock: Some(clock.clock()),
            ..Default::default()
        },
    })
    .unwrap();
    let lines: Arc<Mutex<Vec<LoggedOperation>>> = Arc::default();
    let run = |hour: i64| {
        clock.set(start + time::Duration::hours(hour));
        let before = lines.lock().unwrap().len();
        let sink = lines.clone();
        let report = scheduler
            .run_once(Arc::new(move |e: &LoggedOperation| {
                sink.lock().unwrap().push(e.clone())
            }))
            .unwrap();
        assert!(report.failed.is_empty(), "{report:?}");
        let ran: Vec<LoggedOperation> = lines.lock().unwrap()[before..].to_vec();
        for entry in &ran {
            assert_eq!(entry.entry.kind, OperationKind::Backup);
            assert_eq!(
                entry.entry.result,
                OperationResult::Ok,
                "hour {hour}: {entry:?}"
            );
        }
        assert_eq!(ran.len(), 2, "hour {hour}: {ran:?}");
        ran
    };
    run(0);
    // A migration between two runs: the next one is a full backup, and says why.
    pg.client()
        .batch_execute("ALTER TABLE orders ADD COLUMN note text DEFAULT 'n'; INSERT INTO orders VALUES (2, 20, 'x'); INSERT INTO log VALUES (NULL, 'b');")
        .unwrap();
    let ran = run(1);
    let detail = |name: &str| {
        ran.iter()
            .find(|e| e.collection == name)
            .and_then(|e| e.entry.detail.clone())
            .unwrap_or_default()
    };
    assert!(detail("c").contains("table `orders` changed"), "{ran:?}");
    // A table without a key cannot have incrementals: the schedule takes full backups of it.
    assert!(detail("l").contains("no primary key"), "{ran:?}");
    pg.client()
        .batch_execute(
            "UPDATE orders SET total = 21 WHERE id = 2; INSERT INTO log VALUES (NULL, 'c');",
        )
        .unwrap();
    run(2);
    let kinds = |name: &str| -> Vec<BackupKind> {
        scheduler
            .repository()
            .collection(name)
            .unwrap()
            .backups()
            .unwrap()
            .iter()
            .map(|b| b.kind)
            .collect()
    };
    use BackupKind::{Full, Incremental};
    assert_eq!(kinds("c"), [Full, Full, Incremental]);
    assert_eq!(kinds("l"), [Full, Full, Full]);
    let (orders, log) = (pg.rows("orders", "id"), pg.rows("log", "line"));
    pg.ok("DROP TABLE orders; DROP TABLE log; RESTORE c; RESTORE l");
    assert_eq!(pg.rows("orders", "id"), orders);
    assert_eq!(pg.rows("log", "line"), log);
}
