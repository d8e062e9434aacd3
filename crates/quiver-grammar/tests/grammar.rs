//! Integration tests for quiver-grammar: the YDB examples, error positions
//! and renderings, statement splitting, `is_complete`, and property tests.

use proptest::prelude::*;
use quiver_grammar::{
    AlterAction, CreateBackupCollection, EncryptionAlgorithm, KeepRules, ParseError,
    RestoreOptions, Schedule, SchemaChangePolicy, SettingKey, Settings, Span, Statement, Storage,
    is_complete, parse_schedule, parse_script, parse_statement, quote_ident,
};

#[test]
fn retention_settings_pins_and_prune() {
    let stmt = parse_statement(
        "ALTER BACKUP COLLECTION c SET (keep_last = '3', KEEP_DAILY = ' 7 ', KEEP_WITHIN = '1w3d')",
    )
    .unwrap();
    assert_eq!(
        stmt,
        Statement::AlterBackupCollection {
            name: "c".into(),
            action: AlterAction::Set(Settings {
                keep: KeepRules {
                    last: Some(3),
                    daily: Some(7),
                    within_hours: Some(240),
                    ..KeepRules::default()
                },
                ..Settings::default()
            }),
        }
    );
    assert_eq!(
        stmt.to_string(),
        "ALTER BACKUP COLLECTION c SET (KEEP_LAST = '3', KEEP_DAILY = '7', KEEP_WITHIN = '10d')"
    );
    assert_eq!(
        parse_statement("alter backup collection c pin '20261125T151429.123Z_full'").unwrap(),
        Statement::AlterBackupCollection {
            name: "c".into(),
            action: AlterAction::Pin("20261125T151429.123Z_full".into()),
        }
    );
    assert_eq!(
        parse_statement("PRUNE c DRY RUN").unwrap(),
        Statement::Prune {
            name: "c".into(),
            dry_run: true,
        }
    );
    assert_eq!(
        parse_statement("prune c").unwrap(),
        Statement::Prune {
            name: "c".into(),
            dry_run: false,
        }
    );
    for (bad, message, hint) in [
        (
            "ALTER BACKUP COLLECTION c SET (KEEP_LAST = '0')",
            "invalid value for `KEEP_LAST`",
            "a count from 1",
        ),
        (
            "ALTER BACKUP COLLECTION c SET (KEEP_HOURLY = 'many')",
            "invalid value for `KEEP_HOURLY`",
            "RESET ( KEEP_HOURLY ) removes the rule",
        ),
        (
            "ALTER BACKUP COLLECTION c SET (KEEP_WITHIN = '30m')",
            "invalid value for `KEEP_WITHIN`",
            "hours, days or weeks",
        ),
        (
            "ALTER BACKUP COLLECTION c SET (KEEP_WITHIN = '99999999999999999999d')",
            "invalid value for `KEEP_WITHIN`",
            "at most 1000 years",
        ),
        (
            "ALTER BACKUP COLLECTION c PIN",
            "a backup id string after `PIN`",
            "PIN 'backup-id'",
        ),
        ("PRUNE c DRY", "expected `RUN`", "PRUNE name DRY RUN"),
        (
            "PRUNE c NOW",
            "expected `DRY RUN`",
            "usage: PRUNE name [DRY RUN]",
        ),
    ] {
        let err = parse_statement(bad).unwrap_err();
        assert!(err.message.contains(message), "{bad}: {}", err.message);
        assert!(
            err.hint.as_deref().unwrap_or("").contains(hint),
            "{bad}: {:?}",
            err.hint
        );
    }
}

fn create(name: &str, tables: &[&str], settings: Settings) -> Statement {
    Statement::CreateBackupCollection(CreateBackupCollection {
        name: name.into(),
        tables: tables.iter().map(|t| t.to_string()).collect(),
        settings,
    })
}

fn nodes(src: &str) -> Vec<Statement> {
    parse_script(src)
        .unwrap()
        .into_iter()
        .map(|s| s.node)
        .collect()
}

fn err(src: &str) -> ParseError {
    match parse_script(src) {
        Ok(stmts) => panic!("expected an error for {src:?}, got {stmts:?}"),
        Err(e) => e,
    }
}

// ----- the YDB examples ---------------------------------------------------

#[test]
fn ydb_example_script() {
    let src = "CREATE BACKUP COLLECTION user_service_backups
    ( TABLE profiles
    , TABLE preferences
    , TABLE sessions
    )
WITH ( STORAGE = 'cluster', INCREMENTAL_BACKUP_ENABLED = 'true' );
BACKUP user_service_backups;
BACKUP user_service_backups INCREMENTAL;
RESTORE user_service_backups;
DROP BACKUP COLLECTION user_service_backups;
";
    let stmts = parse_script(src).unwrap();
    let name = "user_service_backups";
    let expected = vec![
        create(
            name,
            &["profiles", "preferences", "sessions"],
            Settings {
                storage: Some(Storage::Cluster),
                incremental_backup_enabled: Some(true),
                ..Settings::default()
            },
        ),
        Statement::Backup {
            name: name.into(),
            incremental: false,
        },
        Statement::Backup {
            name: name.into(),
            incremental: true,
        },
        Statement::Restore {
            name: name.into(),
            at: None,
            options: RestoreOptions::default(),
        },
        Statement::DropBackupCollection { name: name.into() },
    ];
    assert_eq!(
        stmts.iter().map(|s| s.node.clone()).collect::<Vec<_>>(),
        expected
    );
    let slices: Vec<&str> = stmts
        .iter()
        .map(|s| &src[s.span.start..s.span.end])
        .collect();
    assert!(slices[0].starts_with("CREATE BACKUP") && slices[0].ends_with("'true' )"));
    assert_eq!(slices[1], "BACKUP user_service_backups");
    assert_eq!(slices[4], "DROP BACKUP COLLECTION user_service_backups");
    assert!(is_complete(src));
}

