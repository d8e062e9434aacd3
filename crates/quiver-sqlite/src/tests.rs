//! restore(backup(x)) == x at the adapter level: scan a table to Arrow, load it elsewhere,
//! compare every value with its storage class.

use proptest::prelude::*;
use quiver_catalog::{BackupSource, RestoreTarget, TableSchema};
use rusqlite::Connection;
use rusqlite::types::Value;

use crate::{SqliteSource, SqliteTarget};

/// Every row of `table` as `(typeof, quote)` pairs (plus the rowid), in key order.
fn dump(conn: &Connection, table: &str, order: &str) -> Vec<Vec<(String, String)>> {
    let cols: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info(?1)")
        .unwrap()
        .query_map([table], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let select = cols
        .iter()
        .map(|c| format!("typeof({0}), quote({0})", crate::quote_ident(c)))
        .collect::<Vec<_>>()
        .join(", ");
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {select} FROM {} ORDER BY {order}",
            crate::quote_ident(table)
        ))
        .unwrap();
    let n = cols.len();
    stmt.query_map([], |r| {
        (0..n)
            .map(|i| Ok((r.get::<_, String>(2 * i)?, r.get::<_, String>(2 * i + 1)?)))
            .collect::<Result<Vec<_>, _>>()
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

/// Backs up `tables` from `src` and restores them into a fresh database; returns it.
fn round_trip(
    src: &std::path::Path,
    tables: &[&str],
    batch_rows: usize,
) -> (tempfile::TempDir, Vec<TableSchema>) {
    let mut source = SqliteSource::open(src).unwrap();
    let mut snapshot = source.snapshot().unwrap();
    let mut captured = Vec::new();
    for name in tables {
        let schema = snapshot.describe(name).unwrap();
        let mut batches = Vec::new();
        let rows = snapshot
            .scan(&schema, batch_rows, &mut |b| {
                batches.push(b);
                Ok(())
            })
            .unwrap();
        assert_eq!(
            rows,
            batches.iter().map(|b| b.num_rows() as u64).sum::<u64>()
        );
        captured.push((schema, batches));
    }
    drop(snapshot);
    let dir = tempfile::tempdir().unwrap();
    let mut target = SqliteTarget::open(&dir.path().join("dst.db")).unwrap();
    let mut tx = target.begin().unwrap();
    for (schema, batches) in &captured {
        tx.create_table(schema).unwrap();
        for b in batches {
            tx.insert(schema, b).unwrap();
        }
        tx.finish_table(schema).unwrap();
    }
    tx.commit().unwrap();
    (dir, captured.into_iter().map(|(s, _)| s).collect())
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<i64>().prop_map(Value::Integer),
        prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(0)].prop_map(Value::Integer),
        any::<f64>()
            .prop_filter("SQLite stores NaN as NULL", |f| !f.is_nan())
            .prop_map(Value::Real),
        ".{0,12}".prop_map(Value::Text),
        Just(Value::Text(String::new())),
        proptest::collection::vec(any::<u8>(), 0..12).prop_map(Value::Blob),
    ]
}

const DECLARED: [&str; 9] = [
    "INTEGER",
    "REAL",
    "TEXT",
    "BLOB",
    "",
    "NUMERIC",
    "VARCHAR(10)",
    "DATETIME",
    "DECIMAL(10,2)",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    /// Any value of any storage class in any declared type comes back with the same class
    /// and value, for tables with and without a primary key.
    #[test]
    fn every_value_round_trips(
        types in proptest::collection::vec(0..DECLARED.len(), 1..5),
        rows in proptest::collection::vec(proptest::collection::vec(value(), 5), 0..300),
        with_pk in any::<bool>(),
        // Small batches, and batches of more rows than one INSERT statement carries.
        batch_rows in prop_oneof![1usize..8, 60usize..200],
    ) {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src.db");
        let conn = Connection::open(&src).unwrap();
        let cols: Vec<String> = types.iter().enumerate().map(|(i, t)| format!("c{i} {}", DECLARED[*t])).collect();
        let pk = if with_pk { "id INTEGER PRIMARY KEY, " } else { "" };
        conn.execute_batch(&format!("CREATE TABLE t({pk}{})", cols.join(", "))).unwrap();
        let names: Vec<String> = (0..types.len()).map(|i| format!("c{i}")).collect();
        let params = vec!["?"; types.len()].join(", ");
        let sql = format!("INSERT INTO t({}) VALUES ({params})", names.join(", "));
        for row in &rows {
            conn.execute(&sql, rusqlite::params_from_iter(row.iter().take(types.len()))).unwrap();
        }
        // Delete some rows so rowids have gaps that must be preserved.
        conn.execute("DELETE FROM t WHERE rowid % 3 = 0", []).unwrap();
        let (out, _) = round_trip(&src, &["t"], batch_rows);
        let restored = Connection::open(out.path().join("dst.db")).unwrap();
        prop_assert_eq!(dump(&conn, "t", "rowid"), dump(&restored, "t", "rowid"));
        let rowids = |c: &Connection| -> Vec<i64> {
            c.prepare("SELECT rowid FROM t ORDER BY rowid").unwrap()
                .query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
        };
        prop_assert_eq!(rowids(&conn), rowids(&restored));
    }
}

