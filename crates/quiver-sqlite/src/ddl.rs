//! The DDL a restore runs, checked before anything runs.
//!
//! A manifest's `CREATE TABLE`, `CREATE INDEX` and `CREATE TRIGGER` strings come from a
//! backup location, which anyone who can write to it can forge. A restore runs them only
//! after [`check_table_ddl`] has found each to be exactly one statement creating the object
//! it should: the table itself, or an index or trigger on it; never a TEMP object, another
//! schema, `CREATE TABLE ... AS SELECT`, nor anything after the statement. SQLite's own
//! parser has the last word: each string is run in a scratch in-memory database, one
//! statement at most, and what it created is compared with what it should have created.

use quiver_catalog::TableSchema;
use rusqlite::Connection;

use crate::tokens::{Token, name_at, same_name, skip_if_not_exists, tokens};

/// The kind of object a stored DDL statement creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DdlKind {
    /// `CREATE TABLE`.
    Table,
    /// `CREATE [UNIQUE] INDEX`.
    Index,
    /// `CREATE TRIGGER`.
    Trigger,
}

impl DdlKind {
    fn as_str(self) -> &'static str {
        match self {
            DdlKind::Table => "table",
            DdlKind::Index => "index",
            DdlKind::Trigger => "trigger",
        }
    }
}

/// What a `CREATE` statement creates, as its first tokens say.
#[derive(Debug, Clone)]
pub(crate) struct Header {
    /// The kind of object.
    pub(crate) kind: DdlKind,
    /// The object's name (the table's own for a table).
    pub(crate) name: String,
    /// Byte range of the object's name in the statement.
    pub(crate) name_range: (usize, usize),
    /// The table it belongs to (the table itself for a table).
    pub(crate) table: String,
    /// Byte range of the table's name after `ON` (the name's own range for a table).
    pub(crate) table_range: (usize, usize),
}

/// Reads the header of `sql`, refusing anything but one `CREATE TABLE`, `CREATE INDEX` or
/// `CREATE TRIGGER` statement in the `main` schema.
pub(crate) fn header(sql: &str) -> Result<Header, String> {
    let tokens = tokens(sql);
    let is = |i: usize, word: &str| tokens.get(i).is_some_and(|t| t.is(word));
    let not_create =
        || "it is not a CREATE TABLE, CREATE INDEX or CREATE TRIGGER statement".to_string();
    if !is(0, "CREATE") {
        return Err(not_create());
    }
    let mut at = 1;
    if is(at, "TEMP") || is(at, "TEMPORARY") {
        return Err("it creates a TEMP object".into());
    }
    let kind = if is(at, "TABLE") {
        DdlKind::Table
    } else if is(at, "INDEX") || (is(at, "UNIQUE") && is(at + 1, "INDEX")) {
        at += usize::from(is(at, "UNIQUE"));
        DdlKind::Index
    } else if is(at, "TRIGGER") {
        DdlKind::Trigger
    } else {
        return Err(not_create());
    };
    let name = name_at(&tokens, skip_if_not_exists(&tokens, at + 1))
        .ok_or_else(|| format!("no {} name follows CREATE", kind.as_str()))?;
    if let Some(schema) = &name.schema
        && !same_name(schema, "main")
    {
        return Err(format!(
            "it creates its {} in schema `{schema}`",
            kind.as_str()
        ));
    }
    let (table, table_range, body) = match kind {
        DdlKind::Table => (name.name.clone(), name.range, name.next),
        DdlKind::Index => {
            if !is(name.next, "ON") {
                return Err("no ON follows the index name".into());
            }
            let table = name_at(&tokens, name.next + 1)
                .filter(|t| t.schema.is_none())
                .ok_or("no table name follows ON")?;
            (table.name, table.range, table.next)
        }
        DdlKind::Trigger => {
            let on = trigger_on(&tokens, name.next)?;
            let table = name_at(&tokens, on + 1)
                .filter(|t| t.schema.is_none())
                .ok_or("no table name follows ON")?;
            (table.name, table.range, table.next)
        }
    };
    check_one_statement(kind, &tokens, body)?;
    Ok(Header {
        kind,
        name: name.name,
        name_range: name.range,
        table,
        table_range,
    })
}