#[test]
fn ydb_backquoted_example() {
    let src = "CREATE BACKUP COLLECTION `shop_backups` ( TABLE `/Root/shop/orders`, TABLE `/Root/shop/products` ) WITH ( STORAGE = 'cluster' );";
    assert_eq!(
        parse_statement(src),
        Ok(create(
            "shop_backups",
            &["/Root/shop/orders", "/Root/shop/products"],
            Settings {
                storage: Some(Storage::Cluster),
                incremental_backup_enabled: None,
                ..Settings::default()
            },
        ))
    );
}

#[test]
fn statement_forms() {
    let cases: Vec<(&str, Statement)> = vec![
        (
            "create backup collection c (table t) with (storage = 'S3://bucket/p', incremental_backup_enabled = 'FALSE',)",
            create(
                "c",
                &["t"],
                Settings {
                    storage: Some(Storage::External("S3://bucket/p".into())),
                    incremental_backup_enabled: Some(false),
                    ..Settings::default()
                },
            ),
        ),
        (
            "CREATE BACKUP COLLECTION c (TABLE \"a\"\"b\", TABLE `c``d`)",
            create("c", &["a\"b", "c`d"], Settings::default()),
        ),
        (
            "CREATE BACKUP COLLECTION table (TABLE with) WITH (STORAGE = 'file:///var/b')",
            create(
                "table",
                &["with"],
                Settings {
                    storage: Some(Storage::External("file:///var/b".into())),
                    incremental_backup_enabled: None,
                    ..Settings::default()
                },
            ),
        ),
        (
            "CREATE BACKUP COLLECTION данные (TABLE ünï_1$)",
            create("данные", &["ünï_1$"], Settings::default()),
        ),
        (
            "ALTER BACKUP COLLECTION c ADD TABLE t",
            Statement::AlterBackupCollection {
                name: "c".into(),
                action: AlterAction::AddTable("t".into()),
            },
        ),
        (
            "ALTER BACKUP COLLECTION c DROP TABLE `/x`",
            Statement::AlterBackupCollection {
                name: "c".into(),
                action: AlterAction::DropTable("/x".into()),
            },
        ),
        (
            "alter backup collection c set ( INCREMENTAL_BACKUP_ENABLED = 'true' , )",
            Statement::AlterBackupCollection {
                name: "c".into(),
                action: AlterAction::Set(Settings {
                    storage: None,
                    incremental_backup_enabled: Some(true),
                    ..Settings::default()
                }),
            },
        ),
        (
            "ALTER BACKUP COLLECTION c RESET (incremental_backup_enabled, Storage)",
            Statement::AlterBackupCollection {
                name: "c".into(),
                action: AlterAction::Reset(vec![
                    SettingKey::IncrementalBackupEnabled,
                    SettingKey::Storage,
                ]),
            },
        ),
        (
            "BACKUP `incremental` incremental",
            Statement::Backup {
                name: "incremental".into(),
                incremental: true,
            },
        ),
        (
            "backup at",
            Statement::Backup {
                name: "at".into(),
                incremental: false,
            },
        ),
        (
            "RESTORE at AT 'it''s 2026'",
            Statement::Restore {
                name: "at".into(),
                at: Some("it's 2026".into()),
                options: RestoreOptions::default(),
            },
        ),
        ("show backup collections", Statement::ShowBackupCollections),
        (
            "RESTORE shop AT 'x' WITH ( tables = 'orders , payments', Target_Prefix = 'old_', RENAME = 'payments=pay', FILTER = 'customer = ''ann''', DATABASE = 'copy.db', )",
            Statement::Restore {
                name: "shop".into(),
                at: Some("x".into()),
                options: RestoreOptions {
                    tables: Some(vec!["orders".into(), "payments".into()]),
                    target_prefix: Some("old_".into()),
                    rename: vec![("payments".into(), "pay".into())],
                    filter: Some("customer = 'ann'".into()),
                    database: Some("copy.db".into()),
                },
            },
        ),
        (
            "QUERY AT 'x' SELECT a FROM c.t WHERE b = ';' -- done",
            Statement::Query {
                at: Some("x".into()),
                sql: "SELECT a FROM c.t WHERE b = ';'".into(),
            },
        ),
        (
            "query select 1",
            Statement::Query {
                at: None,
                sql: "select 1".into(),
            },
        ),
        (
            "SHOW BACKUPS IN `order service`",
            Statement::ShowBackups {
                name: "order service".into(),
            },
        ),
        (
            "VERIFY c AT '20261125T151429.123Z_full'",
            Statement::Verify {
                name: "c".into(),
                at: Some("20261125T151429.123Z_full".into()),
            },
        ),
        (
            "verify c",
            Statement::Verify {
                name: "c".into(),
                at: None,
            },
        ),
        (
            "/* lead */ RESTORE c -- trail",
            Statement::Restore {
                name: "c".into(),
                at: None,
                options: RestoreOptions::default(),
            },
        ),
        (
            "DROP BACKUP COLLECTION \"x y\";",
            Statement::DropBackupCollection { name: "x y".into() },
        ),
    ];
    for (src, expected) in cases {
        assert_eq!(parse_statement(src), Ok(expected.clone()), "{src}");
        // Canonical text parses back to the same statement.
        assert_eq!(
            parse_statement(&expected.to_string()),
            Ok(expected),
            "{src}"
        );
    }
}

// ----- errors ---------------------------------------------------------------

