//! A backup location is untrusted input: forged DDL never runs, damaged catalog files are
//! faults, another collection's backups are never taken for ours, nothing panics
//! (issue 12, part B).

use quiver::catalog::{BackupManifest, TableSchema};

use super::*;

/// The manifest of the only backup of collection `c` in `repo`.
fn only_manifest(repo: &Path, collection: &str) -> (PathBuf, BackupManifest) {
    let (ids, _) = committed_backups(repo, collection);
    assert_eq!(ids.len(), 1, "{ids:?}");
    let path = manifest_path(repo, collection, &ids[0]);
    let manifest = BackupManifest::decode(&std::fs::read(&path).unwrap(), &ids[0], None).unwrap();
    (path, manifest)
}

/// Rewrites a manifest as an attacker who can write to the location would: with a valid
/// checksum, which anyone can compute.
fn forge(path: &Path, manifest: &BackupManifest) {
    std::fs::write(path, manifest.encode()).unwrap();
}

#[test]
fn forged_ddl_is_refused_before_anything_runs_and_verify_names_it() {
    let s = Scratch::new();
    s.ok(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a');
          CREATE TABLE unrelated(x); INSERT INTO unrelated VALUES (42);
          CREATE INDEX t_v ON t(v);
          CREATE BACKUP COLLECTION c ( TABLE t )",
    );
    s.ok("BACKUP c");
    let (path, original) = only_manifest(&s.repo(), "c");
    let outside = s.dir.path().join("outside.db");
    for (what, forged) in [
        (
            "table",
            TableSchema {
                create_sql: format!(
                    "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); DROP TABLE unrelated; ATTACH '{}' AS x; CREATE TABLE x.y(a)",
                    outside.display()
                ),
                ..original.tables[0].schema.clone()
            },
        ),
        (
            "index",
            TableSchema {
                index_sql: vec!["CREATE INDEX t_v ON unrelated(x)".into()],
                ..original.tables[0].schema.clone()
            },
        ),
        (
            "trigger",
            TableSchema {
                trigger_sql: vec![
                    "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END; DELETE FROM unrelated"
                        .into(),
                ],
                ..original.tables[0].schema.clone()
            },
        ),
    ] {
        let mut manifest = original.clone();
        manifest.tables[0].schema = forged;
        forge(&path, &manifest);
        let out = s.quiver(&["verify", "c"]);
        assert_eq!(out.status.code(), Some(1), "{what}");
        assert_mentions(
            &String::from_utf8_lossy(&out.stdout),
            &[&format!("the {what} DDL of table `t` is refused")],
        );
        s.ok("DROP TABLE t");
        let err = s.fails("RESTORE c");
        assert_mentions(
            &err,
            &[
                &format!("backup `{}` cannot be restored", manifest.id),
                "refused",
                "nothing was restored",
            ],
        );
        let err = s.fails("RESTORE c WITH ( TARGET_PREFIX = 'p_' )");
        assert_mentions(&err, &["refused"]);
        let left: i64 = s
            .conn()
            .query_row("SELECT x FROM unrelated", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 42, "{what}: the unrelated table is untouched");
        assert!(
            !outside.exists(),
            "{what}: no database file written outside"
        );
        s.ok("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
    }
}

#[test]
fn a_damaged_manifest_or_definition_is_a_fault_everywhere() {
    let s = Scratch::new();
    s.ok(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a');
          CREATE BACKUP COLLECTION c ( TABLE t )",
    );
    s.ok("BACKUP c");
    let (path, _) = only_manifest(&s.repo(), "c");
    // A change the JSON still parses: a row count.
    let text = std::fs::read_to_string(&path).unwrap();
    let damaged = text.replacen("\"rows\": 1", "\"rows\": 2", 1);
    assert_ne!(text, damaged);
    std::fs::write(&path, &damaged).unwrap();
    let out = s.quiver(&["verify", "c"]);
    assert_eq!(out.status.code(), Some(1));
    assert_mentions(
        &String::from_utf8_lossy(&out.stdout),
        &["checksum", "does not match"],
    );
    let export = s.dir.path().join("export");
    std::fs::write(&path, &text).unwrap();
    s.quiver(&["export", "c", "--to", export.to_str().unwrap()]);
    std::fs::write(
        export
            .join(committed_backups(&s.repo(), "c").0[0].clone())
            .join("manifest.json"),
        &damaged,
    )
    .unwrap();
    let t = Scratch::new();
    let out = t.quiver(&["import", "--from", export.to_str().unwrap(), "--as", "c"]);
    assert_eq!(out.status.code(), Some(1));
    assert_mentions(&String::from_utf8_lossy(&out.stderr), &["checksum"]);

    let definition = s.repo().join("collections/c/collection.json");
    let text = std::fs::read_to_string(&definition).unwrap();
    std::fs::write(&definition, text.replace("\"t\"", "\"other\"")).unwrap();
    let err = s.fails("BACKUP c");
    assert_mentions(&err, &["collection.json", "checksum"]);
}

#[test]
fn two_collections_of_one_name_never_mix_their_backups() {
    let production = Scratch::new();
    let staging = Scratch::new();
    let shared = tempfile::tempdir().unwrap();
    let url = format!("file://{}", shared.path().display());
    for (s, rows) in [
        (&production, "(1, 'production')"),
        (&staging, "(1, 'staging')"),
    ] {
        s.ok(&format!(
            "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES {rows}"
        ));
        s.ok(&format!(
            "CREATE BACKUP COLLECTION c ( TABLE t ) WITH ( STORAGE = '{url}' )"
        ));
    }
    production.ok("BACKUP c");
    let definition = std::fs::read(shared.path().join("collection.json")).unwrap();
    // Staging's BACKUP is refused: the URL holds another collection's backups.
    let err = staging.fails("BACKUP c");
    assert_mentions(
        &err,
        &[
            "holds the backups of collection `c` (id",
            ", not of collection `c` (id",
        ],
    );
    assert_eq!(
        std::fs::read(shared.path().join("collection.json")).unwrap(),
        definition,
        "the remote definition is not overwritten"
    );
    staging.ok("ALTER BACKUP COLLECTION c RESET (STORAGE); BACKUP c");
    let err = String::from_utf8(staging.quiver(&["export", "c", "--to", &url]).stderr).unwrap();
    assert_mentions(&err, &[", not of collection `c` (id"]);
    // Production loses its repository: RESTORE fetches production's rows, never staging's.
    std::fs::remove_dir_all(production.repo().join("collections/c")).unwrap();
    production.ok(&format!(
        "CREATE BACKUP COLLECTION c ( TABLE t ) WITH ( STORAGE = '{url}' )"
    ));
    let err = production.fails("DROP TABLE t; RESTORE c");
    assert_mentions(&err, &["not of collection `c` (id"]);
    // Import keeps the id: the imported collection restores from the URL.
    production.ok("DROP BACKUP COLLECTION c");
    let out = production.quiver(&["import", "--from", &url, "--as", "c"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    production.ok("RESTORE c");
    let v: String = production
        .conn()
        .query_row("SELECT v FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, "production");
    production.ok("INSERT INTO t VALUES (2, 'more')");
    production.ok("BACKUP c");
}

/// Collection `c` of one table with an index, backed up once; its manifest.
fn backed_up_once() -> (Scratch, PathBuf, BackupManifest) {
    let s = Scratch::new();
    s.ok(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a');
          CREATE INDEX t_v ON t(v);
          CREATE BACKUP COLLECTION c ( TABLE t )",
    );
    s.ok("BACKUP c");
    let (path, manifest) = only_manifest(&s.repo(), "c");
    (s, path, manifest)
}

#[test]
fn an_unterminated_quoted_name_in_stored_ddl_is_refused_not_a_panic() {
    let (s, path, mut manifest) = backed_up_once();
    // Ends inside a multi-byte character's quoted name.
    manifest.tables[0].schema.index_sql = vec!["CREATE INDEX \"é".into()];
    forge(&path, &manifest);
    let err = s.fails("RESTORE c WITH ( TARGET_PREFIX = 'p_' )");
    assert!(!err.contains("panicked"), "{err}");
    assert_mentions(&err, &["refused", "no index name"]);
}

#[test]
fn a_backup_dated_at_the_end_of_time_is_an_error_not_a_panic() {
    let (s, _, manifest) = backed_up_once();
    let last = "99991231T235959.999Z_full";
    let dir = s.repo().join("collections/c").join(last);
    std::fs::create_dir_all(&dir).unwrap();
    let future = BackupManifest {
        id: last.into(),
        ..manifest
    };
    std::fs::write(dir.join("manifest.json"), future.encode()).unwrap();
    let err = s.fails("BACKUP c");
    assert!(!err.contains("panicked"), "{err}");
    assert_mentions(
        &err,
        &[
            &format!("c/{last}"),
            "no later backup id",
            "move its directory out",
        ],
    );
    // Only an incomplete one (no manifest): it is a leftover, removed, and no obstacle.
    std::fs::remove_file(dir.join("manifest.json")).unwrap();
    s.ok("BACKUP c");
    assert!(!dir.exists());
}

/// Runs quiver with `args`, its standard output a pipe closed before it writes; returns
/// its exit status and standard error.
fn with_closed_stdout(args: &[&str]) -> (std::process::ExitStatus, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_quiver"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn output_into_a_closed_pipe_loses_the_output_not_the_work() {
    let (s, _, _) = backed_up_once();
    let export = s.dir.path().join("export");
    let export = export.to_str().unwrap();
    let db = s.db();
    let (status, stderr) =
        with_closed_stdout(&["--db", db.to_str().unwrap(), "export", "c", "--to", export]);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(status.success(), "{stderr}");
    let t = Scratch::new();
    let db = t.db();
    let (status, stderr) = with_closed_stdout(&[
        "--db",
        db.to_str().unwrap(),
        "import",
        "--from",
        export,
        "--as",
        "c",
    ]);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(status.success(), "{stderr}");
    t.ok("RESTORE c");
}

#[test]
fn credentials_in_storage_urls_are_refused_and_never_shown() {
    let s = Scratch::new();
    s.ok("CREATE TABLE t(id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1)");
    let secret = "wJalrXUtnFEMIK7MDENG";
    for url in [
        format!("s3://AKIAEXAMPLE:{secret}@bucket/p"),
        format!("s3://{secret}@bucket/p"),
        format!("s3://bucket/p?secret_access_key={secret}"),
        // Secrets with characters that end an authority elsewhere.
        format!("s3://AKIAEXAMPLE:wJal/{secret}@bucket/p"),
        format!("s3://AKIAEXAMPLE:ab?{secret}@bucket/p"),
        format!("s3://AKIAEXAMPLE:ab){secret}@bucket/p"),
    ] {
        let err = s.fails(&format!(
            "CREATE BACKUP COLLECTION c ( TABLE t ) WITH ( STORAGE = '{url}' )"
        ));
        assert_mentions(
            &err,
            &["credentials do not belong", "AWS_SECRET_ACCESS_KEY"]
                .into_iter()
                .filter(|_| !url.contains('?'))
                .chain(["-o"])
                .collect::<Vec<_>>(),
        );
        // Not in the message, not in the statement shown under it.
        assert!(!err.contains(secret), "{err}");
        let out = s.quiver(&["export", "c", "--to", &url]);
        assert!(!String::from_utf8_lossy(&out.stderr).contains(secret));
    }
    s.ok("CREATE BACKUP COLLECTION c ( TABLE t )");
    let err = s.fails(&format!(
        "ALTER BACKUP COLLECTION c SET ( STORAGE = 's3://AKIAEXAMPLE:{secret}@bucket/p' )"
    ));
    assert_mentions(&err, &["credentials do not belong"]);

    // A definition written before the rule, with credentials in it: nothing shows them.
    let path = s.repo().join("collections/c/collection.json");
    let keys = quiver::catalog::crypto::KeyEnvironment::default();
    let (mut def, _) =
        quiver::catalog::CollectionDef::decode(&std::fs::read(&path).unwrap(), &keys).unwrap();
    def.storage =
        quiver::catalog::StorageKind::External(format!("s3://AKIAEXAMPLE:{secret}@bucket/p"));
    std::fs::write(&path, def.encode().unwrap()).unwrap();
    for args in [
        vec!["SHOW BACKUP COLLECTIONS"],
        vec!["ls", "--json"],
        vec!["ls"],
        vec!["BACKUP c"],
        vec!["DROP BACKUP COLLECTION c"],
    ] {
        let out = s.quiver(&args);
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!all.contains(secret), "{args:?}: {all}");
    }
}

#[test]
fn gc_deletes_only_old_leftovers_of_quiver_layout_inside_a_collection_location() {
    // A folder that is not a collection's: gc deletes nothing there.
    let folder = tempfile::tempdir().unwrap();
    for name in [
        "a.txt",
        "b.parquet",
        "20261125T151429.123Z_full/data/t.0.parquet",
    ] {
        let path = folder.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"not quiver's").unwrap();
    }
    let folder_url = format!("file://{}", folder.path().display());
    let out = quiver(&["gc", &folder_url, "--grace", "0"]);
    assert_eq!(out.status.code(), Some(1));
    assert_mentions(
        &String::from_utf8_lossy(&out.stderr),
        &["has no collection.json", "deletes nothing"],
    );
    assert!(folder.path().join("a.txt").exists() && folder.path().join("b.parquet").exists());
    assert!(
        folder
            .path()
            .join("20261125T151429.123Z_full/data/t.0.parquet")
            .exists()
    );

    // An export: a leftover just written (an export in flight) is kept until the grace
    // period is over; files not of quiver's layout are never removed.
    let (s, _, _) = backed_up_once();
    let export = s.dir.path().join("export");
    assert!(
        s.quiver(&["export", "c", "--to", export.to_str().unwrap()])
            .status
            .success()
    );
    let in_flight = export.join("20270101T000000.000Z_full/data/t.0.parquet");
    std::fs::create_dir_all(in_flight.parent().unwrap()).unwrap();
    std::fs::write(&in_flight, b"being copied").unwrap();
    let foreign = [
        export.join("README.txt"),
        export.join("20270101T000000.000Z_full/data/run.sh"),
    ];
    for f in &foreign {
        std::fs::write(f, b"someone else's").unwrap();
    }
    let url = &format!("file://{}", export.display());
    assert_mentions(
        &succeeded(quiver(&["gc", url])),
        &["removed 0 file(s)", "within the grace period"],
    );
    assert!(in_flight.exists());
    assert_mentions(
        &succeeded(quiver(&["gc", url, "--grace", "0"])),
        &["removed 1 file(s)", "not a name quiver gives its files"],
    );
    assert!(!in_flight.exists());
    assert!(foreign.iter().all(|f| f.exists()));
    // The committed backup is untouched.
    let id = &committed_backups(&s.repo(), "c").0[0];
    let t = Scratch::new();
    let out = t.quiver(&["import", "--from", url, "--as", "c", "--backup", id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    t.ok("RESTORE c");
}

#[test]
fn catalog_files_are_read_only_up_to_a_sane_size() {
    let (s, path, _) = backed_up_once();
    // A sparse 65 MiB "manifest": refused by its size, never read whole.
    std::fs::File::create(&path)
        .unwrap()
        .set_len(65 << 20)
        .unwrap();
    let out = s.quiver(&["verify", "c"]);
    assert_eq!(out.status.code(), Some(1));
    assert_mentions(
        &String::from_utf8_lossy(&out.stdout),
        &["more than a catalog file may have"],
    );
    assert_mentions(&s.fails("DROP TABLE t; RESTORE c"), &["larger than 64 MiB"]);
    let definition = s.repo().join("collections/c/collection.json");
    std::fs::File::create(&definition)
        .unwrap()
        .set_len(65 << 20)
        .unwrap();
    assert_mentions(
        &s.fails("BACKUP c"),
        &["collection.json", "larger than 64 MiB"],
    );
}

#[test]
fn queries_check_what_they_read_and_name_the_damaged_file() {
    let s = Scratch::new();
    s.ok("CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER);
          WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
          INSERT INTO t SELECT i, i * 7 FROM n;
          CREATE BACKUP COLLECTION c ( TABLE t ); BACKUP c");
    assert_mentions(&s.ok("QUERY SELECT min(v) AS m FROM c.t"), &["| 7 "]);
    let file = s.data_files().remove(0);
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&file, &bytes).unwrap();
    let err = s.fails("QUERY SELECT min(v) AS m FROM c.t");
    assert_mentions(
        &err,
        &["is damaged, nothing was read from it", "t.0.parquet"],
    );
    let out = s.quiver(&["query", "SELECT min(v) FROM c.t"]);
    assert_eq!(out.status.code(), Some(1));
    assert_mentions(&String::from_utf8_lossy(&out.stderr), &["t.0.parquet"]);
}

#[test]
fn gc_never_follows_a_symbolic_link_out_of_the_location() {
    let (s, _, _) = backed_up_once();
    let export = s.dir.path().join("export");
    assert!(
        s.quiver(&["export", "c", "--to", export.to_str().unwrap()])
            .status
            .success()
    );
    let victim = s.dir.path().join("victim/data/sales.parquet");
    std::fs::create_dir_all(victim.parent().unwrap()).unwrap();
    std::fs::write(&victim, b"precious").unwrap();
    std::os::unix::fs::symlink(
        s.dir.path().join("victim"),
        export.join("20240101T000000.000Z_full"),
    )
    .unwrap();
    let out = quiver(&[
        "gc",
        &format!("file://{}", export.display()),
        "--grace",
        "0",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_mentions(
        &String::from_utf8_lossy(&out.stdout),
        &["removed 0 file(s)", "symbolic link"],
    );
    assert!(victim.exists());
    // In the repository too, and a BACKUP's clean-up.
    std::os::unix::fs::symlink(
        s.dir.path().join("victim"),
        s.repo().join("collections/c/20240101T000000.000Z_full"),
    )
    .unwrap();
    let out = s.quiver(&["gc", "c"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(victim.exists());
    s.ok("BACKUP c");
    assert!(victim.exists());
}

/// `quiver verify s3://bucket/p` with S3 settings and `extra` arguments and environment;
/// returns its exit code and everything it printed.
fn verify_s3(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_quiver"))
        .args(["verify", "s3://bucket/p"])
        .args(args)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "x")
        .env("AWS_SECRET_ACCESS_KEY", "x")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), all)
}

#[test]
fn endpoints_with_credentials_or_odd_passwords_give_errors_never_panics_or_secrets() {
    let (code, all) = verify_s3(
        &[],
        &[("AWS_ENDPOINT_URL", "http://ak:EndpointSecret@127.0.0.1:9")],
    );
    assert_eq!(code, Some(1), "{all}");
    assert!(!all.contains("EndpointSecret"), "{all}");
    for endpoint in [
        "http://u:Pa,ss@127.0.0.1:9",
        "http://u:p@[bad",
        "http://u:pa/ss@127.0.0.1:9",
        "http://u:p)w'd@127.0.0.1:9",
    ] {
        let (code, all) = verify_s3(&["-o", &format!("endpoint={endpoint}")], &[]);
        assert_eq!(code, Some(1), "{endpoint}: {all}");
        assert!(!all.contains("panicked"), "{endpoint}: {all}");
        for secret in ["Pa,ss", "pa/ss", "p)w'd"] {
            assert!(!all.contains(secret), "{endpoint}: {all}");
        }
    }
}

#[test]
fn a_stray_directory_dated_in_the_future_does_not_date_new_backups() {
    let (s, _, _) = backed_up_once();
    let stray = s.repo().join("collections/c/99991231T235959.998Z_full");
    std::fs::create_dir_all(&stray).unwrap();
    let out = s.ok("BACKUP c");
    assert!(!out.contains("9999"), "{out}");
    assert!(!stray.exists(), "a leftover: removed");
    s.ok("BACKUP c");
}

#[test]
fn passwords_in_statements_are_never_shown_and_a_server_url_is_no_sqlite_file() {
    let s = Scratch::new();
    s.ok("CREATE TABLE t(id INTEGER PRIMARY KEY); CREATE BACKUP COLLECTION c ( TABLE t ); BACKUP c; DROP TABLE t");
    let db = s.db();
    for statement in [
        "RESTORE c WITH ( DATABASE = 'postgresql://app:s3cret-pw@127.0.0.1:1/shop' )",
        "RESTORE c WITH ( DATABASE = 'host=127.0.0.1 user=app password=s3cret-pw dbname=shop' )",
        "CREATE BACKUP COLLECTION c2 ( TABLE t ) WITH ( STORAGE = 'postgresql://app:s3cret-pw@h/x' )",
    ] {
        let out = quiver(&["--echo", "--db", db.to_str().unwrap(), statement]);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert_eq!(out.status.code(), Some(1), "{statement}: {stdout}{stderr}");
        assert!(
            !stdout.contains("s3cret") && !stderr.contains("s3cret"),
            "{stdout}{stderr}"
        );
    }
    let err = s.fails("RESTORE c WITH ( DATABASE = 'postgres:shop' )");
    assert_mentions(&err, &["names a server's database"]);
    assert!(
        !std::path::Path::new("postgres:shop").exists(),
        "a file was created for a server's URL"
    );
}

#[test]
fn a_forged_parquet_footer_with_a_matching_checksum_is_an_error_not_a_panic() {
    let s = Scratch::new();
    s.ok(
        "CREATE TABLE t(id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1);
          CREATE BACKUP COLLECTION c ( TABLE t ); BACKUP c",
    );
    let (path, mut manifest) = only_manifest(&s.repo(), "c");
    let file = s
        .repo()
        .join("collections/c")
        .join(&manifest.id)
        .join(&manifest.tables[0].files[0].path);
    // The footer's length (the 4 bytes before the closing `PAR1`) far past the file.
    let mut bytes = std::fs::read(&file).unwrap();
    let at = bytes.len() - 8;
    bytes[at..at + 4].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    std::fs::write(&file, &bytes).unwrap();
    manifest.tables[0].files[0].crc32 = crc32(&bytes);
    forge(&path, &manifest);
    for out in [
        s.quiver(&["QUERY SELECT count(*) FROM c.t"]),
        s.quiver(&["query", "SELECT count(*) FROM c.t"]),
        s.quiver(&["RESTORE c WITH ( TARGET_PREFIX = 'r_' )"]),
    ] {
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        assert_mentions(&err, &[manifest.id.as_str(), "too small"]);
    }
}

/// A manifest forged (with a valid checksum) to list other rows than its file holds is a
/// fault for VERIFY and refused by RESTORE, and counts that add up past 2^64 are shown, not
/// a panic.
#[test]
fn a_manifest_that_miscounts_its_rows_is_a_fault_and_never_a_panic() {
    let s = Scratch::new();
    s.ok(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c');
          CREATE BACKUP COLLECTION c ( TABLE t ); BACKUP c",
    );
    let (path, original) = only_manifest(&s.repo(), "c");
    let mut manifest = original.clone();
    manifest.tables[0].files[0].rows = 1000;
    forge(&path, &manifest);
    let out = s.quiver(&["verify", "c"]);
    assert_eq!(out.status.code(), Some(1));
    assert_mentions(
        &String::from_utf8_lossy(&out.stdout),
        &["it holds 3 rows, its manifest says 1000"],
    );
    assert_mentions(
        &s.fails("VERIFY c"),
        &["it holds 3 rows, its manifest says 1000"],
    );
    s.ok("DROP TABLE t");
    assert_mentions(
        &s.fails("RESTORE c"),
        &["it holds 3 rows, the manifest says 1000"],
    );
    // Two files whose counts overflow when added.
    let mut file = manifest.tables[0].files[0].clone();
    file.rows = u64::MAX;
    manifest.tables[0].files.push(file);
    forge(&path, &manifest);
    let shown = s.ok("SHOW BACKUPS IN c");
    assert_mentions(&shown, &[&u64::MAX.to_string()]);
    s.fails("RESTORE c");
}
