//! Invariants: SQLite's order, `apply(diff(a, b), a) == b`, chains of diffs.

use std::cmp::Ordering;
use std::sync::Arc;

use arrow::array::{ArrayRef, BinaryBuilder, Int64Builder, StringBuilder};
use arrow::compute::concat_batches;
use arrow::record_batch::RecordBatch;
use proptest::prelude::*;
use quiver_catalog::{BackupKind, ColumnSchema, ColumnType, SqlValue, TableSchema, encode_raw};

use crate::{
    Batches, Differ, Merge, MergeInput, Result, StateColumns, compare_values, with_row_hashes,
};

/// An owned SQL value, for generating rows.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Value {
    fn sql(&self) -> SqlValue<'_> {
        match self {
            Value::Null => SqlValue::Null,
            Value::Int(i) => SqlValue::Integer(*i),
            Value::Real(r) => SqlValue::Real(*r),
            Value::Text(t) => SqlValue::Text(t.as_bytes()),
            Value::Blob(b) => SqlValue::Blob(b),
        }
    }

    fn to_sqlite(&self) -> rusqlite::types::Value {
        use rusqlite::types::Value as V;
        match self {
            Value::Null => V::Null,
            Value::Int(i) => V::Integer(*i),
            Value::Real(r) => V::Real(*r),
            Value::Text(t) => V::Text(t.clone()),
            Value::Blob(b) => V::Blob(b.clone()),
        }
    }
}

fn any_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        (-3i64..3).prop_map(Value::Int),
        prop_oneof![
            Just(i64::MIN),
            Just(i64::MAX),
            Just(1 << 53),
            Just((1 << 53) + 1)
        ]
        .prop_map(Value::Int),
        prop_oneof![
            Just(-0.0),
            Just(0.5),
            Just(-2.5),
            Just(9.007_199_254_740_992e15),
            Just(9_223_372_036_854_775_807i64 as f64), // 2^63, just above i64::MAX
            Just(i64::MIN as f64),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
        ]
        .prop_map(Value::Real),
        "[a-cA-C\u{e9}\u{1f600}]{0,3}".prop_map(Value::Text),
        proptest::collection::vec(any::<u8>(), 0..3).prop_map(Value::Blob),
    ]
}

/// A row: key (one mixed-type column, one integer column), then two value columns.
type Row = (Value, i64, Option<i64>, Option<String>);

fn table() -> TableSchema {
    let column = |name: &str, column_type, has_raw, in_primary_key| ColumnSchema {
        name: name.into(),
        declared_type: String::new(),
        column_type,
        has_raw,
        in_primary_key,
        text_form: false,
    };
    TableSchema {
        name: "t".into(),
        columns: vec![
            column("k", ColumnType::Text, true, true),
            column("n", ColumnType::Integer, false, true),
            column("a", ColumnType::Integer, false, false),
            column("b", ColumnType::Text, false, false),
        ],
        primary_key: vec!["k".into(), "n".into()],
        stores_rowid: false,
        create_sql:
            "CREATE TABLE t(k, n INTEGER, a INTEGER, b TEXT, PRIMARY KEY (k, n)) WITHOUT ROWID"
                .into(),
        index_sql: vec![],
        trigger_sql: vec![],
        autoincrement_seq: None,
        dialect: quiver_catalog::Dialect::Sqlite,
        adapter: None,
    }
}

fn key_order(x: &Row, y: &Row) -> Ordering {
    compare_values(x.0.sql(), y.0.sql()).then(x.1.cmp(&y.1))
}

/// Sorts rows by key and keeps one row per key.
fn normalize(mut rows: Vec<Row>) -> Vec<Row> {
    rows.sort_by(key_order);
    rows.dedup_by(|x, y| key_order(x, y).is_eq());
    rows
}

/// The rows as batches of `sizes` rows (cycled) of the table's full-backup file schema.
fn batches(table: &TableSchema, rows: &[Row], sizes: &[usize]) -> Vec<RecordBatch> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut sizes = sizes.iter().cycle();
    while start < rows.len() {
        let end = (start + sizes.next().copied().unwrap_or(1).max(1)).min(rows.len());
        out.push(batch(table, &rows[start..end]));
        start = end;
    }
    out
}