/// The position of the `ON` of a trigger whose name ends before `at`:
/// `[BEFORE | AFTER | INSTEAD OF] (DELETE | INSERT | UPDATE [OF column, ...]) ON`.
fn trigger_on(tokens: &[Token], mut at: usize) -> Result<usize, String> {
    let is = |i: usize, word: &str| tokens.get(i).is_some_and(|t| t.is(word));
    if is(at, "BEFORE") || is(at, "AFTER") {
        at += 1;
    } else if is(at, "INSTEAD") && is(at + 1, "OF") {
        at += 2;
    }
    if is(at, "DELETE") || is(at, "INSERT") {
        at += 1;
    } else if is(at, "UPDATE") {
        at += 1;
        if is(at, "OF") {
            at += 1;
            loop {
                name_at(tokens, at).ok_or("a column name should follow UPDATE OF")?;
                at += 1;
                if tokens.get(at).is_some_and(|t| t.text == ",") {
                    at += 1;
                } else {
                    break;
                }
            }
        }
    } else {
        return Err("no DELETE, INSERT or UPDATE event in the trigger".into());
    }
    if !is(at, "ON") {
        return Err("no ON follows the trigger's event".into());
    }
    Ok(at)
}

/// Refuses a second statement after the first: no `;` in a table or index definition, and a
/// trigger's `BEGIN ... END` body is the statement's end.
fn check_one_statement(kind: DdlKind, tokens: &[Token], body: usize) -> Result<(), String> {
    let rest = tokens.get(body..).unwrap_or_default();
    match kind {
        DdlKind::Table | DdlKind::Index => {
            // CREATE TABLE ... AS SELECT would read other tables; SQLite never stores it.
            if rest.first().is_none_or(|t| t.text != "(") {
                return Err(format!(
                    "no column list follows the {} name",
                    match kind {
                        DdlKind::Table => "table",
                        _ => "index's table",
                    }
                ));
            }
        }
        DdlKind::Trigger => {
            let begin = rest
                .iter()
                .position(|t| t.is("BEGIN"))
                .ok_or("the trigger has no BEGIN ... END body")?;
            // CASE ... END nests inside the body; the first END at depth 0 closes it.
            let mut depth = 0usize;
            let mut end = None;
            for (i, token) in rest.iter().enumerate().skip(begin + 1) {
                if token.is("CASE") {
                    depth += 1;
                } else if token.is("END") {
                    if depth == 0 {
                        end = Some(i);
                        break;
                    }
                    depth -= 1;
                }
            }
            let end = end.ok_or("the trigger's body has no END")?;
            if end + 1 != rest.len() {
                return Err("more follows the trigger's END".into());
            }
            return Ok(());
        }
    }
    if rest.iter().any(|t| t.text == ";") {
        return Err("it holds more than one statement".into());
    }
    Ok(())
}