#[test]
fn error_missing_table_keyword() {
    let e = err("CREATE BACKUP COLLECTION user_service_backups\n    ( tabel profiles\n    );");
    assert_eq!((e.line, e.column), (2, 7));
    assert_eq!(
        e.to_string(),
        "line 2, column 7: expected `TABLE`, found `tabel`"
    );
    assert_eq!(
        e.render(),
        "error: expected `TABLE`, found `tabel`
 --> line 2, column 7
  |
2 |     ( tabel profiles
  |       ^^^^^
  = hint: each table in a collection is written `TABLE name`
"
    );
}

#[test]
fn error_bad_value() {
    let e = err("CREATE BACKUP COLLECTION c (TABLE t)\nWITH (STORAGE = 'disk');");
    assert_eq!((e.line, e.column), (2, 17));
    assert_eq!(
        e.render(),
        "error: invalid value for `STORAGE`: 'disk'
 --> line 2, column 17
  |
2 | WITH (STORAGE = 'disk');
  |                 ^^^^^^
  = hint: STORAGE is 'cluster' or an external location starting with file:// or s3://
"
    );
    let e = err("ALTER BACKUP COLLECTION c SET (INCREMENTAL_BACKUP_ENABLED = 'yes')");
    assert_eq!(
        e.message,
        "invalid value for `INCREMENTAL_BACKUP_ENABLED`: 'yes'"
    );
    assert_eq!(e.column, 61);
    assert_eq!(
        e.hint.as_deref(),
        Some("INCREMENTAL_BACKUP_ENABLED is 'true' or 'false'")
    );
    assert_eq!(
        err("CREATE BACKUP COLLECTION c (TABLE t) WITH (STORAGE = 's3://')").column,
        54
    );
}

#[test]
fn error_unquoted_value() {
    let e =
        err("CREATE BACKUP COLLECTION c (TABLE t) WITH (\n  INCREMENTAL_BACKUP_ENABLED = true\n)");
    assert_eq!((e.line, e.column), (2, 32));
    assert_eq!(
        e.render(),
        "error: expected a string literal as the value of `INCREMENTAL_BACKUP_ENABLED`, found `true`
 --> line 2, column 32
  |
2 |   INCREMENTAL_BACKUP_ENABLED = true
  |                                ^^^^
  = hint: setting values are string literals: INCREMENTAL_BACKUP_ENABLED = 'true'
"
    );
    let e = err("CREATE BACKUP COLLECTION c (TABLE t) WITH (STORAGE = 42)");
    assert_eq!(
        e.message,
        "expected a string literal as the value of `STORAGE`, found `42`"
    );
    assert_eq!(
        e.hint.as_deref(),
        Some("setting values are string literals: STORAGE = 'cluster'")
    );
}

#[test]
fn error_duplicate_key() {
    let e = err(
        "CREATE BACKUP COLLECTION c (TABLE t)\nWITH (STORAGE = 'cluster',\n      storage = 'cluster')",
    );
    assert_eq!((e.line, e.column), (3, 7));
    assert_eq!(
        e.render(),
        "error: setting `STORAGE` is given twice
 --> line 3, column 7
  |
3 |       storage = 'cluster')
  |       ^^^^^^^
  = hint: it was first given at line 2, column 7
"
    );
    let e = err("ALTER BACKUP COLLECTION c RESET (STORAGE, Storage)");
    assert_eq!(e.message, "setting `STORAGE` is given twice");
    assert_eq!(e.column, 43);
}

#[test]
fn error_unknown_key() {
    let e = err(
        "CREATE BACKUP COLLECTION c (TABLE t) WITH (STORAGE = 'cluster', COMPRESSION = 'zstd')",
    );
    assert_eq!((e.line, e.column), (1, 65));
    assert_eq!(
        e.render(),
        "error: unknown setting `COMPRESSION`
 --> line 1, column 65
  |
1 | CREATE BACKUP COLLECTION c (TABLE t) WITH (STORAGE = 'cluster', COMPRESSION = 'zstd')
  |                                                                 ^^^^^^^^^^^
  = hint: the known settings are STORAGE, INCREMENTAL_BACKUP_ENABLED, KEEP_LAST, KEEP_HOURLY, KEEP_DAILY, KEEP_WEEKLY, KEEP_MONTHLY, KEEP_YEARLY, KEEP_WITHIN, BACKUP_SCHEDULE, FULL_BACKUP_SCHEDULE, TIMEZONE, ON_SCHEMA_CHANGE, COMPACT_AFTER, ENCRYPTION and ENCRYPTION_KEY_FILE
"
    );
    assert_eq!(
        err("ALTER BACKUP COLLECTION c RESET (color)").message,
        "unknown setting `color`"
    );
}

#[test]
fn error_unterminated_string() {
    let e = err("BACKUP a;\nRESTORE a AT '2026-01-01;\nBACKUP b;");
    assert_eq!((e.line, e.column), (2, 14));
    assert_eq!(
        e.render(),
        "error: unterminated string literal
 --> line 2, column 14
  |
2 | RESTORE a AT '2026-01-01;
  |              ^
  = hint: end the string with `'`; write `''` for a quote inside it
"
    );
    // Also inside plain SQL, and for comments and quoted identifiers.
    assert_eq!(err("SELECT 1; SELECT 'x").column, 18);
    let e = err("SELECT 1 /* never closed");
    assert_eq!(
        (e.column, e.message.as_str()),
        (10, "unterminated block comment")
    );
    let e = err("é `abc");
    assert_eq!(
        (e.column, e.message.as_str()),
        (3, "unterminated quoted identifier")
    );
}

#[test]
fn error_missing_close_paren() {
    let e = err("CREATE BACKUP COLLECTION c\n  ( TABLE a, TABLE b\nWITH ( STORAGE = 'cluster' );");
    assert_eq!((e.line, e.column), (3, 1));
    assert_eq!(
        e.render(),
        "error: expected `,` or `)` after the table name, found `WITH`
 --> line 3, column 1
  |
3 | WITH ( STORAGE = 'cluster' );
  | ^^^^
  = hint: the `(` at line 2, column 3 is never closed
"
    );
    let e = err("CREATE BACKUP COLLECTION c (TABLE a) WITH (STORAGE = 'cluster'");
    assert_eq!(
        e.message,
        "expected `,` or `)` after the value of `STORAGE`, found end of input"
    );
    assert_eq!(e.column, 63);
    assert_eq!(
        e.hint.as_deref(),
        Some("the `(` at line 1, column 43 is never closed")
    );
    let e = err("CREATE BACKUP COLLECTION c (TABLE a;");
    assert_eq!(
        (e.column, e.message.as_str()),
        (36, "expected `,` or `)` after the table name, found `;`")
    );
    let e = err("CREATE BACKUP COLLECTION c (TABLE a TABLE b)");
    assert_eq!(e.hint.as_deref(), Some("separate the tables with `,`"));
}

