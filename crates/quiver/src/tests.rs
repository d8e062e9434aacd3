//! restore(backup(x)) == x through the engine: random tables and values, full backup to
//! Parquet, tables dropped, restored, compared value by value with storage classes. And
//! along chains: random changes between full and incremental backups, every backup
//! restored with `RESTORE ... AT` into a fresh database and compared with the state
//! recorded when it was taken.

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

/// The rows of a query, each formatted as its values joined by `|`, sorted.
fn query_rows(engine: &mut Engine, sql: &str) -> Vec<String> {
    let outcomes = engine.execute(sql).unwrap();
    let Outcome::Rows(rows) = &outcomes[0] else {
        panic!("rows expected")
    };
    let mut out = Vec::new();
    for batch in &rows.batches {
        let formatters: Vec<_> = batch
            .columns()
            .iter()
            .map(|c| {
                arrow::util::display::ArrayFormatter::try_new(c.as_ref(), &Default::default())
                    .unwrap()
            })
            .collect();
        for row in 0..batch.num_rows() {
            let values: Vec<String> = formatters
                .iter()
                .map(|f| f.value(row).to_string())
                .collect();
            out.push(values.join("|"));
        }
    }
    out.sort();
    out
}

/// A change to one of the tables (indexes are taken modulo the tables' sizes).
#[derive(Debug, Clone)]
enum Change {
    Insert {
        table: usize,
        row: Vec<Value>,
    },
    Update {
        table: usize,
        pick: usize,
        column: usize,
        value: Value,
    },
    Delete {
        table: usize,
        pick: usize,
    },
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        (any::<usize>(), proptest::collection::vec(value(), 5))
            .prop_map(|(table, row)| Change::Insert { table, row }),
        (any::<usize>(), any::<usize>(), any::<usize>(), value()).prop_map(
            |(table, pick, column, value)| Change::Update {
                table,
                pick,
                column,
                value
            }
        ),
        (any::<usize>(), any::<usize>()).prop_map(|(table, pick)| Change::Delete { table, pick }),
    ]
}

/// A step of a chain test: some changes, then a backup (full when `full`).
#[derive(Debug, Clone)]
struct Step {
    changes: Vec<Change>,
    full: bool,
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    proptest::collection::vec(
        (
            proptest::collection::vec(change(), 0..12),
            proptest::bool::weighted(0.25),
        )
            .prop_map(|(changes, full)| Step { changes, full }),
        1..5,
    )
}

fn create_tables(engine: &mut Engine, names: &[String], tables: &[Table]) {
    for (name, table) in names.iter().zip(tables) {
        engine.execute(&create_sql(name, table)).unwrap();
        for row in &table.rows {
            insert(engine, name, table, row);
        }
    }
}

fn insert(engine: &mut Engine, name: &str, table: &Table, row: &[Value]) {
    let columns: Vec<String> = (0..table.types.len()).map(|i| format!("c{i}")).collect();
    let params = vec!["?"; columns.len()].join(", ");
    // OR IGNORE: random keys may collide.
    let insert = format!(
        "INSERT OR IGNORE INTO {name} ({}) VALUES ({params})",
        columns.join(", ")
    );
    engine
        .connection()
        .execute(
            &insert,
            rusqlite::params_from_iter(&row[..table.types.len()]),
        )
        .unwrap();
}

/// Applies `change`: updates and deletes hit the row at position `pick` of the table.
fn apply(engine: &mut Engine, names: &[String], tables: &[Table], change: &Change) {
    let at = |t: usize| (&names[t % names.len()], &tables[t % tables.len()]);
    match change {
        Change::Insert { table, row: values } => {
            let (name, t) = at(*table);
            insert(engine, name, t, values);
        }
        Change::Update {
            table,
            pick,
            column,
            value,
        } => {
            let (name, t) = at(*table);
            let column = column % t.types.len();
            let sql = format!(
                "UPDATE OR IGNORE {name} SET c{column} = ?1 WHERE {}",
                picked(engine, name, t, *pick)
            );
            engine.connection().execute(&sql, [value]).unwrap();
        }
        Change::Delete { table, pick } => {
            let (name, t) = at(*table);
            let sql = format!(
                "DELETE FROM {name} WHERE {}",
                picked(engine, name, t, *pick)
            );
            engine.connection().execute(&sql, []).unwrap();
        }
    }
}

