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