#[test]
fn error_garbage_after_statement() {
    let e = err("BACKUP c INCREMENTAL now;");
    assert_eq!((e.line, e.column), (1, 22));
    assert_eq!(
        e.render(),
        "error: expected `;` or end of input, found `now`
 --> line 1, column 22
  |
1 | BACKUP c INCREMENTAL now;
  |                      ^^^
  = hint: usage: BACKUP name [INCREMENTAL]
"
    );
    let e = err("DROP BACKUP COLLECTION c CASCADE");
    assert_eq!(e.message, "expected `;` or end of input, found `CASCADE`");
    assert_eq!(
        e.hint.as_deref(),
        Some("usage: DROP BACKUP COLLECTION name")
    );
    let e = err("CREATE BACKUP COLLECTION c (TABLE t) WTIH (STORAGE = 'cluster')");
    assert_eq!(
        e.message,
        "expected `WITH`, `;` or end of input, found `WTIH`"
    );
    let e = err("RESTORE c 'id'");
    assert_eq!(
        e.message,
        "expected `AT`, `WITH`, `;` or end of input, found 'id'"
    );
}

#[test]
fn error_missing_semicolon_between_statements() {
    let e = err("BACKUP a\nBACKUP b;");
    assert_eq!((e.line, e.column), (2, 1));
    assert_eq!(
        e.render(),
        "error: expected `INCREMENTAL`, `;` or end of input, found `BACKUP`
 --> line 2, column 1
  |
2 | BACKUP b;
  | ^^^^^^
  = hint: statements are separated by `;`: is one missing before `BACKUP`?
"
    );
    let e = err("RESTORE a AT 'x'\nselect 1");
    assert_eq!((e.line, e.column), (2, 1));
    assert!(e.hint.unwrap().contains("`;`"));
}

#[test]
fn other_errors() {
    let cases: &[(&str, usize, &str)] = &[
        (
            "CREATE BACKUP COLLECTION",
            25,
            "expected a collection name, found end of input",
        ),
        ("CREATE BACKUP c", 15, "expected `COLLECTION`, found `c`"),
        (
            "CREATE BACKUP COLLECTION c TABLE t",
            28,
            "expected `(` and the list of tables, found `TABLE`",
        ),
        (
            "CREATE BACKUP COLLECTION c ()",
            29,
            "expected `TABLE`, found `)`",
        ),
        (
            "CREATE BACKUP COLLECTION c (TABLE t, )",
            38,
            "expected `TABLE`, found `)`",
        ),
        (
            "CREATE BACKUP COLLECTION c (TABLE t, TABLE t)",
            44,
            "table `t` is listed twice",
        ),
        (
            "CREATE BACKUP COLLECTION c (TABLE 't')",
            35,
            "expected a table name, found 't'",
        ),
        (
            "CREATE BACKUP COLLECTION c (TABLE [t])",
            35,
            "expected a table name, found [t]",
        ),
        (
            "CREATE BACKUP COLLECTION `` (TABLE t)",
            26,
            "expected a collection name, found an empty identifier",
        ),
        (
            "CREATE BACKUP COLLECTION c (TABLE t) WITH ()",
            44,
            "expected a setting name, found `)`",
        ),
        (
            "CREATE BACKUP COLLECTION c (TABLE t) WITH STORAGE = 'cluster'",
            43,
            "expected `(` and the settings, found `STORAGE`",
        ),
        (
            "CREATE BACKUP COLLECTION c (TABLE t) WITH (STORAGE 'cluster')",
            52,
            "expected `=` after `STORAGE`, found 'cluster'",
        ),
        (
            "CREATE BACKUP COLLECTION c (TABLE t) WITH (STORAGE = 'cluster' x)",
            64,
            "expected `,` or `)` after the value of `STORAGE`, found `x`",
        ),
        (
            "CREATE BACKUP COLLECTION c (TABLE t) WITH (STORAGE = 'cluster'),",
            64,
            "expected `;` or end of input, found `,`",
        ),
        (
            "ALTER BACKUP COLLECTION c RENAME TO d",
            27,
            "expected `ADD TABLE`, `DROP TABLE`, `SET`, `RESET`, `PIN` or `UNPIN`, found `RENAME`",
        ),
        (
            "ALTER BACKUP COLLECTION c ADD t",
            31,
            "expected `TABLE`, found `t`",
        ),
        (
            "ALTER BACKUP COLLECTION c SET (STORAGE = 'cluster', STORAGE = 'cluster')",
            53,
            "setting `STORAGE` is given twice",
        ),
        (
            "ALTER BACKUP COLLECTION c RESET ()",
            34,
            "expected a setting name, found `)`",
        ),
        (
            "ALTER BACKUP COLLECTION c RESET (STORAGE = 'x')",
            42,
            "expected `,` or `)` after `STORAGE`, found `=`",
        ),
        (
            "BACKUP",
            7,
            "expected a collection name, found end of input",
        ),
        ("BACKUP;", 7, "expected a collection name, found `;`"),
        (
            "BACKUP INCREMENTAL",
            8,
            "expected a collection name, found `INCREMENTAL`",
        ),
        (
            "BACKUP COLLECTION c",
            19,
            "expected `INCREMENTAL`, `;` or end of input, found `c`",
        ),
        (
            "RESTORE c AT",
            13,
            "expected a backup id string after `AT`, found end of input",
        ),
        (
            "RESTORE c AT latest",
            14,
            "expected a backup id string after `AT`, found `latest`",
        ),
        ("RESTORE c AT ''", 14, "the backup id after `AT` is empty"),
        (
            "DROP BACKUP COLLECTION 'c'",
            24,
            "expected a collection name, found 'c'",
        ),
        (
            "SHOW BACKUP COLLECTION",
            13,
            "expected `COLLECTIONS`, found `COLLECTION`",
        ),
        ("SHOW BACKUPS orders", 14, "expected `IN`, found `orders`"),
        (
            "SHOW BACKUPS IN a b",
            19,
            "expected `;` or end of input, found `b`",
        ),
        (
            "VERIFY",
            7,
            "expected a collection name, found end of input",
        ),
        (
            "VERIFY c AT 5",
            13,
            "expected a backup id string after `AT`, found `5`",
        ),
    ];
    for &(src, column, message) in cases {
        let e = err(src);
        assert_eq!(
            (e.line, e.column, e.message.as_str()),
            (1, column, message),
            "{src}"
        );
        assert!(e.render().contains('^'));
    }
    assert_eq!(
        err("BACKUP COLLECTION c").hint.as_deref(),
        Some("write BACKUP name, without COLLECTION")
    );
    assert_eq!(
        err("RESTORE COLLECTION c").hint.as_deref(),
        Some("write RESTORE name, without COLLECTION")
    );
    assert_eq!(
        parse_statement("RESTORE collection AT 'x'"),
        Ok(Statement::Restore {
            name: "collection".into(),
            at: Some("x".into()),
            options: RestoreOptions::default(),
        })
    );
}

