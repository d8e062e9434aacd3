//! One suite for every adapter: `restore(backup(x)) == x` over random tables and random
//! inserts, updates and deletes, with full and incremental backups, every backup restored
//! AT its id, written once and run on SQLite and on PostgreSQL (a real server: see
//! `quiver_postgres::test_server`). The SQLite-only properties (storage classes, rowids,
//! foreign key checks) are in `tests.rs`.

use proptest::prelude::*;

use crate::{Engine, EngineOptions, Outcome};

/// A column's kind, as both databases spell it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Int,
    Real,
    Text,
    Blob,
}

/// A value of a column (None: NULL).
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

#[derive(Debug, Clone)]
struct Table {
    /// Column kinds; the first `key` columns are the primary key (Int or Text).
    kinds: Vec<Kind>,
    key: usize,
}

#[derive(Debug, Clone)]
enum Step {
    Insert(Vec<Value>),
    Update {
        pick: usize,
        column: usize,
        value: Value,
    },
    Delete {
        pick: usize,
    },
    Backup {
        incremental: bool,
    },
}

/// The database a suite runs on.
#[derive(Debug, Clone, Copy)]
enum Dialect {
    Sqlite,
    Postgres,
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        Just(Kind::Int),
        Just(Kind::Real),
        Just(Kind::Text),
        Just(Kind::Blob)
    ]
}

fn table() -> impl Strategy<Value = Table> {
    (
        prop::collection::vec(prop_oneof![Just(Kind::Int), Just(Kind::Text)], 1..=2),
        prop::collection::vec(kind(), 0..4),
    )
        .prop_map(|(key, rest)| Table {
            key: key.len(),
            kinds: key.into_iter().chain(rest).collect(),
        })
}

fn value(kind: Kind, nullable: bool) -> BoxedStrategy<Value> {
    let typed = match kind {
        Kind::Int => prop_oneof![Just(i64::MIN), Just(i64::MAX), -5i64..5, any::<i64>()]
            .prop_map(Value::Int)
            .boxed(),
        // Finite floats (both databases keep -0 and the extremes); NaN is not SQLite's.
        Kind::Real => prop_oneof![
            Just(-0.0f64),
            Just(f64::MAX),
            Just(f64::MIN_POSITIVE),
            -1e6f64..1e6
        ]
        .prop_map(Value::Real)
        .boxed(),
        Kind::Text => prop_oneof![
            "[a-cA-C _]{0,3}",
            "\\PC{0,8}",
            Just("Ä".to_string()),
            Just("a\tb\\c\nd".to_string())
        ]
        .prop_filter("no NUL", |s: &String| !s.contains('\0'))
        .prop_map(Value::Text)
        .boxed(),
        Kind::Blob => prop::collection::vec(any::<u8>(), 0..6)
            .prop_map(Value::Blob)
            .boxed(),
    };
    if nullable {
        prop_oneof![1 => Just(Value::Null), 4 => typed].boxed()
    } else {
        typed
    }
}

fn row(table: &Table) -> BoxedStrategy<Vec<Value>> {
    table
        .kinds
        .iter()
        .enumerate()
        .map(|(i, kind)| value(*kind, i >= table.key))
        .collect::<Vec<_>>()
        .boxed()
}

fn case() -> impl Strategy<Value = (Table, Vec<Step>)> {
    table().prop_flat_map(|table| {
        let columns = table.kinds.len();
        let step = prop_oneof![
            4 => row(&table).prop_map(Step::Insert),
            2 => (any::<usize>(), 0..columns).prop_flat_map({
                let table = table.clone();
                move |(pick, column)| {
                    // Only columns outside the key change (a key change is a delete and an
                    // insert); a table of key columns only gets a delete instead.
                    if columns == table.key {
                        return Just(Step::Delete { pick }).boxed();
                    }
                    let column = table.key + column % (columns - table.key);
                    value(table.kinds[column], true)
                        .prop_map(move |value| Step::Update { pick, column, value })
                        .boxed()
                }
            }),
            1 => any::<usize>().prop_map(|pick| Step::Delete { pick }),
            1 => any::<bool>().prop_map(|incremental| Step::Backup { incremental }),
        ];
        (Just(table), prop::collection::vec(step, 1..24))
    })
}