/// Rowids for [`stored_rowids_come_back_exactly`]: runs of consecutive rowids from places
/// where SQLite's own choice (the largest plus one, 1 in an empty table) would and would not
/// give the same, up to the largest rowid there is.
fn rowid_runs() -> impl Strategy<Value = Vec<i64>> {
    let start = prop_oneof![
        3 => Just(1i64),
        2 => Just(0i64),
        1 => Just(2i64),
        1 => -5i64..5,
        1 => any::<i64>(),
        1 => (0i64..4).prop_map(|k| i64::MAX - k),
        1 => Just(i64::MIN),
    ];
    proptest::collection::vec((start, 1usize..12), 1..6).prop_map(|runs| {
        let mut rowids: Vec<i64> = runs
            .into_iter()
            .flat_map(|(start, len)| (0..len as i64).map_while(move |i| start.checked_add(i)))
            .collect();
        rowids.sort_unstable();
        rowids.dedup();
        rowids
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// A table whose rowid is not a column gets every rowid back, whether the rows arrive
    /// in rowid order (no primary key) or in another (a text primary key), in batches that
    /// do and do not continue from the largest rowid loaded so far.
    #[test]
    fn stored_rowids_come_back_exactly(
        rowids in rowid_runs(),
        with_text_key in any::<bool>(),
        batch_rows in 1usize..9,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src.db");
        let conn = Connection::open(&src).unwrap();
        let key = if with_text_key { "k TEXT PRIMARY KEY, " } else { "k TEXT, " };
        conn.execute_batch(&format!("CREATE TABLE t({key}v INTEGER)")).unwrap();
        for (i, rowid) in rowids.iter().enumerate() {
            // Keys in another order than the rowids.
            let k = format!("{:08}", (i * 7919) % 100_003);
            conn.execute("INSERT INTO t(rowid, k, v) VALUES (?1, ?2, ?3)", rusqlite::params![rowid, k, i as i64]).unwrap();
        }
        let (out, schemas) = round_trip(&src, &["t"], batch_rows);
        prop_assert!(schemas[0].stores_rowid);
        let restored = Connection::open(out.path().join("dst.db")).unwrap();
        let rows = |c: &Connection| -> Vec<(i64, String, i64)> {
            c.prepare("SELECT rowid, k, v FROM t ORDER BY rowid").unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap()
                .collect::<Result<_, _>>().unwrap()
        };
        prop_assert_eq!(rows(&conn), rows(&restored));
    }
}

/// A table too wide for the usual rows per INSERT statement (SQLite's parameter limit)
/// round-trips, its rows in statements of fewer rows.
#[test]
fn very_wide_tables_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.db");
    let conn = Connection::open(&src).unwrap();
    let columns: Vec<String> = (0..700).map(|i| format!("c{i}")).collect();
    conn.execute_batch(&format!(
        "CREATE TABLE wide(id INTEGER PRIMARY KEY, {});
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 150)
         INSERT INTO wide SELECT i, {} FROM n;",
        columns.join(", "),
        (0..700)
            .map(|c| format!("CASE WHEN (i + {c}) % 7 = 0 THEN NULL ELSE i * {c} END"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
    .unwrap();
    let (out, _) = round_trip(&src, &["wide"], 100);
    let restored = Connection::open(out.path().join("dst.db")).unwrap();
    assert_eq!(dump(&conn, "wide", "id"), dump(&restored, "wide", "id"));
}

#[test]
fn schema_objects_and_special_tables_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.db");
    let conn = Connection::open(&src).unwrap();
    conn.execute_batch(
        "CREATE TABLE kv(k TEXT, n INTEGER, v BLOB, PRIMARY KEY (k, n)) WITHOUT ROWID;
         INSERT INTO kv VALUES ('b', 2, x'00ff'), ('a', 1, NULL), ('a', 0, x'');
         CREATE TABLE seq(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, total REAL,
                          doubled INTEGER GENERATED ALWAYS AS (id * 2) VIRTUAL);
         INSERT INTO seq(name, total) VALUES ('x', 1.5), ('y', -0.0), ('z', 1e308);
         DELETE FROM seq WHERE name = 'z';
         CREATE INDEX seq_total ON seq(total);
         CREATE TABLE audit(msg TEXT);
         CREATE TRIGGER seq_audit AFTER INSERT ON seq BEGIN INSERT INTO audit VALUES (new.name); END;
         CREATE TABLE \"odd \"\"name\"\"\"(\"rowid\" TEXT, x);
         INSERT INTO \"odd \"\"name\"\"\" VALUES ('r', 1), ('s', 'two');",
    )
    .unwrap();
    let (out, schemas) = round_trip(&src, &["kv", "SEQ", "odd \"name\""], 2);
    assert!(!schemas[0].stores_rowid && schemas[0].primary_key == ["k", "n"]);
    assert_eq!(
        schemas[1].name, "seq",
        "names resolve case-insensitively to the real name"
    );
    assert_eq!(schemas[1].autoincrement_seq, Some(3));
    assert!(schemas[2].stores_rowid && schemas[2].rowid_is_key());
    assert!(!schemas[1].stores_rowid, "INTEGER PRIMARY KEY is the rowid");
    let restored = Connection::open(out.path().join("dst.db")).unwrap();
    assert_eq!(dump(&conn, "kv", "k, n"), dump(&restored, "kv", "k, n"));
    assert_eq!(dump(&conn, "seq", "id"), dump(&restored, "seq", "id"));
    assert_eq!(
        dump(&conn, "odd \"name\"", "_rowid_"),
        dump(&restored, "odd \"name\"", "_rowid_")
    );
    let schema_sql = |c: &Connection| -> Vec<String> {
        c.prepare("SELECT sql FROM sqlite_master WHERE name IN ('seq', 'seq_total', 'seq_audit', 'kv') ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert_eq!(schema_sql(&conn), schema_sql(&restored));
    // The AUTOINCREMENT counter survived: the next id is 4, not 3.
    restored
        .execute_batch("CREATE TABLE audit(msg TEXT)")
        .unwrap();
    restored
        .execute("INSERT INTO seq(name) VALUES ('w')", [])
        .unwrap();
    let id: i64 = restored
        .query_row("SELECT id FROM seq WHERE name = 'w'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(id, 4);
}

#[test]
fn invalid_utf8_text_keeps_its_bytes_and_class() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.db");
    let conn = Connection::open(&src).unwrap();
    conn.execute_batch("CREATE TABLE t(id INTEGER PRIMARY KEY, s TEXT); INSERT INTO t VALUES (1, CAST(x'ff00fe' AS TEXT));")
        .unwrap();
    let (out, _) = round_trip(&src, &["t"], 10);
    let restored = Connection::open(out.path().join("dst.db")).unwrap();
    let probe = "SELECT typeof(s), hex(s) FROM t";
    let get = |c: &Connection| {
        c.query_row(probe, [], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })
        .unwrap()
    };
    assert_eq!(get(&restored), ("text".to_string(), "FF00FE".to_string()));
    assert_eq!(get(&conn), get(&restored));
}

#[test]
fn views_and_missing_tables_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.db");
    let conn = Connection::open(&src).unwrap();
    conn.execute_batch("CREATE TABLE t(a); CREATE VIEW v AS SELECT * FROM t;")
        .unwrap();
    let source = SqliteSource::open(&src).unwrap();
    assert_eq!(
        source.describe("nope").unwrap_err().to_string(),
        "table `nope` does not exist"
    );
    assert!(
        source
            .describe("v")
            .unwrap_err()
            .to_string()
            .contains("is a view")
    );
    // A generated column named like the rowid would be read (and restored) as the rowid.
    conn.execute_batch("CREATE TABLE g (a INTEGER, rowid INTEGER GENERATED ALWAYS AS (a * 2))")
        .unwrap();
    let err = source.describe("g").unwrap_err().to_string();
    assert!(err.contains("a generated column hides its rowid"), "{err}");
}

#[test]
fn wide_rows_are_cut_into_batches_by_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.db");
    let conn = Connection::open(&src).unwrap();
    // 80 rows of 1 MiB: one batch by row count, two or more by bytes.
    conn.execute_batch(
        "CREATE TABLE blobs (id INTEGER PRIMARY KEY, b BLOB);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 80)
         INSERT INTO blobs SELECT i, zeroblob(1048576) FROM n;",
    )
    .unwrap();
    let mut source = SqliteSource::open(&src).unwrap();
    let mut snapshot = source.snapshot().unwrap();
    let schema = snapshot.describe("blobs").unwrap();
    let mut sizes = Vec::new();
    snapshot
        .scan(&schema, 8192, &mut |b| {
            sizes.push(b.num_rows());
            Ok(())
        })
        .unwrap();
    assert_eq!(sizes.iter().sum::<usize>(), 80);
    assert!(sizes.len() >= 2 && sizes[0] <= 64, "{sizes:?}");
}

/// Ids of `table` as read through `snapshot`.
fn scanned_ids(snapshot: &mut dyn quiver_catalog::SourceSnapshot, table: &str) -> Vec<i64> {
    use arrow::array::AsArray;
    let schema = snapshot.describe(table).unwrap();
    let mut ids = Vec::new();
    snapshot
        .scan(&schema, 100, &mut |b| {
            ids.extend(
                b.column(0)
                    .as_primitive::<arrow::datatypes::Int64Type>()
                    .values()
                    .iter()
                    .copied(),
            );
            Ok(())
        })
        .unwrap();
    ids
}

#[test]
fn parallel_snapshots_see_one_point_in_time_while_writers_write() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.db");
    let conn = Connection::open(&src).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         CREATE TABLE a (id INTEGER PRIMARY KEY); CREATE TABLE b (id INTEGER PRIMARY KEY);",
    )
    .unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (src, stop) = (src.clone(), stop.clone());
        std::thread::spawn(move || {
            let conn = Connection::open(src).unwrap();
            conn.busy_timeout(std::time::Duration::from_secs(10))
                .unwrap();
            let mut id = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                id += 1;
                conn.execute_batch(&format!(
                    "BEGIN; INSERT INTO a VALUES ({id}); INSERT INTO b VALUES ({id}); COMMIT;"
                ))
                .unwrap();
                // Let other connections at the write lock now and then (SQLite's is not fair).
                if id % 50 == 0 {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
            }
        })
    };
    let mut source = SqliteSource::open(&src).unwrap();
    let mut aligned = 0;
    for _ in 0..20 {
        std::thread::sleep(std::time::Duration::from_millis(5));
        let mut snapshots = source.snapshots(2).unwrap();
        if snapshots.len() == 2 {
            aligned += 1;
            // Each table read through a different connection, both at one point in time.
            let second = snapshots.pop().unwrap();
            let mut first = snapshots.pop().unwrap();
            let b_ids = std::thread::scope(|scope| {
                let reader = scope.spawn(move || {
                    let mut second = second;
                    scanned_ids(second.as_mut(), "b")
                });
                let a_ids = scanned_ids(first.as_mut(), "a");
                (a_ids, reader.join().unwrap())
            });
            assert_eq!(b_ids.0, b_ids.1);
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
    assert!(
        aligned > 0,
        "the writer never let the backup align its snapshots"
    );
}

#[test]
fn row_estimates_come_from_rowid_spans_and_are_absent_without_rowids() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("estimates.db");
    Connection::open(&path)
        .unwrap()
        .execute_batch(
            "CREATE TABLE big (a INTEGER, b INTEGER, PRIMARY KEY (a, b));
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
             INSERT INTO big SELECT i, i FROM n;
             DELETE FROM big WHERE a BETWEEN 10 AND 20;
             CREATE TABLE aliased (id INTEGER PRIMARY KEY, rowid TEXT);
             INSERT INTO aliased VALUES (7, 'x'), (42, 'y');
             CREATE TABLE empty (v);
             CREATE TABLE keyed (k TEXT PRIMARY KEY, v) WITHOUT ROWID;
             INSERT INTO keyed VALUES ('a', 1);",
        )
        .unwrap();
    let mut source = SqliteSource::open(&path).unwrap();
    // The span of the rowids: deletes in the middle do not shrink it.
    assert_eq!(source.estimated_rows("big"), Some(5000));
    // A column named rowid does not hide the table's rowid (here the INTEGER PRIMARY KEY).
    assert_eq!(source.estimated_rows("aliased"), Some(36));
    assert_eq!(source.estimated_rows("empty"), Some(0));
    assert_eq!(source.estimated_rows("keyed"), None);
    assert_eq!(source.estimated_rows("missing"), None);
}