#[test]
fn parse_statement_wants_exactly_one() {
    let e = parse_statement("  -- nothing\n").unwrap_err();
    assert_eq!(e.message, "expected a statement, found end of input");
    assert_eq!((e.line, e.column), (2, 1));
    let e = parse_statement("BACKUP a;\n  BACKUP b;").unwrap_err();
    assert_eq!((e.line, e.column), (2, 3));
    assert_eq!(e.span, Span::new(12, 20));
    assert_eq!(
        parse_statement(";;BACKUP a;;"),
        Ok(Statement::Backup {
            name: "a".into(),
            incremental: false
        })
    );
}

// ----- splitting ------------------------------------------------------------

#[test]
fn sql_passes_through_exactly() {
    let src = "-- header comment\n  SELECT 'a;b', \"c;d\", `e;f`, [g;h] /* ; */ FROM t -- tail ;\n;\n\
               INSERT INTO t VALUES (1);BACKUP c;PRAGMA x\n";
    let stmts = parse_script(src).unwrap();
    assert_eq!(stmts.len(), 4);
    assert_eq!(
        stmts[0].node,
        Statement::Sql("SELECT 'a;b', \"c;d\", `e;f`, [g;h] /* ; */ FROM t".into())
    );
    assert_eq!(
        stmts[1].node,
        Statement::Sql("INSERT INTO t VALUES (1)".into())
    );
    assert_eq!(
        stmts[2].node,
        Statement::Backup {
            name: "c".into(),
            incremental: false
        }
    );
    assert_eq!(stmts[3].node, Statement::Sql("PRAGMA x".into()));
    for s in &stmts {
        if let Statement::Sql(text) = &s.node {
            assert_eq!(&src[s.span.start..s.span.end], text);
        }
    }
    assert!(!is_complete(src));
}

#[test]
fn sql_lookalikes_stay_sql() {
    for src in [
        "CREATE TABLE backup (x)",
        "CREATE \"BACKUP\" COLLECTION x",
        "DROP TABLE restore",
        "ALTER TABLE backup ADD COLUMN y",
        "SELECT backup FROM restore",
        "EXPLAIN BACKUP x",
    ] {
        assert_eq!(
            parse_statement(src),
            Ok(Statement::Sql(src.into())),
            "{src}"
        );
    }
}

#[test]
fn trigger_bodies_are_one_statement() {
    let trigger = "CREATE TEMPORARY TRIGGER audit AFTER UPDATE ON orders\nBEGIN\n  \
                   INSERT INTO log VALUES (CASE WHEN new.total > 10 THEN 'big;' ELSE 'small' END);\n  \
                   UPDATE stats SET n = CASE n WHEN NULL THEN 1 ELSE (CASE WHEN n > 0 THEN n + 1 END) END;\n\
                   END";
    let src = format!("BACKUP c;\n{trigger};\nSELECT 1;\nbegin; commit;");
    let got = nodes(&src);
    assert_eq!(
        got,
        vec![
            Statement::Backup {
                name: "c".into(),
                incremental: false
            },
            Statement::Sql(trigger.into()),
            Statement::Sql("SELECT 1".into()),
            Statement::Sql("begin".into()),
            Statement::Sql("commit".into()),
        ]
    );
    assert!(is_complete(&src));
    // Incomplete while the body is open.
    let open = "CREATE TRIGGER t AFTER INSERT ON x BEGIN SELECT CASE WHEN 1 THEN 2 END;";
    assert!(!is_complete(open));
    assert!(is_complete(&format!("{open} END;")));
    assert_eq!(
        nodes(&format!("{open} END")),
        vec![Statement::Sql(format!("{open} END"))]
    );
}

#[test]
fn is_complete_cases() {
    for src in [
        "",
        "   ",
        "-- c",
        "/* c */",
        ";",
        "SELECT 1;",
        "SELECT 1; -- done",
        "BACKUP c;\n",
        "SELECT ';';",
        "BACKUP c; ;",
    ] {
        assert!(is_complete(src), "{src:?}");
    }
    for src in [
        "SELECT 1",
        "SELECT 1; SELECT 2",
        "SELECT ';",
        "SELECT \"a;",
        "SELECT `a;",
        "SELECT [a;",
        "SELECT 1 /* ;",
        "SELECT 1 -- ;",
        "CREATE TRIGGER t AFTER INSERT ON x BEGIN DELETE FROM y;",
    ] {
        assert!(!is_complete(src), "{src:?}");
    }
    // Syntax errors do not matter: the shell will report them on submit.
    assert!(is_complete("BACKUP;"));
}

