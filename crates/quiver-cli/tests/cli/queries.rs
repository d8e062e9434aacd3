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

/// Rows of `sql` run by SQLite, each as its values joined by `|`, sorted.
fn sqlite_rows(conn: &Connection, sql: &str) -> Vec<String> {
    let mut stmt = conn.prepare(sql).unwrap();
    let columns = stmt.column_count();
    let mut rows: Vec<String> = stmt
        .query_map([], |r| {
            Ok((0..columns)
                .map(|i| match r.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Null => String::new(),
                    rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                    rusqlite::types::ValueRef::Real(v) => format!("{v:.1}"),
                    rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                    rusqlite::types::ValueRef::Blob(b) => format!("{b:?}"),
                })
                .collect::<Vec<_>>()
                .join("|"))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    rows.sort();
    rows
}

/// Rows of a QUERY's printed table, each as its cells joined by `|`, sorted.
fn printed_rows(table: &str) -> Vec<String> {
    let mut rows: Vec<String> = table
        .lines()
        .filter(|l| l.starts_with('|'))
        .skip(1) // the header
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(str::trim)
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect();
    rows.sort();
    rows
}

#[test]
fn selective_restores_bring_back_some_tables_and_rows_under_new_names_beside_the_live_ones() {
    let s = Scratch::new();
    s.ok("CREATE TABLE orders (id INTEGER PRIMARY KEY AUTOINCREMENT, customer TEXT, total REAL);
          CREATE INDEX orders_customer ON orders (customer);
          CREATE TABLE audit (note TEXT);
          CREATE TRIGGER orders_audit AFTER INSERT ON orders BEGIN INSERT INTO audit VALUES ('order'); END;
          CREATE TABLE payments (id INTEGER PRIMARY KEY, order_id INTEGER, amount REAL);
          INSERT INTO orders (customer, total) VALUES ('ann', 10), ('bob', 20), ('ann', 30), ('cy', 40);
          INSERT INTO payments VALUES (1, 1, 10), (2, 3, 30);
          CREATE BACKUP COLLECTION shop ( TABLE orders, TABLE payments ) WITH ( INCREMENTAL_BACKUP_ENABLED = 'true' )");
    s.ok("BACKUP shop");
    s.ok(
        "UPDATE orders SET total = 31 WHERE id = 3; DELETE FROM orders WHERE id = 2;
          INSERT INTO orders (customer, total) VALUES ('ann', 50)",
    );
    let id = backup_id(&s.ok("BACKUP shop INCREMENTAL"));
    // Life goes on after the backup.
    s.ok("DELETE FROM orders WHERE customer = 'ann'; INSERT INTO payments VALUES (3, 4, 40)");
    let live = s.fingerprint();

    // One customer's orders as of the backup, under a new name beside the live table.
    let out = s.ok(&format!(
        "RESTORE shop AT '{id}' WITH ( TABLES = 'orders', RENAME = 'orders = ann_orders', FILTER = 'customer = ''ann''' )"
    ));
    assert_mentions(&out, &["ann_orders (3 rows)"]);
    let query = s.ok(&format!(
        "QUERY SELECT id, customer, total FROM backup_at('shop', 'orders', '{id}') WHERE customer = 'ann'"
    ));
    assert_eq!(
        sqlite_rows(&s.conn(), "SELECT id, customer, total FROM ann_orders"),
        printed_rows(&query)
    );
    // Its index came along under a name of its own; the trigger did not (it writes `audit`).
    let objects = sqlite_rows(
        &s.conn(),
        "SELECT type, name FROM sqlite_master WHERE tbl_name = 'ann_orders'",
    );
    assert_eq!(
        objects,
        ["index|ann_orders_orders_customer", "table|ann_orders"]
    );

    // Everything with a prefix: the live tables are untouched, byte for byte.
    let out = s.ok("RESTORE shop WITH ( TARGET_PREFIX = 'restored_' )");
    assert_mentions(
        &out,
        &["restored_orders (4 rows)", "restored_payments (2 rows)"],
    );
    let conn = s.conn();
    let after: Vec<String> = s
        .fingerprint()
        .into_iter()
        .filter(|line| !line.contains("ann_orders") && !line.contains("restored_"))
        .collect();
    assert_eq!(after, live);
    assert_eq!(
        sqlite_rows(&conn, "SELECT * FROM restored_orders"),
        printed_rows(&s.ok("QUERY SELECT * FROM shop.orders"))
    );

    // No overwrite: an existing target name refuses the whole restore.
    let err = s.fails("RESTORE shop WITH ( TARGET_PREFIX = 'restored_' )");
    assert_mentions(
        &err,
        &[
            "table `restored_orders`, table `restored_payments` already exist",
            "nothing was restored",
        ],
    );
    let err = s.fails("RESTORE shop WITH ( TABLES = 'refunds' )");
    assert_mentions(
        &err,
        &["has no table `refunds`", "its tables are: orders, payments"],
    );
    let err = s.fails(
        "RESTORE shop WITH ( TABLES = 'orders', TARGET_PREFIX = 'x_', FILTER = 'nope = 1' )",
    );
    assert_mentions(&err, &["No field named nope"]);
    assert!(
        sqlite_rows(
            &s.conn(),
            "SELECT name FROM sqlite_master WHERE name LIKE 'x_%'"
        )
        .is_empty()
    );

    // Into another database file.
    let other = s.dir.path().join("other.db");
    s.ok(&format!(
        "RESTORE shop WITH ( TABLES = 'payments', DATABASE = '{}' )",
        other.display()
    ));
    let other = Connection::open(other).unwrap();
    assert_eq!(sqlite_rows(&other, "SELECT id FROM payments"), ["1", "2"]);
}