impl Dialect {
    fn create(self, table: &Table) -> String {
        let columns: Vec<String> = table
            .kinds
            .iter()
            .enumerate()
            .map(|(i, kind)| {
                let name = match (self, kind) {
                    (Dialect::Sqlite, Kind::Int) => "INTEGER",
                    (Dialect::Sqlite, Kind::Real) => "REAL",
                    (Dialect::Sqlite, Kind::Text) => "TEXT",
                    (Dialect::Sqlite, Kind::Blob) => "BLOB",
                    (Dialect::Postgres, Kind::Int) => "bigint",
                    (Dialect::Postgres, Kind::Real) => "double precision",
                    (Dialect::Postgres, Kind::Text) => "text",
                    (Dialect::Postgres, Kind::Blob) => "bytea",
                };
                format!("c{i} {name}")
            })
            .collect();
        let key: Vec<String> = (0..table.key).map(|i| format!("c{i}")).collect();
        format!(
            "CREATE TABLE t ({}, PRIMARY KEY ({}))",
            columns.join(", "),
            key.join(", ")
        )
    }

    fn literal(self, value: &Value) -> String {
        match (self, value) {
            (_, Value::Null) => "NULL".into(),
            (_, Value::Int(i)) => format!("({i})"),
            (Dialect::Sqlite, Value::Real(r)) => format!("({r:e})"),
            (Dialect::Postgres, Value::Real(r)) => format!("'{r:e}'::float8"),
            (_, Value::Text(t)) => format!("'{}'", t.replace('\'', "''")),
            (Dialect::Sqlite, Value::Blob(b)) => format!("x'{}'", hex(b)),
            (Dialect::Postgres, Value::Blob(b)) => format!("'\\x{}'::bytea", hex(b)),
        }
    }

    fn insert(self, row: &[Value]) -> String {
        let values: Vec<String> = row.iter().map(|v| self.literal(v)).collect();
        match self {
            Dialect::Sqlite => format!("INSERT OR IGNORE INTO t VALUES ({})", values.join(", ")),
            Dialect::Postgres => format!(
                "INSERT INTO t VALUES ({}) ON CONFLICT DO NOTHING",
                values.join(", ")
            ),
        }
    }