#[test]
fn located_spans_cover_statements() {
    let src = "  BACKUP  a ; /* x */ RESTORE b AT 'id'";
    let stmts = parse_script(src).unwrap();
    assert_eq!(stmts[0].span, Span::new(2, 11));
    assert_eq!(
        &src[stmts[1].span.start..stmts[1].span.end],
        "RESTORE b AT 'id'"
    );
}

// ----- property tests -------------------------------------------------------

const KEYWORDS: &[&str] = &[
    "ADD",
    "ALTER",
    "AT",
    "BACKUP",
    "COLLECTION",
    "CREATE",
    "DROP",
    "INCREMENTAL",
    "INCREMENTAL_BACKUP_ENABLED",
    "RESET",
    "RESTORE",
    "SET",
    "STORAGE",
    "TABLE",
    "WITH",
];

fn keyword() -> impl Strategy<Value = String> {
    (
        prop::sample::select(KEYWORDS),
        prop::collection::vec(any::<bool>(), 32),
    )
        .prop_map(|(k, upper)| {
            k.chars()
                .zip(upper)
                .map(|(c, u)| {
                    if u {
                        c.to_ascii_uppercase()
                    } else {
                        c.to_ascii_lowercase()
                    }
                })
                .collect()
        })
}

fn ident() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[A-Za-z_][A-Za-z0-9_$]{0,10}",
        2 => keyword(),
        1 => "[a-zé日ß_][a-z0-9ü日_$]{0,6}",
        2 => "[a-z/`'\";\\- ]{1,10}",
        1 => "\\PC{1,8}",
        1 => any::<String>().prop_filter("non-empty", |s| !s.is_empty()),
    ]
}

fn text_value() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z0-9/' ;.-]{1,12}", "\\PC{1,8}"]
}

fn storage() -> impl Strategy<Value = Storage> {
    prop_oneof![
        Just(Storage::Cluster),
        (
            prop::sample::select(vec!["file://", "s3://", "S3://", "FILE://"]),
            text_value()
        )
            .prop_map(|(scheme, rest)| Storage::External(format!("{scheme}{rest}"))),
    ]
}

fn settings() -> impl Strategy<Value = Settings> {
    let count = || prop::option::of(1u32..=1_000_000);
    let keep = (
        (count(), count(), count()),
        (count(), count(), count()),
        prop::option::of(1u64..=quiver_grammar::MAX_WITHIN_HOURS),
    )
        .prop_map(
            |((last, hourly, daily), (weekly, monthly, yearly), within_hours)| KeepRules {
                last,
                hourly,
                daily,
                weekly,
                monthly,
                yearly,
                within_hours,
            },
        );
    let lifecycle = (
        prop::option::of(schedule()),
        prop::option::of(schedule()),
        prop::option::of(prop::sample::select(vec![
            "UTC",
            "Europe/Berlin",
            "Etc/GMT+5",
        ])),
        prop::option::of(prop::sample::select(vec![
            SchemaChangePolicy::Full,
            SchemaChangePolicy::Refuse,
        ])),
        prop::option::of(1u32..=1_000_000),
    )
        .boxed();
    let encryption = (
        prop::option::of(prop::sample::select(vec![
            EncryptionAlgorithm::None,
            EncryptionAlgorithm::Aes256Gcm,
        ])),
        prop::option::of("/[a-z' ]{1,12}/k"),
    );
    (
        prop::option::of(storage()),
        prop::option::of(any::<bool>()),
        keep,
        lifecycle,
        encryption,
    )
        .prop_map(
            |(
                storage,
                incremental_backup_enabled,
                keep,
                (backup_schedule, full_backup_schedule, timezone, on_schema_change, compact_after),
                (encryption, encryption_key_file),
            )| Settings {
                storage,
                incremental_backup_enabled,
                keep,
                backup_schedule,
                full_backup_schedule,
                timezone: timezone.map(str::to_string),
                on_schema_change,
                compact_after,
                encryption,
                encryption_key_file,
            },
        )
}

/// Schedules as users write them: shorthands, intervals, and cron fields of every form.
fn schedule() -> impl Strategy<Value = Schedule> {
    let cron_field = |max: u32| {
        prop_oneof![
            Just("*".to_string()),
            (1..=max).prop_map(|s| format!("*/{s}")),
            (0..=max).prop_map(|v| v.to_string()),
            (0..=max, 0..=max).prop_map(|(a, b)| format!("{}-{}", a.min(b), a.max(b))),
            (0..=max, 0..=max, 1..=max).prop_map(|(a, b, s)| format!(
                "{}-{}/{s}",
                a.min(b),
                a.max(b)
            )),
            (0..=max, 0..=max).prop_map(|(a, b)| format!("{a},{b}")),
        ]
        .boxed()
    };
    let cron = (
        cron_field(59),
        cron_field(23),
        cron_field(30).prop_map(|f| shift_one_up(&f)),
        cron_field(11).prop_map(|f| shift_one_up(&f)),
        cron_field(7),
    )
        .prop_map(|(m, h, d, mo, w)| format!("{m} {h} {d} {mo} {w}"));
    prop_oneof![
        prop::sample::select(vec!["@hourly", "@daily", "@weekly", "@monthly", "@yearly"])
            .prop_map(str::to_string),
        prop::sample::select(vec![1u32, 5, 15, 30, 90, 120, 360, 1440])
            .prop_map(|m| format!("every {m}m")),
        cron,
    ]
    .prop_map(|text| parse_schedule(&text).unwrap_or_else(|e| panic!("{text}: {e}")))
    .boxed()
}