/// A batch that is not the table's (other columns, or a raw value that does not decode) is
/// refused with the table and column named, and inserts nothing.
#[test]
fn batches_that_are_not_the_tables_are_refused() {
    use arrow::array::{BinaryArray, Int64Array};
    use arrow::record_batch::RecordBatch;
    use std::sync::Arc;

    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.db");
    Connection::open(&src)
        .unwrap()
        .execute_batch("CREATE TABLE t(a INTEGER)")
        .unwrap();
    let schema = SqliteSource::open(&src).unwrap().describe("t").unwrap();
    assert!(schema.stores_rowid && schema.columns[0].has_raw);
    let batch = |raw: Option<&[u8]>| {
        RecordBatch::try_new(
            schema.arrow_schema(),
            vec![
                Arc::new(Int64Array::from(vec![1, 2])),
                Arc::new(Int64Array::from(vec![Some(5), None])),
                Arc::new(BinaryArray::from(vec![None, raw])),
            ],
        )
        .unwrap()
    };
    let mut target = SqliteTarget::open(&dir.path().join("dst.db")).unwrap();
    let mut tx = target.begin().unwrap();
    tx.create_table(&schema).unwrap();
    // 0xEE is no storage class's tag.
    let err = tx
        .insert(&schema, &batch(Some(&[0xEE, 1])))
        .unwrap_err()
        .to_string();
    assert!(err.contains("undecodable raw value in column `a`"), "{err}");
    assert!(err.contains("`t`"), "{err}");
    let other = RecordBatch::try_new(
        Arc::new(arrow::datatypes::Schema::new(vec![
            arrow::datatypes::Field::new("a", arrow::datatypes::DataType::Int64, true),
        ])),
        vec![Arc::new(Int64Array::from(vec![1]))],
    )
    .unwrap();
    let err = tx.insert(&schema, &other).unwrap_err().to_string();
    assert!(err.contains("expected columns"), "{err}");
    // A raw value that decodes (text) goes in with its class.
    let mut text = vec![];
    quiver_catalog::encode_raw(quiver_catalog::SqlValue::Text(b"x"), &mut text);
    tx.insert(&schema, &batch(Some(&text))).unwrap();
    tx.finish_table(&schema).unwrap();
    tx.commit().unwrap();
    let dst = Connection::open(dir.path().join("dst.db")).unwrap();
    let rows: Vec<(i64, String)> = dst
        .prepare("SELECT rowid, quote(a) FROM t ORDER BY rowid")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows, vec![(1, "5".to_string()), (2, "'x'".to_string())]);
}