fn batch(table: &TableSchema, rows: &[Row]) -> RecordBatch {
    let mut k = StringBuilder::new();
    let mut k_raw = BinaryBuilder::new();
    let (mut n, mut a, mut b) = (
        Int64Builder::new(),
        Int64Builder::new(),
        StringBuilder::new(),
    );
    let mut encoded = Vec::new();
    for (key, number, x, y) in rows {
        match key {
            Value::Text(t) => {
                k.append_value(t);
                k_raw.append_null();
            }
            Value::Null => {
                k.append_null();
                k_raw.append_null();
            }
            other => {
                k.append_null();
                encode_raw(other.sql(), &mut encoded);
                k_raw.append_value(&encoded);
            }
        }
        n.append_value(*number);
        a.append_option(*x);
        b.append_option(y.as_deref());
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(k.finish()),
        Arc::new(n.finish()),
        Arc::new(a.finish()),
        Arc::new(b.finish()),
        Arc::new(k_raw.finish()),
    ];
    let values = RecordBatch::try_new(table.arrow_schema(), columns).unwrap();
    with_row_hashes(&values, &table.file_schema(BackupKind::Full)).unwrap()
}

fn stream(batches: Vec<RecordBatch>) -> Batches<'static> {
    Box::new(batches.into_iter().map(Ok))
}

fn project(batches: &[RecordBatch], columns: &[usize]) -> Vec<RecordBatch> {
    batches
        .iter()
        .map(|b| b.project(columns).unwrap())
        .collect()
}

/// One backup of a chain as the engine stores it: a full's batches or an incremental's changes.
enum Backup {
    Full(Vec<RecordBatch>),
    Incremental(Vec<RecordBatch>),
}

/// The chain merged, reading `full`/`incremental` columns of each backup, into `output`.
fn merge(
    chain: &[Backup],
    columns: (&[usize], &[usize]),
    key: Vec<quiver_catalog::KeyColumn>,
    output: arrow::datatypes::SchemaRef,
    batch_rows: usize,
) -> Result<Vec<RecordBatch>> {
    let inputs = chain
        .iter()
        .map(|backup| match backup {
            Backup::Full(b) => MergeInput::full(stream(project(b, columns.0))),
            Backup::Incremental(b) => MergeInput::incremental(stream(project(b, columns.1))),
        })
        .collect();
    Merge::new(inputs, key, output, batch_rows)?.collect()
}

/// The state of a chain as (key, hash) batches: what the next diff reads.
fn state(table: &TableSchema, chain: &[Backup]) -> Vec<RecordBatch> {
    let state = StateColumns::of(table);
    merge(
        chain,
        (&state.full, &state.incremental),
        state.key.clone(),
        state.schema.clone(),
        5,
    )
    .unwrap()
}

/// The chain restored: every column.
fn restored(table: &TableSchema, chain: &[Backup], batch_rows: usize) -> RecordBatch {
    let schema = table.file_schema(BackupKind::Full);
    let full: Vec<usize> = (0..schema.fields().len()).collect();
    let mut incremental = full.clone();
    incremental.push(full.len());
    let merged = merge(
        chain,
        (&full, &incremental),
        table.key_columns(),
        schema.clone(),
        batch_rows,
    )
    .unwrap();
    concat_batches(&schema, &merged).unwrap()
}

fn diff(
    table: &TableSchema,
    chain: &[Backup],
    current: Vec<RecordBatch>,
    batch_rows: usize,
) -> Vec<RecordBatch> {
    let mut changes = Vec::new();
    let mut differ = Differ::new(table, stream(state(table, chain)), batch_rows).unwrap();
    for batch in &current {
        differ
            .push(batch, &mut |b| {
                changes.push(b);
                Ok(())
            })
            .unwrap();
    }
    differ
        .finish(&mut |b| {
            changes.push(b);
            Ok(())
        })
        .unwrap();
    changes
}

fn rows() -> impl Strategy<Value = Vec<Row>> {
    proptest::collection::vec(
        (
            any_value(),
            0i64..3,
            proptest::option::of(-2i64..2),
            proptest::option::of("[xy]{0,2}"),
        ),
        0..40,
    )
    .prop_map(normalize)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Keys compare exactly as SQLite orders them.
    #[test]
    fn values_compare_in_sqlite_order(values in proptest::collection::vec(any_value(), 0..12)) {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute("CREATE TABLE v(i INTEGER, x)", []).unwrap();
        for (i, value) in values.iter().enumerate() {
            conn.execute("INSERT INTO v VALUES (?1, ?2)", rusqlite::params![i as i64, value.to_sqlite()]).unwrap();
        }
        let by_sqlite: Vec<usize> = conn
            .prepare("SELECT i FROM v ORDER BY x COLLATE BINARY, i").unwrap()
            .query_map([], |r| r.get::<_, i64>(0)).unwrap()
            .map(|i| i.unwrap() as usize)
            .collect();
        // SQLite stores NaN as NULL; the generator makes none.
        let mut ours: Vec<usize> = (0..values.len()).collect();
        ours.sort_by(|&x, &y| compare_values(values[x].sql(), values[y].sql()).then(x.cmp(&y)));
        prop_assert_eq!(ours, by_sqlite);
    }

    /// apply(diff(a, b), a) == b, and so on along a chain a -> b -> c, whatever the batching.
    #[test]
    fn applying_a_diff_gives_the_new_state(
        a in rows(), b in rows(), c in rows(),
        sizes in proptest::collection::vec(1usize..7, 1..4),
        batch_rows in 1usize..9,
    ) {
        let table = table();
        let mut chain = vec![Backup::Full(batches(&table, &a, &sizes))];
        for next in [&b, &c] {
            let changes = diff(&table, &chain, batches(&table, next, &sizes), batch_rows);
            chain.push(Backup::Incremental(changes));
            let expected = batch(&table, next);
            prop_assert_eq!(restored(&table, &chain, batch_rows), expected);
        }
    }

    /// A diff of a state against itself is empty.
    #[test]
    fn unchanged_rows_give_no_changes(a in rows(), sizes in proptest::collection::vec(1usize..7, 1..4)) {
        let table = table();
        let chain = vec![Backup::Full(batches(&table, &a, &sizes))];
        let changes = diff(&table, &chain, batches(&table, &a, &sizes), 4);
        prop_assert!(changes.is_empty());
    }
}