/// Checks every DDL string of `table` before a restore runs any of them: `create_sql`
/// creates exactly `table`, each of `index_sql` an index on it, each of `trigger_sql` a
/// trigger on it, one statement each. Returns what is wrong, naming the statement.
pub fn check_table_ddl(table: &TableSchema) -> Result<(), String> {
    if table.dialect != quiver_catalog::Dialect::Sqlite || table.adapter.is_some() {
        return Err(format!(
            "table `{}` was backed up from {}: it restores into a {} database, not into SQLite",
            table.name, table.dialect, table.dialect
        ));
    }
    let expect = |sql: &str, kind: DdlKind| -> Result<Header, String> {
        let header = header(sql)
            .and_then(|h| {
                if h.kind != kind {
                    Err(format!(
                        "it creates a {}, not a {}",
                        h.kind.as_str(),
                        kind.as_str()
                    ))
                } else if !same_name(&h.table, &table.name) {
                    Err(format!("it is on table `{}`", h.table))
                } else {
                    Ok(h)
                }
            })
            .map_err(|why| {
                format!(
                    "the {} DDL of table `{}` is refused ({why}): {}",
                    kind.as_str(),
                    table.name,
                    shortened(sql)
                )
            })?;
        Ok(header)
    };
    expect(&table.create_sql, DdlKind::Table)?;
    for sql in &table.index_sql {
        expect(sql, DdlKind::Index)?;
    }
    for sql in &table.trigger_sql {
        expect(sql, DdlKind::Trigger)?;
    }
    check_with_sqlite(table)
}

/// Runs `table`'s DDL in a scratch in-memory database and compares what each statement
/// created with what it should have: SQLite's parser decides what the text really does.
fn check_with_sqlite(table: &TableSchema) -> Result<(), String> {
    let conn =
        Connection::open_in_memory().map_err(|e| format!("opening a scratch database: {e}"))?;
    let objects = |conn: &Connection| -> Result<Vec<(String, String, String)>, String> {
        let mut stmt = conn
            .prepare("SELECT type, name, tbl_name FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid")
            .map_err(|e| e.to_string())?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(|e| e.to_string())?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| e.to_string())
    };
    let statements = std::iter::once((&table.create_sql, DdlKind::Table))
        .chain(table.index_sql.iter().map(|s| (s, DdlKind::Index)))
        .chain(table.trigger_sql.iter().map(|s| (s, DdlKind::Trigger)));
    for (sql, kind) in statements {
        let before = objects(&conn)?;
        run_one(&conn, sql).map_err(|e| {
            format!(
                "the {} DDL of table `{}` is refused ({e}): {}",
                kind.as_str(),
                table.name,
                shortened(sql)
            )
        })?;
        let after = objects(&conn)?;
        let created: Vec<_> = after.iter().filter(|o| !before.contains(o)).collect();
        let expected = |(kind_name, _, tbl): &&(String, String, String)| {
            kind_name == kind.as_str() && same_name(tbl, &table.name)
        };
        // A table may bring sqlite_sequence along (AUTOINCREMENT).
        let unexpected = created
            .iter()
            .filter(|o| !expected(o) && o.1 != "sqlite_sequence")
            .count();
        if unexpected > 0 || created.iter().filter(|o| expected(o)).count() != 1 {
            return Err(format!(
                "the {} DDL of table `{}` is refused (SQLite reads it as creating something else): {}",
                kind.as_str(),
                table.name,
                shortened(sql)
            ));
        }
    }
    Ok(())
}

/// Runs `sql`, which must be exactly one statement: SQLite stops at the first, and text
/// after it (but for whitespace and comments) is refused instead of run.
pub(crate) fn run_one(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare(sql)?;
    stmt.raw_execute()?;
    Ok(())
}

