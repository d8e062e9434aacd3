//! restore(backup(x)) == x through the engine: random tables and values, full backup to
//! Parquet, tables dropped, restored, compared value by value with storage classes. And
//! along chains: random changes between full and incremental backups, every backup
//! restored with `RESTORE ... AT` into a fresh database and compared with the state
//! recorded when it was taken.

use proptest::prelude::*;
use rusqlite::types::Value;

use crate::{Engine, Outcome};

/// The SQLite connection of an engine on a SQLite database.
fn conn(engine: &Engine) -> &rusqlite::Connection {
    engine
        .database()
        .as_any()
        .downcast_ref::<quiver_sqlite::SqliteDatabase>()
        .expect("a SQLite engine")
        .connection()
}

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
    conn(engine)
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
            conn(engine).execute(&sql, [value]).unwrap();
        }
        Change::Delete { table, pick } => {
            let (name, t) = at(*table);
            let sql = format!(
                "DELETE FROM {name} WHERE {}",
                picked(engine, name, t, *pick)
            );
            conn(engine).execute(&sql, []).unwrap();
        }
    }
}

/// A `WHERE` condition for the row at position `pick` (modulo the row count): by rowid, or
/// by key in WITHOUT ROWID tables (whose keys are never NULL).
fn picked(engine: &mut Engine, name: &str, table: &Table, pick: usize) -> String {
    let count: i64 = conn(engine)
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
        let chain = Chain::take(dir.path(), &tables, &steps, batch_rows);
        let (names, list) = (&chain.names, &chain.list);
        let recorded: Vec<(String, Vec<Vec<String>>)> =
            chain.recorded.iter().map(|(m, state)| (m.id.clone(), state.clone())).collect();
        for (i, (id, state)) in recorded.iter().enumerate() {
            let options = chain.options.clone();
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
            for name in names {
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

    /// Compaction of a random backup of a random chain: the full backup that replaces it
    /// restores exactly what it did; every other backup still restores its own state; a
    /// backup that built on it builds on the full backup; the next incremental too.
    #[test]
    fn a_compacted_backup_restores_exactly_what_its_chain_did(
        tables in proptest::collection::vec(table(), 1..3),
        steps in steps(),
        pick in any::<usize>(),
        batch_rows in 1usize..10,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let Chain { mut engine, options, names, recorded, .. } =
            Chain::take(dir.path(), &tables, &steps, batch_rows);
        let mut recorded: Vec<(String, quiver_catalog::BackupKind, Vec<Vec<String>>)> = recorded
            .into_iter()
            .map(|(m, state)| (m.id, m.kind, state))
            .collect();
        let incrementals: Vec<usize> = (0..recorded.len())
            .filter(|&i| recorded[i].1 == quiver_catalog::BackupKind::Incremental)
            .collect();
        prop_assume!(!incrementals.is_empty());
        let target = incrementals[pick % incrementals.len()];
        let Outcome::Compacted { report, .. } = engine
            .execute(&format!("COMPACT c AT '{}'", recorded[target].0))
            .unwrap()
            .remove(0)
        else {
            panic!("a compaction expected")
        };
        prop_assert_eq!(report.manifest.kind, quiver_catalog::BackupKind::Full);
        prop_assert_eq!(&report.replaced, &recorded[target].0);
        // The replaced id says where it went; the new one restores its state.
        let err = engine.execute(&format!("RESTORE c AT '{}'", recorded[target].0)).unwrap_err();
        prop_assert!(err.render().contains("was compacted into"), "{}", err.render());
        recorded[target].0 = report.manifest.id.clone();
        // One more incremental on top, which builds on whatever the latest backup is now.
        apply(&mut engine, &names, &tables, &Change::Delete { table: 0, pick: 0 });
        let Outcome::BackupTaken { manifest, .. } = engine.execute("BACKUP c INCREMENTAL").unwrap().remove(0) else {
            panic!("a backup expected")
        };
        let state: Vec<Vec<String>> =
            names.iter().zip(&tables).map(|(n, t)| contents(&mut engine, n, t)).collect();
        recorded.push((manifest.id, manifest.kind, state));
        let collection = engine.repository().collection("c").unwrap();
        for (i, (id, _, state)) in recorded.iter().enumerate() {
            let mut fresh = Engine::open_with(dir.path().join(format!("restored{i}.sqlite")), options.clone()).unwrap();
            fresh.execute(&format!("RESTORE c AT '{id}'")).unwrap();
            let restored: Vec<Vec<String>> =
                names.iter().zip(&tables).map(|(n, t)| contents(&mut fresh, n, t)).collect();
            prop_assert_eq!(&restored, state, "backup {} ({})", i, id);
            // No chain runs through the replaced backup any more.
            let chain = collection.chain(collection.backup(id).unwrap()).unwrap();
            prop_assert!(chain.iter().all(|b| b.id != report.replaced));
        }
        // The compacted backup holds the hashes a full backup would: an incremental on top
        // of it, with nothing changed since, finds no change.
        engine.execute("COMPACT c").unwrap();
        let Outcome::BackupTaken { manifest, .. } = engine.execute("BACKUP c INCREMENTAL").unwrap().remove(0) else {
            panic!("a backup expected")
        };
        let changes = manifest.changes();
        prop_assert_eq!((changes.upserts, changes.deletes), (0, 0));
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

/// A collection `c` of random tables and its backups, taken between random changes.
struct Chain {
    engine: Engine,
    options: crate::EngineOptions,
    names: Vec<String>,
    /// `TABLE t0, TABLE t1, …`, as a collection lists them.
    list: Vec<String>,
    /// Each backup, with every table's contents as it was taken.
    recorded: Vec<(quiver_catalog::BackupManifest, Vec<Vec<String>>)>,
}

impl Chain {
    /// Creates `tables` in a database in `dir` (repository `dir/repo`), then for each step
    /// applies its changes and takes a backup (the first one, and those marked, full).
    fn take(dir: &std::path::Path, tables: &[Table], steps: &[Step], batch_rows: usize) -> Chain {
        let options = crate::EngineOptions {
            batch_rows: Some(batch_rows),
            repository: Some(dir.join("repo")),
            ..Default::default()
        };
        let mut engine = Engine::open_with(dir.join("db.sqlite"), options.clone()).unwrap();
        let names: Vec<String> = (0..tables.len()).map(|i| format!("t{i}")).collect();
        create_tables(&mut engine, &names, tables);
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
                apply(&mut engine, &names, tables, change);
            }
            let statement = if i == 0 || step.full {
                "BACKUP c"
            } else {
                "BACKUP c INCREMENTAL"
            };
            let Outcome::BackupTaken { manifest, .. } =
                engine.execute(statement).unwrap().remove(0)
            else {
                panic!("a backup expected")
            };
            let state: Vec<Vec<String>> = names
                .iter()
                .zip(tables)
                .map(|(n, t)| contents(&mut engine, n, t))
                .collect();
            recorded.push((manifest, state));
        }
        Chain {
            engine,
            options,
            names,
            list,
            recorded,
        }
    }
}

/// Tables tied by foreign keys: table `k` refers to table `parents[k]` (itself, an earlier
/// or a later one, so cycles and self-references come up), deleting with `cascade` or SET NULL.
#[derive(Debug, Clone)]
struct Linked {
    parents: Vec<usize>,
    cascade: Vec<bool>,
}

fn linked() -> impl Strategy<Value = Linked> {
    (1usize..4).prop_flat_map(|n| {
        (
            proptest::collection::vec(0..n, n),
            proptest::collection::vec(any::<bool>(), n),
        )
            .prop_map(|(parents, cascade)| Linked { parents, cascade })
    })
}

/// A change to linked tables: references always name an existing row (or none).
#[derive(Debug, Clone)]
enum LinkedChange {
    Insert {
        table: usize,
        id: i64,
        parent_pick: Option<usize>,
        v: Value,
    },
    Point {
        table: usize,
        pick: usize,
        parent_pick: Option<usize>,
    },
    Delete {
        table: usize,
        pick: usize,
    },
}

fn linked_change() -> impl Strategy<Value = LinkedChange> {
    prop_oneof![
        (
            any::<usize>(),
            1i64..40,
            proptest::option::of(any::<usize>()),
            value()
        )
            .prop_map(|(table, id, parent_pick, v)| LinkedChange::Insert {
                table,
                id,
                parent_pick,
                v
            }),
        (
            any::<usize>(),
            any::<usize>(),
            proptest::option::of(any::<usize>())
        )
            .prop_map(|(table, pick, parent_pick)| LinkedChange::Point {
                table,
                pick,
                parent_pick
            }),
        (any::<usize>(), any::<usize>())
            .prop_map(|(table, pick)| LinkedChange::Delete { table, pick }),
    ]
}

/// The id of the row at position `pick` of table `name`, if it has rows.
fn id_at(engine: &Engine, name: &str, pick: usize) -> Option<i64> {
    let ids: Vec<i64> = conn(engine)
        .prepare(&format!("SELECT id FROM {name} ORDER BY id"))
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    (!ids.is_empty()).then(|| ids[pick % ids.len()])
}

fn apply_linked(engine: &Engine, links: &Linked, change: &LinkedChange) {
    let n = links.parents.len();
    let parent_id = |table: usize, pick: Option<usize>| {
        pick.and_then(|p| id_at(engine, &format!("l{}", links.parents[table]), p))
    };
    match change {
        LinkedChange::Insert {
            table,
            id,
            parent_pick,
            v,
        } => {
            let t = table % n;
            let parent = parent_id(t, *parent_pick);
            conn(engine)
                .execute(
                    &format!("INSERT OR IGNORE INTO l{t} (id, ref, v) VALUES (?1, ?2, ?3)"),
                    rusqlite::params![id, parent, v],
                )
                .unwrap();
        }
        LinkedChange::Point {
            table,
            pick,
            parent_pick,
        } => {
            let t = table % n;
            let (Some(id), parent) = (
                id_at(engine, &format!("l{t}"), *pick),
                parent_id(t, *parent_pick),
            ) else {
                return;
            };
            conn(engine)
                .execute(
                    &format!("UPDATE l{t} SET ref = ?1 WHERE id = ?2"),
                    rusqlite::params![parent, id],
                )
                .unwrap();
        }
        LinkedChange::Delete { table, pick } => {
            let t = table % n;
            if let Some(id) = id_at(engine, &format!("l{t}"), *pick) {
                conn(engine)
                    .execute(&format!("DELETE FROM l{t} WHERE id = ?1"), [id])
                    .unwrap();
            }
        }
    }
}

/// Every row of every linked table (`typeof:quote` of each column), and each table's
/// foreign keys (table referred to, action), `prefix` before each name.
fn linked_state(engine: &Engine, n: usize, prefix: &str) -> Vec<String> {
    let conn = conn(engine);
    let mut out = Vec::new();
    for t in 0..n {
        let name = format!("{prefix}l{t}");
        let rows: Vec<String> = conn
            .prepare(&format!(
                "SELECT id || '|' || typeof(ref) || ':' || quote(ref) || '|' || typeof(v) || ':' || quote(v) FROM \"{name}\" ORDER BY id"
            ))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        out.extend(rows.into_iter().map(|r| format!("l{t}: {r}")));
        let keys: Vec<String> = conn
            .prepare("SELECT \"table\" || ' ' || on_delete FROM pragma_foreign_key_list(?1)")
            .unwrap()
            .query_map([&name], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        out.extend(keys.into_iter().map(|k| format!("l{t} refers to {k}")));
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Tables tied by foreign keys (children before or after parents, self-references,
    /// cycles), listed in a random order, through random chains of backups: every backup
    /// restores whole, and under new names with the references following the copies, with
    /// no foreign key violated.
    #[test]
    fn tables_with_foreign_keys_restore_whole_and_renamed_at_every_backup(
        links in linked(),
        rotate in any::<usize>(),
        steps in proptest::collection::vec(
            (proptest::collection::vec(linked_change(), 0..15), proptest::bool::weighted(0.3)),
            1..4,
        ),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let repository = dir.path().join("repo");
        let open = |file: &str| {
            let options = crate::EngineOptions { repository: Some(repository.clone()), ..Default::default() };
            Engine::open_with(dir.path().join(file), options).unwrap()
        };
        let mut engine = open("db.sqlite");
        let n = links.parents.len();
        for t in 0..n {
            let action = if links.cascade[t] { "CASCADE" } else { "SET NULL" };
            engine
                .execute(&format!(
                    "CREATE TABLE l{t} (id INTEGER PRIMARY KEY, ref INTEGER REFERENCES l{}(id) ON DELETE {action}, v)",
                    links.parents[t]
                ))
                .unwrap();
        }
        let mut order: Vec<String> = (0..n).map(|t| format!("TABLE l{t}")).collect();
        order.rotate_left(rotate % n);
        if rotate % 2 == 1 {
            order.reverse();
        }
        engine
            .execute(&format!(
                "CREATE BACKUP COLLECTION c ({}) WITH (INCREMENTAL_BACKUP_ENABLED = 'true')",
                order.join(", ")
            ))
            .unwrap();
        let mut recorded = Vec::new();
        for (i, (changes, full)) in steps.iter().enumerate() {
            for change in changes {
                apply_linked(&engine, &links, change);
            }
            let statement = if i == 0 || *full { "BACKUP c" } else { "BACKUP c INCREMENTAL" };
            let Outcome::BackupTaken { manifest, .. } = engine.execute(statement).unwrap().remove(0) else {
                panic!("a backup expected")
            };
            recorded.push((manifest.id, linked_state(&engine, n, "")));
        }
        for (i, (id, state)) in recorded.iter().enumerate() {
            let mut fresh = open(&format!("restored{i}.sqlite"));
            fresh.execute(&format!("RESTORE c AT '{id}'")).unwrap();
            prop_assert_eq!(&linked_state(&fresh, n, ""), state, "backup {} ({})", i, id);
            // Beside the restored tables, a renamed copy: its references name the copies.
            fresh.execute(&format!("RESTORE c AT '{id}' WITH (TARGET_PREFIX = 'p_')")).unwrap();
            let renamed: Vec<String> = state
                .iter()
                .map(|line| line.replace("refers to l", "refers to p_l"))
                .collect();
            prop_assert_eq!(linked_state(&fresh, n, "p_"), renamed, "renamed backup {} ({})", i, id);
            let violations: i64 = conn(&fresh)
                .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0))
                .unwrap();
            prop_assert_eq!(violations, 0);
        }
    }
}