/// A cron field over 0-based values, moved to 1-based (days, months): every number + 1.
fn shift_one_up(field: &str) -> String {
    let mut out = String::new();
    let mut number = String::new();
    let mut after_slash = false;
    for c in field.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        if !number.is_empty() {
            let n: u32 = number.parse().unwrap();
            out.push_str(&if after_slash { n } else { n + 1 }.to_string());
            number.clear();
        }
        after_slash = c == '/';
        if c != ' ' {
            out.push(c);
        }
    }
    out
}

fn restore_options() -> impl Strategy<Value = RestoreOptions> {
    let name = "[a-z][a-z0-9_]{0,6}";
    (
        prop::option::of(prop::collection::vec(name, 1..3)),
        prop::option::of(name),
        prop::collection::vec((name, name), 0..2),
        prop::option::of("[a-z0-9 =<>']{1,12}".prop_filter("not blank", |f| !f.trim().is_empty())),
        prop::option::of("[a-z./]{1,8}"),
    )
        .prop_map(
            |(tables, target_prefix, rename, filter, database)| RestoreOptions {
                tables,
                target_prefix,
                rename,
                filter: filter.map(|f| f.trim().to_string()),
                database,
            },
        )
}

fn unique(names: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in names {
        if !out.contains(&n) {
            out.push(n);
        }
    }
    out
}

fn alter_action() -> impl Strategy<Value = AlterAction> {
    prop_oneof![
        ident().prop_map(AlterAction::AddTable),
        ident().prop_map(AlterAction::DropTable),
        settings()
            .prop_filter("SET needs a setting", |s| !s.is_empty())
            .prop_map(AlterAction::Set),
        prop::sample::subsequence(SettingKey::ALL.to_vec(), 1..=2)
            .prop_shuffle()
            .prop_map(AlterAction::Reset),
        text_value()
            .prop_filter("an id", |id| !id.is_empty())
            .prop_map(AlterAction::Pin),
        text_value()
            .prop_filter("an id", |id| !id.is_empty())
            .prop_map(AlterAction::Unpin),
    ]
}

fn statement() -> impl Strategy<Value = Statement> {
    prop_oneof![
        (ident(), prop::collection::vec(ident(), 1..5), settings()).prop_map(
            |(name, tables, settings)| {
                Statement::CreateBackupCollection(CreateBackupCollection {
                    name,
                    tables: unique(tables),
                    settings,
                })
            }
        ),
        ident().prop_map(|name| Statement::DropBackupCollection { name }),
        (ident(), alter_action())
            .prop_map(|(name, action)| Statement::AlterBackupCollection { name, action }),
        (ident(), any::<bool>())
            .prop_map(|(name, incremental)| Statement::Backup { name, incremental }),
        (ident(), prop::option::of(text_value()), restore_options())
            .prop_map(|(name, at, options)| Statement::Restore { name, at, options }),
        Just(Statement::ShowBackupCollections),
        (prop::option::of(text_value()), any::<u32>()).prop_map(|(at, n)| Statement::Query {
            at,
            sql: format!("SELECT {n} FROM c.t"),
        }),
        ident().prop_map(|name| Statement::ShowBackups { name }),
        Just(Statement::ShowSchedules),
        (ident(), prop::option::of(text_value()))
            .prop_map(|(name, at)| Statement::Compact { name, at }),
        prop::option::of(ident()).prop_map(|name| Statement::ShowOperations { name }),
        (ident(), prop::option::of(text_value()))
            .prop_map(|(name, at)| Statement::Verify { name, at }),
        (ident(), any::<bool>()).prop_map(|(name, dry_run)| Statement::Prune { name, dry_run }),
        any::<u32>().prop_map(|n| Statement::Sql(format!("SELECT {n}"))),
    ]
}

/// Calls every entry point and renders any error; must never panic.
fn exercise(src: &str) {
    match parse_script(src) {
        Ok(stmts) => {
            for s in stmts {
                assert!(s.span.start <= s.span.end && s.span.end <= src.len());
                assert!(src.is_char_boundary(s.span.start) && src.is_char_boundary(s.span.end));
                let _ = s.node.to_string();
            }
        }
        Err(e) => {
            assert!(e.line >= 1 && e.column >= 1);
            assert!(e.render().contains('^'));
            let _ = e.to_string();
        }
    }
    if let Err(e) = parse_statement(src) {
        let _ = e.render();
    }
    let _ = is_complete(src);
}

#[derive(Debug, Clone)]
enum Mutation {
    Insert(usize, char),
    Delete(usize),
    Truncate(usize),
    Duplicate(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let interesting = prop::sample::select(vec![
        '\'', '"', '`', '[', ']', '(', ')', ';', ',', '=', '-', '/', '*', ' ', '\n', 'é', 'x',
    ]);
    prop_oneof![
        (any::<usize>(), prop_oneof![interesting, any::<char>()])
            .prop_map(|(i, c)| Mutation::Insert(i, c)),
        any::<usize>().prop_map(Mutation::Delete),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::Duplicate(a, b)),
    ]
}

fn apply(src: &str, m: &Mutation) -> String {
    let mut chars: Vec<char> = src.chars().collect();
    let n = chars.len();
    match *m {
        Mutation::Insert(i, c) => chars.insert(i % (n + 1), c),
        Mutation::Delete(i) if n > 0 => {
            chars.remove(i % n);
        }
        Mutation::Truncate(i) => chars.truncate(i % (n + 1)),
        Mutation::Duplicate(a, b) if n > 0 => {
            let (a, b) = (a % n, b % n);
            let (lo, hi) = (a.min(b), a.max(b));
            let piece: Vec<char> = chars[lo..=hi].to_vec();
            chars.splice(hi + 1..hi + 1, piece);
        }
        _ => {}
    }
    chars.into_iter().collect()
}

