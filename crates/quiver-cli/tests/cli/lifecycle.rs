//! A collection's lifecycle (issue 14): retention rules, pins and PRUNE.

use super::*;

#[test]
fn prune_keeps_what_the_rules_and_pins_say_and_never_breaks_a_chain() {
    let s = Scratch::new();
    s.ok("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a');
          CREATE BACKUP COLLECTION c ( TABLE t ) WITH ( INCREMENTAL_BACKUP_ENABLED = 'true', KEEP_LAST = '2' )");
    let first = backup_id(&s.ok("BACKUP c"));
    s.ok("INSERT INTO t VALUES (2, 'b')");
    let second = backup_id(&s.ok("BACKUP c"));
    s.ok("INSERT INTO t VALUES (3, 'c')");
    let third = backup_id(&s.ok("BACKUP c INCREMENTAL"));
    s.ok("INSERT INTO t VALUES (4, 'd')");
    let fourth = backup_id(&s.ok("BACKUP c INCREMENTAL"));

    // Pins must name a backup of the collection.
    let err = s.fails("ALTER BACKUP COLLECTION c PIN '20200101T000000.000Z_full'");
    assert_mentions(&err, &["has no backup `20200101T000000.000Z_full`"]);
    s.ok(&format!("ALTER BACKUP COLLECTION c PIN '{first}'"));

    // A dry run lists, removes nothing. KEEP_LAST = 2 keeps the two incrementals, and so
    // the full backup they build on; the pin keeps the first.
    let files = s.repo_files();
    let out = succeeded(s.quiver(&["prune", "c", "--dry-run"]));
    assert_mentions(
        &out,
        &[
            "PRUNE c: would remove 0 of 4 backup(s)",
            "(KEEP_LAST = '2')",
            &format!("keep   {fourth}: KEEP_LAST"),
            &format!("keep   {second}: backup {third} builds on it"),
            &format!("keep   {first}: pinned"),
        ],
    );
    assert_eq!(s.repo_files(), files);

    // Unpinned, the first backup goes; every other still restores.
    s.ok(&format!("ALTER BACKUP COLLECTION c UNPIN '{first}'"));
    let err = s.fails(&format!("ALTER BACKUP COLLECTION c UNPIN '{first}'"));
    assert_mentions(&err, &["is not pinned"]);
    let out = s.ok("PRUNE c DRY RUN");
    assert_mentions(
        &out,
        &["would remove 1 of 4", &format!("would remove {first}")],
    );
    let report: serde_json::Value =
        serde_json::from_str(&succeeded(s.quiver(&["prune", "c", "--json"]))).unwrap();
    assert_eq!(report["dry_run"], false);
    let gone: Vec<&str> = report["backups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["kept"] == false)
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(gone, [first.as_str()]);
    let (remaining, incomplete) = committed_backups(&s.repo(), "c");
    assert_eq!(remaining, [second.clone(), third.clone(), fourth.clone()]);
    assert_eq!(incomplete, 0, "nothing is left of the removed backup");
    assert!(succeeded(s.quiver(&["verify", "c"])).contains("3 backup(s)"));
    let err = s.fails(&format!("RESTORE c AT '{first}'"));
    assert_mentions(&err, &["has no backup"]);
    for id in [&second, &third, &fourth] {
        let restored = s.restore_elsewhere(&format!("{id}.db"), &format!("RESTORE c AT '{id}'"));
        assert!(!fingerprint(&restored).is_empty());
    }

    // Rules can be reset: with none, everything is kept.
    s.ok("ALTER BACKUP COLLECTION c RESET (KEEP_LAST)");
    let out = s.ok("PRUNE c");
    assert_mentions(&out, &["removed 0 of 3", "no KEEP_… setting"]);
}

#[test]
fn prune_of_a_collection_with_a_damaged_backup_removes_nothing() {
    let s = Scratch::new();
    s.ok(
        "CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1);
          CREATE BACKUP COLLECTION c ( TABLE t ) WITH ( KEEP_LAST = '1' );
          BACKUP c; BACKUP c; BACKUP c",
    );
    let (ids, _) = committed_backups(&s.repo(), "c");
    std::fs::write(manifest_path(&s.repo(), "c", &ids[1]), b"{ not json").unwrap();
    let files = s.repo_files();
    let out = s.quiver(&["prune", "c"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_mentions(
        &err,
        &["was not pruned (nothing was removed)", &ids[1], "VERIFY c"],
    );
    assert_eq!(s.repo_files(), files);
}