#[test]
fn changes_are_upserts_and_key_only_tombstones() {
    let table = table();
    let row = |k: &str, a: i64| (Value::Text(k.into()), 0, Some(a), Some("x".to_string()));
    let chain = vec![Backup::Full(vec![batch(
        &table,
        &[row("a", 1), row("b", 2), row("c", 3)],
    )])];
    let changes = diff(
        &table,
        &chain,
        vec![batch(&table, &[row("a", 1), row("c", 4), row("d", 5)])],
        100,
    );
    let schema = table.file_schema(BackupKind::Incremental);
    let all = concat_batches(&schema, &changes).unwrap();
    // b is deleted (key only), c updated, d inserted; a unchanged is absent.
    let keys: Vec<_> = all
        .column(0)
        .as_any()
        .downcast_ref::<arrow::array::StringArray>()
        .unwrap()
        .iter()
        .map(|k| k.unwrap().to_string())
        .collect();
    assert_eq!(keys, ["b", "c", "d"]);
    let deleted = all
        .column(6)
        .as_any()
        .downcast_ref::<arrow::array::BooleanArray>()
        .unwrap();
    assert_eq!(
        deleted.iter().map(Option::unwrap).collect::<Vec<_>>(),
        [true, false, false]
    );
    assert!(all.column(2).is_null(0) && all.column(3).is_null(0) && all.column(5).is_null(0));
}

#[test]
fn out_of_order_input_is_an_error() {
    let table = table();
    let row = |k: &str| (Value::Text(k.into()), 0, None, None);
    let chain = vec![Backup::Full(vec![batch(&table, &[row("a")])])];
    let mut differ = Differ::new(&table, stream(state(&table, &chain)), 10).unwrap();
    let error = differ
        .push(&batch(&table, &[row("c"), row("b")]), &mut |_| Ok(()))
        .unwrap_err();
    assert!(error.to_string().contains("not in key order"), "{error}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Inputs in any order (duplicates, descending runs): merges and diffs return rows or an
    /// error, never panic; and they fail exactly when an input is not strictly increasing.
    /// (A lone input is passed through unchecked: a restore of one full backup needs no
    /// order. The diff that reads it as its previous state checks it.)
    #[test]
    fn unsorted_inputs_are_errors_not_wrong_results(
        a in proptest::collection::vec((any_value(), 0i64..2, Just(None), Just(None)), 0..12),
        b in proptest::collection::vec((any_value(), 0i64..2, Just(None), Just(None)), 0..12),
        sizes in proptest::collection::vec(1usize..5, 1..3),
    ) {
        let table = table();
        let sorted = |rows: &[Row]| rows.windows(2).all(|w| key_order(&w[0], &w[1]).is_lt());
        let state = StateColumns::of(&table);
        let columns = (state.full.as_slice(), state.incremental.as_slice());

        let two = [Backup::Full(batches(&table, &a, &sizes)), Backup::Full(batches(&table, &b, &sizes))];
        let merged = merge(&two, columns, state.key.clone(), state.schema.clone(), 3);
        prop_assert_eq!(merged.is_ok(), sorted(&a) && sorted(&b));

        let one = [Backup::Full(batches(&table, &a, &sizes))];
        let previous = merge(&one, columns, state.key.clone(), state.schema.clone(), 3).unwrap();
        let mut differ = Differ::new(&table, stream(previous), 3).unwrap();
        let mut diffed = Ok(());
        for batch in batches(&table, &b, &sizes) {
            diffed = differ.push(&batch, &mut |_| Ok(()));
            if diffed.is_err() {
                break;
            }
        }
        let diffed = diffed.and_then(|()| differ.finish(&mut |_| Ok(())).map(|_| ()));
        prop_assert_eq!(diffed.is_ok(), sorted(&a) && sorted(&b));
    }
}