/// Cases per property: 512, or `QUIVER_GRAMMAR_CASES` for longer runs.
fn cases() -> u32 {
    std::env::var("QUIVER_GRAMMAR_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn display_round_trips(stmt in statement()) {
        let text = stmt.to_string();
        prop_assert_eq!(parse_statement(&text), Ok(stmt.clone()), "{}", text);
        prop_assert_eq!(parse_statement(&format!("{text};")), Ok(stmt), "{}", text);
        let terminated = format!("{text};");
        prop_assert!(!is_complete(&text));
        prop_assert!(is_complete(&terminated));
    }

    #[test]
    fn scripts_round_trip(stmts in prop::collection::vec(statement(), 0..6)) {
        let src: String = stmts.iter().map(|s| format!("{s};\n")).collect();
        let parsed = parse_script(&src).unwrap();
        prop_assert_eq!(parsed.iter().map(|s| s.node.clone()).collect::<Vec<_>>(), stmts);
        for (located, text) in parsed.iter().zip(src.lines()) {
            prop_assert_eq!(&src[located.span.start..located.span.end], text.trim_end_matches(';'));
        }
    }

    #[test]
    fn quote_ident_is_readable(name in ident()) {
        let quoted = quote_ident(&name);
        let stmt = Statement::Backup { name: name.clone(), incremental: false };
        prop_assert_eq!(parse_statement(&format!("BACKUP {quoted}")), Ok(stmt));
    }

    #[test]
    fn arbitrary_strings_never_panic(src in any::<String>()) {
        exercise(&src);
    }

    #[test]
    fn sqlish_strings_never_panic(src in "[a-zA-Z_ ;'\"`\\[\\]()=,*/\\-\né日]{0,80}") {
        exercise(&src);
    }

    #[test]
    fn mutated_scripts_never_panic(
        stmts in prop::collection::vec(statement(), 1..4),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let mut src: String = stmts.iter().map(|s| format!("{s};\n")).collect();
        for m in &mutations {
            src = apply(&src, m);
        }
        exercise(&src);
    }
}

#[test]
fn deeply_nested_input_does_not_overflow() {
    let parens = format!("SELECT {}1{}", "(".repeat(100_000), ")".repeat(100_000));
    assert_eq!(nodes(&parens).len(), 1);
    let cases = format!(
        "CREATE TRIGGER t AFTER INSERT ON x BEGIN {} ;",
        "CASE ".repeat(100_000)
    );
    assert!(!is_complete(&cases));
    exercise(&"(".repeat(100_000));
}

#[test]
fn table_names_may_name_their_schema() {
    let statements = quiver_grammar::parse_script(
        "CREATE BACKUP COLLECTION c ( TABLE sales.orders, TABLE \"Odd\".t ); ALTER BACKUP COLLECTION c ADD TABLE public.x",
    )
    .unwrap();
    let printed: Vec<String> = statements.iter().map(|s| s.node.to_string()).collect();
    assert!(
        printed[0].contains("sales.orders") && printed[0].contains("Odd.t"),
        "{printed:?}"
    );
    for statement in &statements {
        let again = quiver_grammar::parse_script(&statement.node.to_string()).unwrap();
        assert_eq!(again[0].node, statement.node);
    }
}

#[test]
fn schedule_settings_and_statements() {
    let stmt = parse_statement(
        "ALTER BACKUP COLLECTION c SET (BACKUP_SCHEDULE = '@hourly', full_backup_schedule = '0 3 * * sun', \
         TIMEZONE = 'Europe/Berlin', ON_SCHEMA_CHANGE = 'REFUSE')",
    )
    .unwrap();
    let Statement::AlterBackupCollection {
        action: AlterAction::Set(settings),
        ..
    } = &stmt
    else {
        panic!("{stmt:?}")
    };
    assert_eq!(
        settings.backup_schedule,
        Some(parse_schedule("0 * * * *").unwrap())
    );
    assert_eq!(
        settings.full_backup_schedule.unwrap().to_string(),
        "0 3 * * 0"
    );
    assert_eq!(settings.timezone.as_deref(), Some("Europe/Berlin"));
    assert_eq!(settings.on_schema_change, Some(SchemaChangePolicy::Refuse));
    assert_eq!(
        stmt.to_string(),
        "ALTER BACKUP COLLECTION c SET (BACKUP_SCHEDULE = '0 * * * *', FULL_BACKUP_SCHEDULE = '0 3 * * 0', \
         TIMEZONE = 'Europe/Berlin', ON_SCHEMA_CHANGE = 'refuse')"
    );
    assert_eq!(
        parse_statement("SHOW OPERATIONS IN c").unwrap(),
        Statement::ShowOperations {
            name: Some("c".into())
        }
    );
    assert_eq!(
        parse_statement("show schedules").unwrap(),
        Statement::ShowSchedules
    );
    assert!(matches!(
        parse_statement("CREATE BACKUP COLLECTION c (TABLE t) WITH (BACKUP_SCHEDULE = 'every 15m')")
            .unwrap(),
        Statement::CreateBackupCollection(c) if c.settings.backup_schedule == Some(Schedule::Every { minutes: 15 })
    ));
    for (bad, hint) in [
        ("BACKUP_SCHEDULE = 'every 7m'", "divide a day"),
        ("BACKUP_SCHEDULE = '0 25 * * *'", "outside 0-23"),
        ("TIMEZONE = 'Berlin time'", "IANA"),
        ("ON_SCHEMA_CHANGE = 'ignore'", "'refuse'"),
        ("KEEP_LAST = '+3'", "a count from 1"),
        ("COMPACT_AFTER = '-1'", "COMPACT_AFTER is a number"),
        ("KEEP_WITHIN = '1d1d'", "KEEP_WITHIN is a number"),
        ("KEEP_WITHIN = '3d1w'", "KEEP_WITHIN is a number"),
    ] {
        let err = parse_statement(&format!("ALTER BACKUP COLLECTION c SET ({bad})")).unwrap_err();
        let text = format!("{}{:?}", err.render(), err.hint);
        assert!(text.contains(hint), "{bad}: {text}");
    }
}
