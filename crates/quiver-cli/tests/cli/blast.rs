//! One collection's fault stays in that collection (issue 12, part C).

use super::*;

/// Collections `a`, `b` and `c` of one table each, backed up: `a` once, `b` twice (its
/// latest manifest then truncated), `c` full then incremental (its full backup then lost,
/// breaking the chain); and a stray file in `collections/`. Returns the ids of `b`'s backups.
fn three_collections_one_intact() -> (Scratch, Vec<String>) {
    let s = Scratch::new();
    for c in ["a", "b", "c"] {
        s.ok(&format!(
            "CREATE TABLE t_{c}(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t_{c} VALUES (1, '{c}');
             CREATE BACKUP COLLECTION {c} ( TABLE t_{c} ) WITH ( INCREMENTAL_BACKUP_ENABLED = 'true' );
             BACKUP {c}"
        ));
    }
    s.ok("INSERT INTO t_b VALUES (2, 'b2'); BACKUP b; INSERT INTO t_c VALUES (2, 'c2'); BACKUP c INCREMENTAL");
    let collections = s.repo().join("collections");
    let (b, _) = committed_backups(&s.repo(), "b");
    let manifest = manifest_path(&s.repo(), "b", &b[1]);
    let text = std::fs::read(&manifest).unwrap();
    std::fs::write(&manifest, &text[..text.len() / 2]).unwrap();
    let (c, _) = committed_backups(&s.repo(), "c");
    std::fs::remove_dir_all(collections.join("c").join(&c[0])).unwrap();
    std::fs::write(collections.join("notes.txt"), "not a collection").unwrap();
    (s, b)
}

#[test]
fn a_damaged_collection_is_listed_as_such_and_the_others_still_work() {
    let (s, _) = three_collections_one_intact();
    let out = s.ok("SHOW BACKUP COLLECTIONS");
    assert_mentions(
        &out,
        &[
            "| a ",
            "| ok ",
            "damaged: 1 backup(s) cannot be read",
            "damaged: the chain of backup",
        ],
    );
    let json = s.quiver(&["ls", "--json"]);
    assert!(
        json.status.success(),
        "{}",
        String::from_utf8_lossy(&json.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let statuses: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses.len(), 3, "{statuses:?}");
    assert_eq!(statuses[0], "ok");

    // QUERY reads `a` and leaves the damaged ones out, saying so.
    let out = s.quiver(&["SELECT 1; QUERY SELECT v FROM a.t_a"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_mentions(&String::from_utf8_lossy(&out.stdout), &["| a "]);
    assert_mentions(
        &String::from_utf8_lossy(&out.stderr),
        &[
            "warning: left out collection `b`",
            "warning: left out collection `c`",
        ],
    );
    let out = s.quiver(&["query", "SELECT count(*) AS n FROM a.t_a"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // `a` backs up and restores as if nothing were wrong elsewhere.
    s.ok("BACKUP a");
    s.ok("DROP TABLE t_a; RESTORE a");
}

#[test]
fn in_a_damaged_collection_a_full_backup_works_and_restores_say_what_to_do() {
    let (s, b) = three_collections_one_intact();
    // The latest backup is unreadable: no silent fallback to the one before.
    let err = s.fails("DROP TABLE t_b; RESTORE b");
    assert_mentions(
        &err,
        &[
            &format!("the latest backup `{}`", b[1]),
            "cannot be read",
            &format!("RESTORE b AT '{}'", b[0]),
        ],
    );
    s.ok(&format!("RESTORE b AT '{}'", b[0]));
    let err = s.fails("BACKUP b INCREMENTAL");
    assert_mentions(&err, &["cannot be read", "BACKUP b"]);
    s.ok("INSERT INTO t_b VALUES (3, 'b3')");
    s.ok("BACKUP b");
    s.ok("DROP TABLE t_b; RESTORE b");
    let n: i64 = s
        .conn()
        .query_row("SELECT count(*) FROM t_b", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 2);

    // The broken chain: RESTORE names it and the way forward; a new full backup works.
    let err = s.fails("DROP TABLE t_c; RESTORE c");
    assert_mentions(&err, &["chain", "broken", "VERIFY"]);
    s.ok("CREATE TABLE t_c(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t_c VALUES (9, 'new')");
    s.ok("BACKUP c");
    s.ok("DROP TABLE t_c; RESTORE c");
}

#[test]
fn an_interrupted_import_is_cleaned_up_by_its_rerun() {
    let s = Scratch::new();
    s.ok(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a');
          CREATE BACKUP COLLECTION c ( TABLE t ) WITH ( INCREMENTAL_BACKUP_ENABLED = 'true' );
          BACKUP c; INSERT INTO t VALUES (2, 'b'); BACKUP c INCREMENTAL",
    );
    let export = s.dir.path().join("export");
    let export = export.to_str().unwrap();
    assert!(s.quiver(&["export", "c", "--to", export]).status.success());
    let (ids, _) = committed_backups(&s.repo(), "c");

    // Another machine imported the first backup, then was killed copying the second: its
    // directory holds a data file and no manifest.
    let t = Scratch::new();
    let out = t.quiver(&["import", "--from", export, "--as", "c", "--backup", &ids[0]]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let leftover = t.repo().join("collections/c").join(&ids[1]).join("data");
    std::fs::create_dir_all(&leftover).unwrap();
    std::fs::write(leftover.join("t.0.parquet"), b"half a file").unwrap();

    let out = t.quiver(&["import", "--from", export, "--as", "c"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    t.ok("RESTORE c");
    let n: i64 = t
        .conn()
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 2);
    let out = t.quiver(&["verify", "c"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn a_stray_file_named_like_a_backup_is_not_taken_for_one() {
    let s = Scratch::new();
    s.ok("CREATE TABLE t(x INTEGER); CREATE BACKUP COLLECTION c ( TABLE t ); BACKUP c");
    let stray = s.repo().join("collections/c/20200101T000000.000Z_full");
    std::fs::write(&stray, "x").unwrap();
    s.ok("BACKUP c");
    let out = s.quiver(&["verify", "c"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_mentions(
        &String::from_utf8_lossy(&out.stdout),
        &["note: 20200101T000000.000Z_full is not a file quiver writes"],
    );
    assert!(s.quiver(&["gc", "c"]).status.success());
    assert!(stray.exists(), "not quiver's: kept");
}

#[test]
fn a_query_that_fails_says_which_collections_it_left_out() {
    let s = Scratch::new();
    s.ok("CREATE TABLE t(x INTEGER); INSERT INTO t VALUES (1);
          CREATE BACKUP COLLECTION c ( TABLE t ) WITH ( INCREMENTAL_BACKUP_ENABLED = 'true' );
          BACKUP c; BACKUP c INCREMENTAL");
    let (ids, _) = committed_backups(&s.repo(), "c");
    std::fs::write(manifest_path(&s.repo(), "c", &ids[1]), "{").unwrap();
    let err = s.fails("QUERY SELECT * FROM c.t");
    assert_mentions(&err, &["left out collection `c`", &ids[1], "QUERY AT"]);
    let out = s.quiver(&["query", "SELECT * FROM c.t"]);
    assert_mentions(
        &String::from_utf8_lossy(&out.stderr),
        &["left out collection `c`"],
    );
    assert_mentions(
        &s.ok(&format!("QUERY AT '{}' SELECT x FROM c.t", ids[0])),
        &["| 1 "],
    );
}
