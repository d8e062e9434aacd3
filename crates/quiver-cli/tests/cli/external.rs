//! Export, import, verify and gc, against a real S3 server (moto) and file:// URLs.

use quiver_storage::Location;
use quiver_storage::test_server::S3TestServer;

use super::*;

/// `quiver <args>` with S3 settings for `server` in the environment.
fn quiver_s3(server: &S3TestServer, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_quiver"))
        .args(args)
        .envs(server.env())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Output (stdout then stderr) of a command that must fail with status 1.
#[track_caller]
pub(crate) fn failed(out: Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(1),
        "should fail:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The typed tables with a chain of three backups (full, incremental, incremental); returns
/// the scratch and the backup ids.
fn typed_chain() -> (Scratch, Vec<String>) {
    let s = typed_tables_backed_up();
    let mut ids = vec![backup_id(&succeeded(
        s.quiver(&["SHOW BACKUPS IN everything"]),
    ))];
    s.ok("UPDATE typed SET t = 'changed' WHERE id = 1; DELETE FROM kv WHERE tenant = 'b'; INSERT INTO no_pk VALUES ('new', 9)");
    ids.push(backup_id(&s.ok("BACKUP everything INCREMENTAL")));
    s.ok("DELETE FROM typed WHERE id = 3; INSERT INTO strict_t VALUES (4, 4, 'four', NULL)");
    ids.push(backup_id(&s.ok("BACKUP everything INCREMENTAL")));
    (s, ids)
}

/// Imports `url` into a new scratch database's repository as `everything`, restores it, and
/// asserts it equals `expected`.
fn import_and_restore(server: &S3TestServer, url: &str, expected: &[String]) {
    let t = Scratch::new();
    let db = t.db();
    let db = db.to_str().unwrap();
    let out = succeeded(quiver_s3(
        server,
        &["--db", db, "import", "--from", url, "--as", "everything"],
    ));
    assert_mentions(
        &out,
        &[
            "import everything: 3 backup(s) copied",
            "every crc32 checked",
        ],
    );
    t.ok("RESTORE everything");
    assert_eq!(t.fingerprint(), expected, "restored from {url}");
}

#[test]
fn backups_export_to_s3_and_file_urls_and_import_into_a_new_repository_exactly() {
    let server = S3TestServer::start();
    let bucket = server.bucket("round-trip");
    let (s, ids) = typed_chain();
    let expected = s.fingerprint();
    let db = s.db();
    let db = db.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file_url = format!("file://{}/exports/everything", dir.path().display());
    let s3_url = format!("{bucket}/exports/everything");

    let export = |url: &str| {
        succeeded(quiver_s3(
            &server,
            &["--db", db, "export", "everything", "--to", url],
        ))
    };
    for url in [&s3_url, &file_url] {
        let out = export(url);
        assert_mentions(
            &out,
            &[
                "3 backup(s) copied",
                "every crc32 checked",
                "0 already there",
            ],
        );
        // A re-run copies only what is missing: here, nothing.
        let out = export(url);
        assert_mentions(
            &out,
            &[
                "0 backup(s) copied",
                "(0 data file(s), 0 B",
                "3 already there",
            ],
        );
        // An export interrupted before its last manifest: the re-run checks the files
        // already there, copies none of them again, and commits the manifest.
        let location = Location::parse_with(url, &server.options()).unwrap();
        location
            .delete(&format!("{}/manifest.json", ids[2]))
            .unwrap();
        let out = export(url);
        assert_mentions(
            &out,
            &[
                "1 backup(s) copied",
                "(0 data file(s), 0 B",
                "2 already there",
            ],
        );
        let out = succeeded(quiver_s3(&server, &["verify", url]));
        assert_mentions(&out, &["3 backup(s)", "is sound"]);
        import_and_restore(&server, url, &expected);
    }

    // A new backup: the next export adds just it; an import of the chain up to the first
    // incremental restores that backup's state.
    s.ok("INSERT INTO typed (id, t) VALUES (100, 'later')");
    let later = backup_id(&s.ok("BACKUP everything INCREMENTAL"));
    let out = succeeded(quiver_s3(
        &server,
        &[
            "--db",
            db,
            "export",
            "everything",
            "--to",
            &s3_url,
            "--json",
        ],
    ));
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["copied"], serde_json::json!([later]));
    assert_eq!(report["present"].as_array().unwrap().len(), 3);

    let t = Scratch::new();
    let tdb = t.db();
    let tdb = tdb.to_str().unwrap();
    succeeded(quiver_s3(
        &server,
        &[
            "--db", tdb, "import", "--from", &s3_url, "--as", "old", "--backup", &ids[1],
        ],
    ));
    let shown: serde_json::Value =
        serde_json::from_str(&succeeded(t.quiver(&["show", "old", "--json"]))).unwrap();
    let shown_ids: Vec<&str> = shown
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(shown_ids, [&ids[0], &ids[1]]);
    t.ok("RESTORE old");
    let at = s.restore_elsewhere("at1.db", &format!("RESTORE everything AT '{}'", ids[1]));
    assert_eq!(t.fingerprint(), fingerprint(&at));

    // One location holds one collection.
    s.ok("CREATE TABLE other (id INTEGER PRIMARY KEY); CREATE BACKUP COLLECTION other_c ( TABLE other ); BACKUP other_c");
    let err = failed(quiver_s3(
        &server,
        &["--db", db, "export", "other_c", "--to", &s3_url],
    ));
    assert_mentions(
        &err,
        &[
            "holds the backups of collection `everything` (id",
            ", not of collection `other_c` (id",
        ],
    );
}

/// A damage done to an exported copy: its name, and what verify must say about it.
type Damage = (&'static str, fn(&Location, &[String]), &'static str);

/// The first data file of backup `id` at `location`.
fn first_data_file(location: &Location, id: &str) -> String {
    location
        .list()
        .unwrap()
        .into_keys()
        .find(|path| path.starts_with(&format!("{id}/data/")))
        .unwrap()
}

const DAMAGES: [Damage; 5] = [
    (
        "a flipped byte",
        |at, ids| {
            let file = first_data_file(at, &ids[0]);
            let mut bytes = at.read(&file).unwrap().unwrap().to_vec();
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0x01;
            at.put(&file, bytes).unwrap();
        },
        "its bytes changed",
    ),
    (
        "a truncated file",
        |at, ids| {
            let file = first_data_file(at, &ids[1]);
            let bytes = at.read(&file).unwrap().unwrap().to_vec();
            at.put(&file, bytes[..bytes.len() - 100].to_vec()).unwrap();
        },
        "bytes, its manifest says",
    ),
    (
        "a missing file",
        |at, ids| {
            let file = first_data_file(at, &ids[2]);
            at.delete(&file).unwrap();
        },
        "the data file is missing",
    ),
    (
        "a missing manifest",
        |at, ids| {
            at.delete(&format!("{}/manifest.json", ids[0])).unwrap();
        },
        "has files but no manifest",
    ),
    (
        "a manifest that lies about a size",
        |at, ids| {
            // Resealed, as anyone who can write there can: the checksum matches the lie.
            let rel = format!("{}/manifest.json", ids[1]);
            let mut manifest = quiver::catalog::BackupManifest::decode(
                &at.read(&rel).unwrap().unwrap(),
                &ids[1],
                None,
            )
            .unwrap();
            manifest.tables[0].files[0].bytes += 1;
            at.put(&rel, manifest.encode()).unwrap();
        },
        "bytes, its manifest says",
    ),
];

#[test]
fn every_kind_of_damage_is_named_by_verify_and_refused_by_import() {
    let server = S3TestServer::start();
    let bucket = server.bucket("damage");
    let (s, ids) = typed_chain();
    let db = s.db();
    let db = db.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (n, (what, damage, says)) in DAMAGES.iter().enumerate() {
        for url in [
            format!("{bucket}/damage{n}"),
            format!("file://{}/damage{n}", dir.path().display()),
        ] {
            succeeded(quiver_s3(
                &server,
                &["--db", db, "export", "everything", "--to", &url],
            ));
            let location = Location::parse_with(&url, &server.options()).unwrap();
            damage(&location, &ids);

            let report = failed(quiver_s3(&server, &["verify", &url]));
            assert_mentions(&report, &["fault(s):", says]);
            let json = quiver_s3(&server, &["verify", &url, "--json"]);
            assert_eq!(json.status.code(), Some(1));
            let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
            assert!(
                !json["faults"].as_array().unwrap().is_empty(),
                "{what} at {url}"
            );

            // The import refuses, and leaves the repository as it was: no collection.
            let t = Scratch::new();
            let tdb = t.db();
            let tdb = tdb.to_str().unwrap();
            let err = failed(quiver_s3(
                &server,
                &["--db", tdb, "import", "--from", &url, "--as", "everything"],
            ));
            assert_mentions(&err, &[says]);
            let listed = succeeded(t.quiver(&["ls", "--json"]));
            assert_eq!(
                listed.trim(),
                "[]",
                "{what} at {url}: an import refused left {listed}"
            );
            if n == 3 {
                // Without the full backup's manifest, the chain of the last backup has a gap.
                let err = failed(quiver_s3(
                    &server,
                    &[
                        "--db", tdb, "import", "--from", &url, "--as", "c", "--backup", &ids[2],
                    ],
                ));
                assert_mentions(&err, &["would break a chain", "has no manifest"]);
            }
        }
    }

    // The same faults in the repository itself: VERIFY names them.
    let local = Location::local_dir(&s.repo().join("collections/everything")).unwrap();
    assert_mentions(&s.ok("VERIFY everything"), &["3 backup(s)", "is sound"]);
    (DAMAGES[0].1)(&local, &ids);
    let err = s.fails("VERIFY everything");
    assert_mentions(
        &err,
        &[
            "VERIFY everything: the collection is damaged",
            "its bytes changed",
        ],
    );
    let err = s.fails(&format!("VERIFY everything AT '{}'", ids[2]));
    assert_mentions(&err, &["its bytes changed"]);
}

#[test]
fn gc_removes_what_interrupted_backups_left_and_verify_reports_it() {
    let s = Scratch::new();
    s.ok(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a');
          CREATE BACKUP COLLECTION c ( TABLE t ); BACKUP c",
    );
    // What a crash mid-BACKUP leaves: a backup directory with data and no manifest.
    let leftover = s
        .repo()
        .join("collections/c/20200101T000000.000Z_full/data");
    std::fs::create_dir_all(&leftover).unwrap();
    std::fs::write(leftover.join("t.0.parquet"), b"half a file").unwrap();
    std::fs::write(s.repo().join("collections/c/stray.tmp"), b"x").unwrap();

    let err = failed(s.quiver(&["verify", "c"]));
    assert_mentions(
        &err,
        &[
            "1 fault(s)",
            "20200101T000000.000Z_full/manifest.json: the backup has files but no manifest",
            "note: stray.tmp is not a file quiver writes: left alone",
        ],
    );
    let shown = succeeded(s.quiver(&["show", "c"]));
    assert_mentions(
        &shown,
        &["20200101T000000.000Z_full", "incomplete", "committed"],
    );

    let out = succeeded(s.quiver(&["gc", "c", "--dry-run"]));
    assert_mentions(&out, &["would remove 1 file(s)", "kept stray.tmp"]);
    assert!(leftover.join("t.0.parquet").exists());
    let out = succeeded(s.quiver(&["gc", "c"]));
    assert_mentions(&out, &["removed 1 file(s), 11 B"]);
    assert!(!leftover.parent().unwrap().exists());
    assert!(
        s.repo().join("collections/c/stray.tmp").exists(),
        "not quiver's: kept"
    );
    assert_mentions(
        &succeeded(s.quiver(&["verify", "c"])),
        &["1 backup(s)", "is sound"],
    );
    s.ok("DROP TABLE t; RESTORE c");
    let listed: serde_json::Value =
        serde_json::from_str(&succeeded(s.quiver(&["ls", "--json"]))).unwrap();
    assert_eq!(listed[0]["name"], "c");
    assert_eq!(listed[0]["backups"], 1);
}

#[test]
fn a_collection_stored_in_s3_backs_up_there_and_restores_from_there() {
    let server = S3TestServer::start();
    let bucket = server.bucket("stored");
    let url = format!("{bucket}/app/orders");
    let s = Scratch::new();
    let db = s.db();
    let db = db.to_str().unwrap();
    let run = |sql: &str| succeeded(quiver_s3(&server, &["--db", db, sql]));
    run(
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT, qty INTEGER);
         INSERT INTO orders VALUES (1, 'apple', 3), (2, 'pear', 1), (3, 'fig', 7)",
    );
    let out = run(&format!(
        "CREATE BACKUP COLLECTION orders ( TABLE orders ) WITH ( STORAGE = '{url}', INCREMENTAL_BACKUP_ENABLED = 'true' )"
    ));
    assert_mentions(&out, &[&format!("backups stored at {url}")]);
    let full = run("BACKUP orders");
    assert_mentions(&full, &["full backup", &format!("stored at {url}")]);
    run("UPDATE orders SET qty = 4 WHERE id = 1; DELETE FROM orders WHERE id = 2");
    let incremental = run("BACKUP orders INCREMENTAL");
    assert_mentions(
        &incremental,
        &[
            "1 row(s) inserted or updated, 1 deleted",
            &format!("stored at {url}"),
        ],
    );
    let expected = s.fingerprint();
    assert_mentions(
        &succeeded(quiver_s3(&server, &["verify", &url])),
        &["2 backup(s)", "is sound"],
    );

    // The repository loses its copies: RESTORE fetches the chain from S3, checked.
    let collection_dir = s.repo().join("collections/orders");
    for id in [backup_id(&full), backup_id(&incremental)] {
        std::fs::remove_dir_all(collection_dir.join(id)).unwrap();
    }
    run("DROP TABLE orders");
    assert_mentions(
        &run("RESTORE orders"),
        &["restored backup", &backup_id(&incremental)],
    );
    assert_eq!(s.fingerprint(), expected);

    // The latest local copy lost again: the next incremental fetches it first, and builds on it.
    std::fs::remove_dir_all(collection_dir.join(backup_id(&incremental))).unwrap();
    run("INSERT INTO orders VALUES (9, 'kiwi', 2)");
    let third = run("BACKUP orders INCREMENTAL");
    assert_mentions(&third, &["1 row(s) inserted or updated, 0 deleted"]);
    let shown: serde_json::Value =
        serde_json::from_str(&succeeded(s.quiver(&["show", "orders", "--json"]))).unwrap();
    assert_eq!(
        shown[2]["parent"],
        serde_json::json!(backup_id(&incremental))
    );
    assert_mentions(
        &succeeded(quiver_s3(&server, &["verify", &url])),
        &["3 backup(s)", "is sound"],
    );

    // Unreachable storage: the backup is still taken and committed in the repository, its
    // copy reported pending with exit status 3; RESTORE falls back to the repository.
    let unreachable = |sql: &str| {
        Command::new(env!("CARGO_BIN_EXE_quiver"))
            .args(["--db", db, sql])
            .envs(server.env())
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    run("INSERT INTO orders VALUES (10, 'lime', 1)");
    let out = unreachable("BACKUP orders INCREMENTAL");
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_mentions(
        &text,
        &[
            "incremental backup",
            "committed",
            "could not look for newer backups at s3://stored/app/orders",
            "the copy to external storage is pending",
            "quiver export orders --to s3://stored/app/orders",
        ],
    );
    let pending = backup_id(&text);
    assert!(committed_backups(&s.repo(), "orders").0.contains(&pending));
    let out = unreachable("DROP TABLE orders; RESTORE orders");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_mentions(
        &String::from_utf8_lossy(&out.stdout),
        &[&pending, "warning: could not reach s3://stored/app/orders"],
    );
    assert_mentions(&run("SELECT count(*) FROM orders WHERE id = 10"), &["| 1 "]);
    // Reachable again: the next BACKUP copies the pending one too.
    run("BACKUP orders INCREMENTAL");
    assert_mentions(
        &succeeded(quiver_s3(&server, &["verify", &url])),
        &["5 backup(s)", "is sound"],
    );

    // DROP keeps what is in external storage; an import brings it back.
    assert_mentions(&run("DROP BACKUP COLLECTION orders"), &["are kept"]);
    succeeded(quiver_s3(
        &server,
        &["--db", db, "import", "--from", &url, "--as", "orders"],
    ));
    run("DROP TABLE orders; RESTORE orders");
    assert_mentions(&run("SELECT count(*) FROM orders WHERE id = 9"), &["| 1 "]);
}

#[test]
fn killed_exports_commit_only_whole_backups_and_a_rerun_completes_them() {
    let (s, _) = typed_chain();
    // More data, so that an export takes long enough to be killed in the middle.
    s.ok("CREATE TABLE big (id INTEGER PRIMARY KEY, payload BLOB);
          WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
          INSERT INTO big SELECT i, randomblob(200) FROM n;
          ALTER BACKUP COLLECTION everything ADD TABLE big");
    s.ok("BACKUP everything INCREMENTAL");
    let expected = s.fingerprint();
    let db = s.db();
    let db = db.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Kills before, during (10-50 ms: files copied, manifests missing) and after the export.
    for (n, delay_ms) in [0u64, 10, 15, 20, 25, 30, 40, 50, 120]
        .into_iter()
        .enumerate()
    {
        let url = format!("file://{}/killed{n}", dir.path().display());
        kill_after(
            &["--db", db, "export", "everything", "--to", &url],
            std::time::Duration::from_millis(delay_ms),
        );
        // Whatever was committed there is whole: the only faults allowed are files of
        // backups whose manifest never came (and nothing at all, if killed early).
        let report = quiver(&["verify", &url, "--json"]);
        if let Ok(report) = serde_json::from_slice::<serde_json::Value>(&report.stdout) {
            for fault in report["faults"].as_array().unwrap() {
                let kind = fault["kind"].as_str().unwrap();
                assert!(
                    ["missing_manifest", "leftover", "definition"].contains(&kind),
                    "killed after {delay_ms} ms: {fault}"
                );
            }
        }
        // A rerun completes the export; the copy verifies and restores exactly.
        let out = quiver(&["--db", db, "export", "everything", "--to", &url]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = quiver(&["verify", &url]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let url = format!("file://{}/killed8", dir.path().display());
    let t = Scratch::new();
    let tdb = t.db();
    let out = quiver(&[
        "--db",
        tdb.to_str().unwrap(),
        "import",
        "--from",
        &url,
        "--as",
        "everything",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    t.ok("RESTORE everything");
    assert_eq!(t.fingerprint(), expected);
}