/// `sql` for an error message: at most 200 characters.
fn shortened(sql: &str) -> String {
    let mut chars = sql.chars();
    let head: String = chars.by_ref().take(200).collect();
    if chars.next().is_some() {
        format!("`{head}…`")
    } else {
        format!("`{head}`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(create: &str, indexes: &[&str], triggers: &[&str]) -> TableSchema {
        TableSchema {
            name: "Orders".into(),
            columns: vec![],
            primary_key: vec![],
            stores_rowid: true,
            create_sql: create.into(),
            index_sql: indexes.iter().map(|s| s.to_string()).collect(),
            trigger_sql: triggers.iter().map(|s| s.to_string()).collect(),
            autoincrement_seq: None,
            dialect: quiver_catalog::Dialect::Sqlite,
            adapter: None,
        }
    }

    #[test]
    fn real_ddl_passes() {
        let ok = table(
            "CREATE TABLE \"Orders\" (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT UNIQUE, CHECK (v <> ';'))",
            &["CREATE UNIQUE INDEX IF NOT EXISTS main.by_v ON orders (v) WHERE v > 'a;b'"],
            &[
                "CREATE TRIGGER tr AFTER UPDATE OF v, id ON ORDERS FOR EACH ROW WHEN new.v IS NOT NULL BEGIN \
                 UPDATE orders SET v = CASE WHEN v = 'x' THEN 'y' ELSE v END WHERE id = new.id; SELECT 1; END",
                "CREATE TRIGGER \"t;2\" INSTEAD OF DELETE ON orders BEGIN SELECT RAISE(ABORT, 'no'); END",
            ],
        );
        // INSTEAD OF is for views: SQLite refuses it on a table at CREATE time.
        let err = check_table_ddl(&ok).unwrap_err();
        assert!(err.contains("trigger DDL"), "{err}");
        let mut ok = ok;
        ok.trigger_sql.pop();
        check_table_ddl(&ok).unwrap();
    }

    #[test]
    fn forged_ddl_is_refused_before_anything_runs() {
        for (create, index, trigger, why) in [
            (
                "CREATE TABLE Orders(a); DROP TABLE other",
                "",
                "",
                "more than one statement",
            ),
            (
                "CREATE TABLE Orders(a);ATTACH 'x' AS y",
                "",
                "",
                "more than one statement",
            ),
            ("CREATE TABLE other(a)", "", "", "on table `other`"),
            ("CREATE TEMP TABLE Orders(a)", "", "", "TEMP"),
            ("CREATE TABLE aux.Orders(a)", "", "", "schema `aux`"),
            (
                "CREATE TABLE Orders AS SELECT * FROM secrets",
                "",
                "",
                "no column list",
            ),
            (
                "CREATE VIEW Orders AS SELECT 1",
                "",
                "",
                "not a CREATE TABLE",
            ),
            ("PRAGMA writable_schema = 1", "", "", "not a CREATE TABLE"),
            ("CREATE TABLE \"Orders", "", "", "no table name"),
            (
                "CREATE TABLE Orders(a) /* ok */",
                "CREATE INDEX i ON other(a)",
                "",
                "on table `other`",
            ),
            (
                "CREATE TABLE Orders(a)",
                "CREATE INDEX i ON Orders(a); DELETE FROM x",
                "",
                "more than one",
            ),
            (
                "CREATE TABLE Orders(a)",
                "CREATE INDEX \"i ON Orders(a)",
                "",
                "no index name",
            ),
            (
                "CREATE TABLE Orders(a)",
                "CREATE TABLE Orders2(a)",
                "",
                "creates a table, not a index",
            ),
            (
                "CREATE TABLE Orders(a)",
                "",
                "CREATE TRIGGER t AFTER INSERT ON Orders BEGIN SELECT 1; END; DROP TABLE x",
                "more follows",
            ),
            (
                "CREATE TABLE Orders(a)",
                "",
                "CREATE TEMP TRIGGER t AFTER INSERT ON other BEGIN DELETE FROM x; END",
                "TEMP",
            ),
        ] {
            let t = table(
                create,
                &[index]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>(),
                &[trigger]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>(),
            );
            let err = check_table_ddl(&t).unwrap_err();
            assert!(err.contains(why), "{create} / {index} / {trigger}: {err}");
        }
    }

    #[test]
    fn run_one_refuses_a_second_statement() {
        let conn = Connection::open_in_memory().unwrap();
        assert!(run_one(&conn, "CREATE TABLE a(x); CREATE TABLE b(x)").is_err());
        assert!(run_one(&conn, "CREATE TABLE a(x) -- done").is_ok());
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .unwrap();
        assert_eq!(tables, 1);
    }
}
