//! Durability and concurrency (issue 12, part D).

use super::*;

#[test]
fn a_backup_of_a_rollback_journal_database_says_it_blocks_writers() {
    let s = Scratch::new();
    s.ok("CREATE TABLE t(id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1); CREATE BACKUP COLLECTION c ( TABLE t )");
    let out = s.ok("BACKUP c");
    assert_mentions(
        &out,
        &[
            "rollback-journal mode (journal_mode = delete)",
            "writers wait",
            "PRAGMA journal_mode = WAL",
        ],
    );
    s.ok("PRAGMA journal_mode = WAL");
    let out = s.ok("BACKUP c");
    assert!(!out.contains("rollback-journal"), "{out}");
}

#[test]
fn exported_data_files_are_written_once_never_over_another_writers() {
    let s = Scratch::new();
    s.ok(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a');
          CREATE BACKUP COLLECTION c ( TABLE t ); BACKUP c",
    );
    let (ids, _) = committed_backups(&s.repo(), "c");
    let export = s.dir.path().join("export");
    // Another writer of a backup with this id got its data file there first.
    let theirs = export.join(&ids[0]).join("data/t.0.parquet");
    std::fs::create_dir_all(theirs.parent().unwrap()).unwrap();
    std::fs::write(&theirs, b"another writer's data file").unwrap();
    let out = s.quiver(&["export", "c", "--to", export.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_mentions(
        &String::from_utf8_lossy(&out.stderr),
        &["t.0.parquet", "do not match"],
    );
    assert_eq!(
        std::fs::read(&theirs).unwrap(),
        b"another writer's data file"
    );
    assert!(
        !export.join(&ids[0]).join("manifest.json").exists(),
        "nothing committed"
    );
}
