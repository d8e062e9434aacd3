//! Queries over backups: tables as of any backup, the changes view, and backup files read
//! by an external Parquet reader.

use super::*;

#[test]
fn backups_are_queried_as_of_any_backup_and_their_changes_are_one_query() {
    let s = Scratch::new();
    s.ok("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT, total REAL);
          INSERT INTO orders VALUES (1, 'ann', 10.5), (2, 'bob', 20), (3, 'cy', 30);
          CREATE BACKUP COLLECTION shop ( TABLE orders ) WITH ( INCREMENTAL_BACKUP_ENABLED = 'true' )");
    let monday = backup_id(&s.ok("BACKUP shop"));
    s.ok("UPDATE orders SET total = 11 WHERE id = 1; DELETE FROM orders WHERE id = 2; INSERT INTO orders VALUES (4, 'dee', 40)");
    let tuesday = backup_id(&s.ok("BACKUP shop INCREMENTAL"));
    s.ok("DELETE FROM orders WHERE id = 4");
    s.ok("BACKUP shop INCREMENTAL");

    // As of the latest backup, as of Monday (through --at and backup_at), and in SQL.
    let latest = succeeded_query(
        &s,
        &["query", "SELECT id, total FROM shop.orders ORDER BY id"],
    );
    assert_mentions(&latest, &["| 1  | 11.0  |", "| 3  | 30.0  |", "(2 rows)"]);
    let at_monday = succeeded_query(
        &s,
        &[
            "query",
            "--at",
            &monday,
            "SELECT id, customer FROM shop.orders ORDER BY id",
        ],
    );
    assert_mentions(&at_monday, &["| 2  | bob      |", "(3 rows)"]);
    let out = s.ok(&format!(
        "QUERY SELECT count(*) AS n FROM backup_at('shop', 'orders', '{tuesday}') WHERE id >= 3"
    ));
    assert_mentions(&out, &["| 2 |"]);

    // What happened between Monday and Tuesday, and since Monday.
    let out = s.ok(&format!(
        "QUERY SELECT _change, id, total FROM changes('shop', 'orders', '{monday}', '{tuesday}') ORDER BY id"
    ));
    assert_mentions(
        &out,
        &[
            "| upsert  | 1  | 11.0  |",
            "| delete  | 2  |       |",
            "| upsert  | 4  | 40.0  |",
            "(3 rows)",
        ],
    );
    let out = s.ok("QUERY SELECT _change, id FROM changes('shop', 'orders') ORDER BY id");
    assert_mentions(&out, &["| delete  | 4  |", "(3 rows)"]);

    // Errors name what is wrong.
    let err = s.fails("QUERY SELECT * FROM shop.nope");
    assert_mentions(&err, &["shop.nope", "<collection>.<table>"]);
    let err = s.fails("QUERY SELECT * FROM changes('shop')");
    assert_mentions(&err, &["usage: changes('collection', 'table'"]);
    let err = s.fails("QUERY AT '20000101T000000.000Z_full' SELECT 1");
    assert_mentions(
        &err,
        &["no backup collection has a backup `20000101T000000.000Z_full`"],
    );
}

fn succeeded_query(s: &Scratch, args: &[&str]) -> String {
    let out = s.quiver(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_full_backup_file_is_plain_parquet_that_pyarrow_reads() {
    let s = typed_tables_backed_up();
    let file = s
        .data_files()
        .into_iter()
        .find(|f| f.to_string_lossy().contains("/data/strict_t."))
        .unwrap();
    let script = r#"
import json, sys
import pyarrow.parquet as pq
table = pq.read_table(sys.argv[1], columns=["id", "n", "s"])
print(json.dumps(table.to_pylist()))
"#;
    let out = Command::new(quiver_storage::test_server::python())
        .args(["-c", script, file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        read,
        serde_json::json!([
            {"id": 1, "n": 5, "s": "five"},
            {"id": 2, "n": null, "s": "two"},
            {"id": 3, "n": -1, "s": ""},
        ])
    );
}