/// A database that stores text in UTF-16 is refused as a source and as a target, with
/// nothing restored: SQLite would convert text on the way (a lone surrogate, or bytes that
/// are not UTF-8, would come back changed).
#[test]
fn utf16_databases_are_refused_as_source_and_target() {
    let dir = tempfile::tempdir().unwrap();
    let (utf8, utf16) = (dir.path().join("utf8.db"), dir.path().join("utf16.db"));
    Connection::open(&utf8)
        .unwrap()
        .execute_batch("CREATE TABLE t(a); INSERT INTO t VALUES (CAST(x'ff00fe' AS TEXT))")
        .unwrap();
    Connection::open(&utf16)
        .unwrap()
        .execute_batch("PRAGMA encoding = 'UTF-16le'; CREATE TABLE u(a); INSERT INTO u VALUES (CAST(x'00d8' AS TEXT))")
        .unwrap();
    let err = SqliteSource::open(&utf16)
        .err()
        .expect("a UTF-16 source is refused")
        .to_string();
    assert!(
        err.contains("UTF-16le") && err.contains("UTF-8 databases only"),
        "{err}"
    );

    let mut source = SqliteSource::open(&utf8).unwrap();
    let mut snapshot = source.snapshot().unwrap();
    let schema = snapshot.describe("t").unwrap();
    drop(snapshot);
    let mut target = SqliteTarget::open(&utf16).unwrap();
    let err = target
        .begin()
        .err()
        .expect("a UTF-16 target is refused")
        .to_string();
    assert!(err.contains("UTF-16le"), "{err}");
    let tables: i64 = Connection::open(&utf16)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name = 't'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 0, "nothing of {schema:?} was restored");
}
