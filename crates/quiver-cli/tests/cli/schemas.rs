//! Real schemas restore exactly: foreign keys in any order, renamed copies untied from the
//! live tables, triggers however their table is spelled, keys SQLite does not alias to the
//! rowid (issue 12, part A).

use super::*;

/// Backs `tables` up in collection `c` (listed in this order), drops them, restores, and
/// checks the database is back as it was. Returns RESTORE's output.
fn round_trips(s: &Scratch, tables: &[&str]) -> String {
    let list: Vec<String> = tables.iter().map(|t| format!("TABLE {t}")).collect();
    s.ok(&format!(
        "CREATE BACKUP COLLECTION c ( {} )",
        list.join(", ")
    ));
    s.ok("BACKUP c");
    let before = s.fingerprint();
    // Foreign keys are enforced on quiver's connection (SQLite's bundled default): drop
    // without them, as a lost service would be.
    let drops: Vec<String> = tables.iter().map(|t| format!("DROP TABLE {t}")).collect();
    s.ok(&format!("PRAGMA foreign_keys = OFF; {}", drops.join("; ")));
    let out = s.ok("RESTORE c");
    assert_eq!(s.fingerprint(), before);
    out
}

#[test]
fn foreign_keys_restore_in_any_listing_order_with_self_references_and_cycles() {
    let s = Scratch::new();
    s.ok("CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT);
          CREATE TABLE orders(id INTEGER PRIMARY KEY, customer INTEGER REFERENCES customers(id));
          INSERT INTO customers VALUES (1, 'a'), (2, 'b');
          INSERT INTO orders VALUES (10, 1), (11, 2), (12, NULL);
          CREATE TABLE emp(id INTEGER PRIMARY KEY, boss INTEGER REFERENCES emp(id));
          INSERT INTO emp VALUES (1, NULL), (2, NULL);
          UPDATE emp SET boss = 2 WHERE id = 1;
          CREATE TABLE a(id INTEGER PRIMARY KEY, b_id INTEGER REFERENCES b(id) DEFERRABLE INITIALLY DEFERRED);
          CREATE TABLE b(id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES a(id) DEFERRABLE INITIALLY DEFERRED);
          BEGIN; INSERT INTO a VALUES (1, 1); INSERT INTO b VALUES (1, 1); COMMIT;");
    // Children before parents, a self-reference to a later key, a cycle.
    let out = round_trips(&s, &["orders", "customers", "emp", "b", "a"]);
    assert!(!out.contains("warning"), "{out}");

    // Into another database file, too.
    s.ok("BACKUP c");
    let copy = s.dir.path().join("copy.db");
    s.ok(&format!(
        "RESTORE c WITH ( DATABASE = '{}' )",
        copy.display()
    ));
    assert_eq!(
        fingerprint(&Connection::open(copy).unwrap()),
        s.fingerprint()
    );
}

#[test]
fn a_real_violation_refuses_the_restore_naming_table_and_row() {
    let s = Scratch::new();
    s.ok("CREATE TABLE customers(id INTEGER PRIMARY KEY);
          CREATE TABLE orders(id INTEGER PRIMARY KEY, customer INTEGER REFERENCES customers(id));
          INSERT INTO customers VALUES (1);
          PRAGMA foreign_keys = OFF;
          INSERT INTO orders VALUES (10, 1), (11, 7);");
    s.ok("CREATE BACKUP COLLECTION c ( TABLE orders, TABLE customers )");
    s.ok("BACKUP c");
    s.ok("PRAGMA foreign_keys = OFF; DROP TABLE orders; DROP TABLE customers");
    let err = s.fails("RESTORE c");
    assert_mentions(
        &err,
        &[
            "FOREIGN KEY violation",
            "rowid 11",
            "`orders`",
            "`customers`",
            "rolled back",
        ],
    );
    let tables: i64 = s
        .conn()
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tables, 0, "nothing restored");
}

#[test]
fn references_to_tables_outside_the_restore_are_warned_about() {
    let s = Scratch::new();
    s.ok("CREATE TABLE customers(id INTEGER PRIMARY KEY);
          CREATE TABLE orders(id INTEGER PRIMARY KEY, customer INTEGER REFERENCES customers(id));
          INSERT INTO customers VALUES (1), (2);
          INSERT INTO orders VALUES (10, 1), (11, 2), (12, NULL);");
    s.ok("CREATE BACKUP COLLECTION c ( TABLE orders )");
    s.ok("BACKUP c");
    s.ok("PRAGMA foreign_keys = OFF; DROP TABLE orders; DROP TABLE customers");
    let out = s.ok("RESTORE c");
    assert_mentions(
        &out,
        &[
            "warning: 2 row(s) of `orders` refer to rows of `customers`",
            "not restored with it",
        ],
    );
}

#[test]
fn renamed_copies_are_not_tied_to_the_live_tables() {
    let s = Scratch::new();
    s.ok("CREATE TABLE dept(id INTEGER PRIMARY KEY);
          CREATE TABLE emp(id INTEGER PRIMARY KEY,
                           boss INTEGER REFERENCES emp(id) ON DELETE CASCADE,
                           dept INTEGER CONSTRAINT in_dept REFERENCES dept(id) ON DELETE CASCADE);
          INSERT INTO dept VALUES (1);
          INSERT INTO emp VALUES (1, NULL, 1), (2, 1, 1), (3, 2, 1);");
    s.ok("CREATE BACKUP COLLECTION c ( TABLE emp )");
    s.ok("BACKUP c");
    let out = s.ok("RESTORE c WITH ( TARGET_PREFIX = 'old_' )");
    assert_mentions(
        &out,
        &[
            "old_emp (3 rows)",
            "warning: `old_emp` (a copy of `emp`) has no foreign key to `dept`",
        ],
    );
    let ddl: String = s
        .conn()
        .query_row(
            "SELECT sql FROM sqlite_master WHERE name = 'old_emp'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        ddl.contains("REFERENCES \"old_emp\"(id) ON DELETE CASCADE"),
        "{ddl}"
    );
    assert!(!ddl.contains("dept(id)"), "{ddl}");
    // Deleting the live rows leaves the copy alone; the copy's own cascade still works.
    s.ok("DELETE FROM dept; DELETE FROM emp");
    let conn = s.conn();
    let copies: i64 = conn
        .query_row("SELECT count(*) FROM old_emp", [], |r| r.get(0))
        .unwrap();
    assert_eq!(copies, 3);
    conn.execute_batch("PRAGMA foreign_keys = ON; DELETE FROM old_emp WHERE id = 1")
        .unwrap();
    let left: i64 = conn
        .query_row("SELECT count(*) FROM old_emp", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        left, 0,
        "the copy's self-reference cascades within the copy"
    );
}

#[test]
fn triggers_declared_in_another_letter_case_come_back() {
    let s = Scratch::new();
    s.ok("CREATE TABLE Orders(id INTEGER PRIMARY KEY, v TEXT);
          CREATE TABLE log(v TEXT);
          CREATE TRIGGER tr AFTER INSERT ON ORDERS BEGIN INSERT INTO log VALUES (new.v); END;
          CREATE INDEX by_v ON ORDERS(v);
          INSERT INTO Orders VALUES (1, 'a');");
    round_trips(&s, &["Orders", "log"]);
    s.ok("INSERT INTO Orders VALUES (2, 'b')");
    let logged: i64 = s
        .conn()
        .query_row("SELECT count(*) FROM log", [], |r| r.get(0))
        .unwrap();
    assert_eq!(logged, 2, "the trigger fires after the restore");
}

#[test]
fn integer_primary_key_desc_is_not_taken_for_the_rowid() {
    let s = Scratch::new();
    // Not a rowid alias: the key may hold any value, and rows keep their own rowids.
    s.ok("CREATE TABLE t(id INTEGER PRIMARY KEY DESC, v TEXT);
          INSERT INTO t(rowid, id, v) VALUES (100, 1, 'a'), (7, 2, 'b'), (50, 'abc', 'c'), (51, 2.5, 'd');
          CREATE TABLE u(id INTEGER, v TEXT, PRIMARY KEY (id DESC));
          INSERT INTO u VALUES (3, 'x'), (1, 'y');");
    round_trips(&s, &["t", "u"]);
}

#[test]
fn create_inside_an_open_transaction_says_why_it_cannot() {
    let s = Scratch::new();
    let err = s.fails("BEGIN; CREATE TABLE newt(a); CREATE BACKUP COLLECTION c ( TABLE newt )");
    assert_mentions(&err, &["cannot run inside an open transaction", "COMMIT"]);
    assert!(!err.contains("does not exist"), "{err}");
}

#[test]
fn every_name_sqlite_accepts_works_end_to_end_or_is_refused_at_create() {
    let s = Scratch::new();
    let cjk = "表".repeat(30);
    let long = "c".repeat(230);
    s.ok(&format!(
        "CREATE TABLE \"{cjk}\"(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO \"{cjk}\" VALUES (1, 'x');
         CREATE BACKUP COLLECTION {long} ( TABLE \"{cjk}\" )"
    ));
    s.ok(&format!("BACKUP {long}"));
    let out = s.ok(&format!("QUERY SELECT v FROM {long}.\"{cjk}\""));
    assert_mentions(&out, &["| x "]);
    let before = s.fingerprint();
    s.ok(&format!("DROP TABLE \"{cjk}\"; RESTORE {long}"));
    assert_eq!(s.fingerprint(), before);
    s.ok(&format!("DROP BACKUP COLLECTION {long}"));
    assert!(!s.ok("SHOW BACKUP COLLECTIONS").contains(&long));

    // Names that differ only in ASCII letter case are one name to SQL: refused.
    s.ok("CREATE TABLE t(a); CREATE BACKUP COLLECTION SALES ( TABLE t )");
    let err = s.fails("CREATE BACKUP COLLECTION Sales ( TABLE t )");
    assert_mentions(&err, &["`SALES`", "only in letter case"]);

    // SQLite tells `é` from `É` (it folds ASCII only), and so does QUERY.
    s.ok(
        "CREATE TABLE \"é\"(v TEXT); INSERT INTO \"é\" VALUES ('small');
          CREATE TABLE \"É\"(v TEXT); INSERT INTO \"É\" VALUES ('capital');
          CREATE BACKUP COLLECTION accents ( TABLE \"é\", TABLE \"É\" ); BACKUP accents",
    );
    assert_mentions(&s.ok("QUERY SELECT v FROM accents.\"É\""), &["capital"]);
    assert_mentions(&s.ok("QUERY SELECT v FROM accents.é"), &["small"]);
    assert_mentions(&s.ok("QUERY SELECT v FROM ACCENTS.\"é\""), &["small"]);
}

#[test]
fn a_filter_on_values_of_another_storage_class_is_refused_not_guessed() {
    let s = Scratch::new();
    s.ok(
        "CREATE TABLE pay(id INTEGER PRIMARY KEY, amount INTEGER, note TEXT);
          INSERT INTO pay VALUES (1, 5, 'a'), (2, 'abc', 'b'), (3, 1.5, 'c'), (4, NULL, 'd');
          CREATE BACKUP COLLECTION c ( TABLE pay ); BACKUP c",
    );
    let err = s.fails("RESTORE c WITH ( TARGET_PREFIX = 'f_', FILTER = 'amount IS NULL' )");
    assert_mentions(
        &err,
        &[
            "FILTER cannot be evaluated exactly on column `amount`",
            "`INTEGER`",
            "as NULL",
        ],
    );
    let tables: i64 = s
        .conn()
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'f_pay'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 0, "nothing restored");
    // A condition on a column holding only its own type works as before.
    let out = s.ok("RESTORE c WITH ( TARGET_PREFIX = 'f_', FILTER = 'id >= 3' )");
    assert_mentions(&out, &["f_pay (2 rows)"]);
}

#[test]
fn a_foreign_key_sqlite_cannot_check_is_restored_as_it_was_with_a_warning() {
    let s = Scratch::new();
    s.ok("PRAGMA foreign_keys = OFF;
          CREATE TABLE p(id INTEGER PRIMARY KEY, code TEXT);
          CREATE TABLE c(id INTEGER PRIMARY KEY, code TEXT REFERENCES p(code));
          INSERT INTO p VALUES (1, 'a'); INSERT INTO c VALUES (1, 'a');");
    let out = round_trips(&s, &["p", "c"]);
    assert_mentions(
        &out,
        &[
            "warning: the foreign keys of `c` cannot be checked",
            "foreign key mismatch",
        ],
    );
}

#[test]
fn a_violation_backed_up_as_it_was_can_be_restored_table_by_table() {
    let s = Scratch::new();
    s.ok("CREATE TABLE p(id INTEGER PRIMARY KEY);
          CREATE TABLE c(id INTEGER PRIMARY KEY, p INTEGER REFERENCES p(id));
          PRAGMA foreign_keys = OFF; INSERT INTO c VALUES (1, 9);
          CREATE BACKUP COLLECTION k ( TABLE p, TABLE c ); BACKUP k");
    s.ok("PRAGMA foreign_keys = OFF; DROP TABLE c; DROP TABLE p");
    let err = s.fails("RESTORE k");
    assert_mentions(&err, &["FOREIGN KEY violation", "TABLES ="]);
    s.ok("RESTORE k WITH ( TABLES = 'c' ); RESTORE k WITH ( TABLES = 'p' )");
}

#[test]
fn renamed_copies_rename_their_own_table_where_it_qualifies_a_column() {
    let s = Scratch::new();
    s.ok(
        "CREATE TABLE t(a INTEGER CHECK (t.a > 0), b INTEGER CHECK (\"T\".b IS NULL OR \"T\".b < 9));
          CREATE INDEX big ON t(a) WHERE t.a > 1;
          INSERT INTO t(a) VALUES (1), (2);
          CREATE BACKUP COLLECTION c ( TABLE t ); BACKUP c",
    );
    let out = s.ok("RESTORE c WITH ( TARGET_PREFIX = 'old_' )");
    assert_mentions(&out, &["old_t (2 rows)"]);
    let ddl: Vec<String> = s
        .conn()
        .prepare("SELECT sql FROM sqlite_master WHERE tbl_name = 'old_t'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        ddl.iter()
            .all(|sql| !sql.contains("t.a") && !sql.contains("\"T\".b")),
        "{ddl:?}"
    );
}