    /// Every row, each value in a form that tells types apart, in key order.
    fn state_sql(self, table: &Table) -> String {
        let key: Vec<String> = (0..table.key).map(|i| format!("c{i}")).collect();
        match self {
            Dialect::Sqlite => {
                let values: Vec<String> = (0..table.kinds.len())
                    .map(|i| format!("typeof(c{i}) || ':' || quote(c{i})"))
                    .collect();
                format!(
                    "SELECT {} FROM t ORDER BY {}",
                    values.join(" || '|' || "),
                    key.join(", ")
                )
            }
            Dialect::Postgres => {
                format!("SELECT _row::text FROM t _row ORDER BY {}", key.join(", "))
            }
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The position of the row `pick` picks (modulo the row count).
fn row_at(engine: &mut Engine, pick: usize) -> usize {
    let count: usize = strings(engine, "SELECT count(*) FROM t")[0]
        .parse()
        .unwrap();
    pick % count.max(1)
}

/// The first column of a query's rows, as text.
fn strings(engine: &mut Engine, sql: &str) -> Vec<String> {
    let outcomes = engine
        .execute(sql)
        .unwrap_or_else(|e| panic!("{sql}: {}", e.render()));
    let Some(Outcome::Rows(rows)) = outcomes.last() else {
        panic!("rows expected from {sql}")
    };
    let mut out = Vec::new();
    for batch in &rows.batches {
        let column = arrow::util::display::ArrayFormatter::try_new(
            batch.column(0).as_ref(),
            &Default::default(),
        )
        .unwrap();
        for row in 0..batch.num_rows() {
            out.push(column.value(row).to_string());
        }
    }
    out
}

/// Runs `steps` on `table` in `engine`'s database, then restores every backup taken and
/// compares it with the state at that backup.
fn check(
    engine: &mut Engine,
    dialect: Dialect,
    table: &Table,
    steps: &[Step],
) -> Result<(), TestCaseError> {
    let run = |engine: &mut Engine, sql: &str| {
        engine
            .execute(sql)
            .unwrap_or_else(|e| panic!("{sql}: {}", e.render()));
    };
    run(engine, &dialect.create(table));
    run(
        engine,
        "CREATE BACKUP COLLECTION c ( TABLE t ) WITH ( INCREMENTAL_BACKUP_ENABLED = 'true' )",
    );
    let state_sql = dialect.state_sql(table);
    let key: Vec<String> = (0..table.key).map(|i| format!("c{i}")).collect();
    let key = key.join(", ");
    let mut backups: Vec<(String, Vec<String>)> = Vec::new();
    for step in steps {
        match step {
            Step::Insert(values) => run(engine, &dialect.insert(values)),
            Step::Update {
                pick,
                column,
                value,
            } => {
                let sql = format!(
                    "UPDATE t SET c{column} = {} WHERE ({key}) IN (SELECT {key} FROM t ORDER BY {key} LIMIT 1 OFFSET {})",
                    dialect.literal(value),
                    row_at(engine, *pick)
                );
                run(engine, &sql);
            }
            Step::Delete { pick } => {
                let sql = format!(
                    "DELETE FROM t WHERE ({key}) IN (SELECT {key} FROM t ORDER BY {key} LIMIT 1 OFFSET {})",
                    row_at(engine, *pick)
                );
                run(engine, &sql);
            }
            Step::Backup { incremental } => {
                let statement = if *incremental && !backups.is_empty() {
                    "BACKUP c INCREMENTAL"
                } else {
                    "BACKUP c"
                };
                let outcomes = engine
                    .execute(statement)
                    .unwrap_or_else(|e| panic!("{}", e.render()));
                let Some(Outcome::BackupTaken { manifest, .. }) = outcomes.last() else {
                    panic!("a backup expected")
                };
                backups.push((manifest.id.to_string(), strings(engine, &state_sql)));
            }
        }
    }
    for (id, state) in &backups {
        run(engine, "DROP TABLE t");
        run(engine, &format!("RESTORE c AT '{id}'"));
        prop_assert_eq!(&strings(engine, &state_sql), state, "backup {}", id);
    }
    // Nothing left for the next case, which shares the database.
    run(engine, "DROP TABLE t");
    run(engine, "DROP BACKUP COLLECTION c");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn every_backup_restores_exactly_on_sqlite((table, steps) in case()) {
        let dir = tempfile::tempdir().unwrap();
        let mut engine = Engine::open(dir.path().join("suite.db")).unwrap();
        check(&mut engine, Dialect::Sqlite, &table, &steps)?;
    }

    #[test]
    fn every_backup_restores_exactly_on_postgres((table, steps) in case()) {
        let url = postgres_database();
        let dir = tempfile::tempdir().unwrap();
        let options = EngineOptions { repository: Some(dir.path().join("repo")), ..EngineOptions::default() };
        let mut engine = Engine::connect(&url, options).unwrap_or_else(|e| panic!("{}", e.render()));
        check(&mut engine, Dialect::Postgres, &table, &steps)?;
    }
}

/// One database for this process's PostgreSQL cases (each case drops what it made).
fn postgres_database() -> String {
    static URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    URL.get_or_init(|| quiver_postgres::test_server::PgTestServer::shared().database("suite"))
        .clone()
}
