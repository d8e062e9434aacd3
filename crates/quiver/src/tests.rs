//! restore(backup(x)) == x through the engine: random tables and values, full backup to
//! Parquet, tables dropped, restored, compared value by value with storage classes.

use proptest::prelude::*;
use rusqlite::types::Value;

use crate::{Engine, Outcome};

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<i64>().prop_map(Value::Integer),
        any::<f64>()
            .prop_filter("SQLite stores NaN as NULL", |f| !f.is_nan())
            .prop_map(Value::Real),
        "\\PC{0,10}".prop_map(Value::Text),
        proptest::collection::vec(any::<u8>(), 0..10).prop_map(Value::Blob),
    ]
}

/// A table: column declared types, key kind, rows.
#[derive(Debug, Clone)]
struct Table {
    types: Vec<&'static str>,
    key: Key,
    rows: Vec<Vec<Value>>,
}

#[derive(Debug, Clone, Copy)]
enum Key {
    None,
    IntegerAlias,
    Composite,
    WithoutRowid,
}

fn table() -> impl Strategy<Value = Table> {
    let types = proptest::collection::vec(
        proptest::sample::select(vec![
            "INTEGER", "REAL", "TEXT", "BLOB", "", "NUMERIC", "DATE", "BOOLEAN",
        ]),
        2..5,
    );
    let key = proptest::sample::select(vec![
        Key::None,
        Key::IntegerAlias,
        Key::Composite,
        Key::WithoutRowid,
    ]);
    (types, key).prop_flat_map(|(types, key)| {
        let width = types.len();
        let rows = proptest::collection::vec(proptest::collection::vec(value(), width), 0..30);
        rows.prop_map(move |rows| Table {
            types: types.clone(),
            key,
            rows,
        })
    })
}

fn create_sql(name: &str, table: &Table) -> String {
    let columns: Vec<String> = table
        .types
        .iter()
        .enumerate()
        .map(|(i, t)| format!("c{i} {t}"))
        .collect();
    match table.key {
        Key::None => format!("CREATE TABLE {name} ({})", columns.join(", ")),
        Key::IntegerAlias => format!(
            "CREATE TABLE {name} (id INTEGER PRIMARY KEY, {})",
            columns.join(", ")
        ),
        Key::Composite => format!(
            "CREATE TABLE {name} ({}, PRIMARY KEY (c0, c1))",
            columns.join(", ")
        ),
        Key::WithoutRowid => format!(
            "CREATE TABLE {name} ({}, PRIMARY KEY (c0, c1)) WITHOUT ROWID",
            columns.join(", ")
        ),
    }
}

/// `typeof:quote` of every column of every row, with the rowid where there is one, sorted.
fn contents(engine: &mut Engine, name: &str, table: &Table) -> Vec<String> {
    let mut exprs: Vec<String> = (0..table.types.len())
        .map(|i| format!("typeof(c{i}) || ':' || quote(c{i})"))
        .collect();
    if !matches!(table.key, Key::WithoutRowid) {
        exprs.insert(0, "rowid".into());
    }
    let sql = format!("SELECT {} FROM {name}", exprs.join(" || '|' || "));
    let outcomes = engine.execute(&sql).unwrap();
    let Outcome::Rows(rows) = &outcomes[0] else {
        panic!("rows expected")
    };
    let mut out = Vec::new();
    for batch in &rows.batches {
        let formatted = arrow::util::display::ArrayFormatter::try_new(
            batch.column(0).as_ref(),
            &Default::default(),
        )
        .unwrap();
        for row in 0..batch.num_rows() {
            out.push(formatted.value(row).to_string());
        }
    }
    out.sort();
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn restore_of_backup_equals_the_data(tables in proptest::collection::vec(table(), 1..4), batch_rows in 1usize..10) {
        let dir = tempfile::tempdir().unwrap();
        let options = crate::EngineOptions { batch_rows: Some(batch_rows), ..Default::default() };
        let mut engine = Engine::open_with(dir.path().join("db.sqlite"), options).unwrap();
        let names: Vec<String> = (0..tables.len()).map(|i| format!("t{i}")).collect();
        for (name, table) in names.iter().zip(&tables) {
            engine.execute(&create_sql(name, table)).unwrap();
            let columns: Vec<String> = (0..table.types.len()).map(|i| format!("c{i}")).collect();
            let params = vec!["?"; columns.len()].join(", ");
            // INSERT OR IGNORE: random composite keys may collide.
            let insert = format!("INSERT OR IGNORE INTO {name} ({}) VALUES ({params})", columns.join(", "));
            for row in &table.rows {
                engine.connection().execute(&insert, rusqlite::params_from_iter(row)).unwrap();
            }
        }
        let list: Vec<String> = names.iter().map(|n| format!("TABLE {n}")).collect();
        engine.execute(&format!("CREATE BACKUP COLLECTION c ({})", list.join(", "))).unwrap();
        let before: Vec<Vec<String>> = names.iter().zip(&tables).map(|(n, t)| contents(&mut engine, n, t)).collect();
        engine.execute("BACKUP c").unwrap();
        for name in &names {
            engine.execute(&format!("DROP TABLE {name}")).unwrap();
        }
        engine.execute("RESTORE c").unwrap();
        let after: Vec<Vec<String>> = names.iter().zip(&tables).map(|(n, t)| contents(&mut engine, n, t)).collect();
        prop_assert_eq!(before, after);
    }
}