/// A `WHERE` condition for the row at position `pick` (modulo the row count): by rowid, or
/// by key in WITHOUT ROWID tables (whose keys are never NULL).
fn picked(engine: &mut Engine, name: &str, table: &Table, pick: usize) -> String {
    let count: i64 = engine
        .connection()
        .query_row(&format!("SELECT count(*) FROM {name}"), [], |r| r.get(0))
        .unwrap();
    let offset = if count == 0 { 0 } else { pick as i64 % count };
    if matches!(table.key, Key::WithoutRowid) {
        format!("(c0, c1) = (SELECT c0, c1 FROM {name} ORDER BY c0, c1 LIMIT 1 OFFSET {offset})")
    } else {
        format!("rowid = (SELECT rowid FROM {name} ORDER BY rowid LIMIT 1 OFFSET {offset})")
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Full and incremental backups between random changes: each backup, restored into a
    /// fresh database, equals the tables as they were when it was taken.
    #[test]
    fn restore_at_every_backup_of_a_chain_equals_its_state(
        tables in proptest::collection::vec(table(), 1..4),
        steps in steps(),
        batch_rows in 1usize..10,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let repository = dir.path().join("repo");
        let options = crate::EngineOptions {
            batch_rows: Some(batch_rows),
            repository: Some(repository.clone()),
        };
        let mut engine = Engine::open_with(dir.path().join("db.sqlite"), options).unwrap();
        let names: Vec<String> = (0..tables.len()).map(|i| format!("t{i}")).collect();
        create_tables(&mut engine, &names, &tables);
        let list: Vec<String> = names.iter().map(|n| format!("TABLE {n}")).collect();
        engine
            .execute(&format!(
                "CREATE BACKUP COLLECTION c ({}) WITH (INCREMENTAL_BACKUP_ENABLED = 'true')",
                list.join(", ")
            ))
            .unwrap();
        let mut recorded = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            for change in &step.changes {
                apply(&mut engine, &names, &tables, change);
            }
            let statement = if i == 0 || step.full { "BACKUP c" } else { "BACKUP c INCREMENTAL" };
            let Outcome::BackupTaken { manifest, .. } = engine.execute(statement).unwrap().remove(0) else {
                panic!("a backup expected")
            };
            let state: Vec<Vec<String>> =
                names.iter().zip(&tables).map(|(n, t)| contents(&mut engine, n, t)).collect();
            recorded.push((manifest.id, state));
        }
        for (i, (id, state)) in recorded.iter().enumerate() {
            let options = crate::EngineOptions {
                batch_rows: Some(batch_rows),
                repository: Some(repository.clone()),
            };
            let mut fresh = Engine::open_with(dir.path().join(format!("restored{i}.sqlite")), options).unwrap();
            fresh.execute(&format!("RESTORE c AT '{id}'")).unwrap();
            let restored: Vec<Vec<String>> =
                names.iter().zip(&tables).map(|(n, t)| contents(&mut fresh, n, t)).collect();
            prop_assert_eq!(&restored, state, "backup {} ({})", i, id);

            // A query of the backup through its chain (merged on read) equals a query of a
            // lone full backup of the restored state (a plain Parquet scan), with and without
            // a filter that can prune.
            let copy = format!("r{i}");
            fresh
                .execute(&format!("CREATE BACKUP COLLECTION {copy} ({}); BACKUP {copy}", list.join(", ")))
                .unwrap();
            for name in &names {
                for filter in ["", " WHERE c0 IS NOT NULL"] {
                    let through_chain = query_rows(
                        &mut fresh,
                        &format!("QUERY SELECT * FROM backup_at('c', '{name}', '{id}'){filter}"),
                    );
                    let plain = query_rows(&mut fresh, &format!("QUERY SELECT * FROM {copy}.{name}{filter}"));
                    prop_assert_eq!(through_chain, plain, "QUERY of {} at backup {} ({}){}", name, i, id, filter);
                }
            }
        }
    }

    #[test]
    fn restore_of_backup_equals_the_data(tables in proptest::collection::vec(table(), 1..4), batch_rows in 1usize..10) {
        let dir = tempfile::tempdir().unwrap();
        let options = crate::EngineOptions { batch_rows: Some(batch_rows), ..Default::default() };
        let mut engine = Engine::open_with(dir.path().join("db.sqlite"), options).unwrap();
        let names: Vec<String> = (0..tables.len()).map(|i| format!("t{i}")).collect();
        create_tables(&mut engine, &names, &tables);
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
