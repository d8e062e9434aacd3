//! Restoring a table under another name: its DDL rewritten to the new name.

use quiver_catalog::{RenamedTable, TableSchema};

use crate::ddl::{DdlKind, header};
use crate::tokens::{Token, name_at, quoted, same_name, tokens, unquoted};

/// `table` as it would be created under a new name, given by `new_name` for every table
/// restored with it (`new_name(&table.name)` must give the copy's own name):
///
/// - `CREATE TABLE` names the copy, and each foreign key either names the restored copy of
///   its table, or, when that table is not restored, is dropped: a copy beside the live
///   tables must never be tied to them (`ON DELETE CASCADE` would let deleting live rows
///   delete the copy's).
/// - Each index is renamed `<new name>_<index>` and made to point at the copy.
/// - Triggers are left out: their bodies may act on other tables, which a copy restored
///   beside the live tables must not do.
///
/// The AUTOINCREMENT counter follows the new name. The DDL is read by [`crate::check_table_ddl`]'s
/// rules; anything it refuses is refused here too.
///
/// ```
/// # use quiver_catalog::{RenamedTable, TableSchema};
/// let table = TableSchema {
///     name: "orders".into(),
///     columns: vec![],
///     primary_key: vec![],
///     stores_rowid: true,
///     create_sql: "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer INTEGER REFERENCES customers(id) ON DELETE CASCADE, emp REFERENCES emp)".into(),
///     index_sql: vec!["CREATE INDEX by_customer ON orders (customer)".into()],
///     trigger_sql: vec!["CREATE TRIGGER t AFTER INSERT ON orders BEGIN SELECT 1; END".into()],
///     autoincrement_seq: None,
///     dialect: quiver_catalog::Dialect::Sqlite,
///     adapter: None,
/// };
/// let names = |t: &str| match t {
///     "orders" => Some("old orders".to_string()),
///     "customers" => Some("old_customers".to_string()),
///     _ => None,
/// };
/// let copy = quiver_sqlite::renamed(&table, &names).unwrap();
/// assert_eq!(
///     copy.schema.create_sql,
///     r#"CREATE TABLE "old orders" (id INTEGER PRIMARY KEY, customer INTEGER REFERENCES "old_customers"(id) ON DELETE CASCADE, emp)"#
/// );
/// assert_eq!(copy.schema.index_sql, [r#"CREATE INDEX "old orders_by_customer" ON "old orders" (customer)"#]);
/// assert!(copy.schema.trigger_sql.is_empty());
/// assert_eq!(copy.dropped_references.len(), 1);
/// ```
pub fn renamed(
    table: &TableSchema,
    new_name: &dyn Fn(&str) -> Option<String>,
) -> Result<RenamedTable, String> {
    let own = new_name(&table.name)
        .ok_or_else(|| format!("no new name is given for table `{}`", table.name))?;
    let (create_sql, dropped_references) = rewrite_create_table(table, &own, new_name)?;
    let index_sql = table
        .index_sql
        .iter()
        .map(|sql| rewrite_create_index(sql, &own))
        .collect::<Result<_, _>>()?;
    Ok(RenamedTable {
        schema: TableSchema {
            name: own,
            create_sql,
            index_sql,
            trigger_sql: Vec::new(),
            ..table.clone()
        },
        dropped_references,
    })
}

/// Byte ranges of `sql` replaced by new text, applied back to front.
fn apply(sql: &str, mut edits: Vec<((usize, usize), String)>) -> String {
    edits.sort_by_key(|((start, _), _)| std::cmp::Reverse(*start));
    let mut out = sql.to_string();
    for ((start, end), text) in edits {
        out.replace_range(start..end, &text);
    }
    out
}

fn rewrite_create_table(
    table: &TableSchema,
    own: &str,
    new_name: &dyn Fn(&str) -> Option<String>,
) -> Result<(String, Vec<String>), String> {
    let sql = &table.create_sql;
    let head = header(sql).map_err(|why| format!("cannot read `{sql}`: {why}"))?;
    if head.kind != DdlKind::Table {
        return Err(format!("`{sql}` does not create a table"));
    }
    let tokens = tokens(sql);
    let mut edits = vec![(head.name_range, quoted(own))];
    edits.extend(qualifier_edits(&tokens, &table.name, own, head.name_range));
    let mut dropped = Vec::new();
    for (at, token) in tokens.iter().enumerate() {
        if !token.is("REFERENCES") {
            continue;
        }
        let target = name_at(&tokens, at + 1)
            .ok_or_else(|| format!("no table name follows REFERENCES in `{sql}`"))?;
        match new_name(&target.name) {
            Some(new) => edits.push((target.range, quoted(&new))),
            None => {
                let start = clause_start(&tokens, at);
                let end = clause_end(&tokens, target.next);
                let end_byte = tokens.get(end - 1).map_or(sql.len(), |t| t.end);
                edits.push(((start, end_byte), String::new()));
                dropped.push(format!(
                    "`{own}` (a copy of `{}`) has no foreign key to `{}`: that table is not restored with it",
                    table.name, target.name
                ));
            }
        }
    }
    Ok((apply(sql, edits), dropped))
}

/// Where the foreign-key clause whose `REFERENCES` is token `at` starts, as a byte offset
/// (after the token before it):
/// a table constraint `, [CONSTRAINT n] FOREIGN KEY (...)` from its comma, a column
/// constraint from its `CONSTRAINT n`, or `REFERENCES` itself.
fn clause_start(tokens: &[Token], at: usize) -> usize {
    let mut start = at;
    if at > 0 && tokens[at - 1].text == ")" {
        // FOREIGN KEY (columns) REFERENCES ...
        let mut depth = 0usize;
        let mut open = at - 1;
        loop {
            match tokens[open].text {
                ")" => depth += 1,
                "(" => depth -= 1,
                _ => {}
            }
            if depth == 0 || open == 0 {
                break;
            }
            open -= 1;
        }
        if open >= 2 && tokens[open - 1].is("KEY") && tokens[open - 2].is("FOREIGN") {
            start = open - 2;
            if start >= 2 && tokens[start - 2].is("CONSTRAINT") {
                start -= 2;
            }
            if start >= 1 && tokens[start - 1].text == "," {
                start -= 1;
            }
            return after_previous(tokens, start);
        }
    }
    if start >= 2 && tokens[start - 2].is("CONSTRAINT") {
        start -= 2;
    }
    after_previous(tokens, start)
}

/// The end of the token before `at` (so the space before a removed clause goes with it).
fn after_previous(tokens: &[Token], at: usize) -> usize {
    match at.checked_sub(1) {
        Some(previous) => tokens[previous].end,
        None => tokens[at].start,
    }
}

/// The token after the foreign-key clause whose table name ends before token `at`: an
/// optional column list, then `ON DELETE|UPDATE <action>`, `MATCH <name>`,
/// `[NOT] DEFERRABLE [INITIALLY DEFERRED|IMMEDIATE]` in any number.
fn clause_end(tokens: &[Token], mut at: usize) -> usize {
    let is = |i: usize, word: &str| tokens.get(i).is_some_and(|t| t.is(word));
    if tokens.get(at).is_some_and(|t| t.text == "(") {
        while at < tokens.len() && tokens[at].text != ")" {
            at += 1;
        }
        at = (at + 1).min(tokens.len());
    }
    loop {
        if is(at, "ON") && (is(at + 1, "DELETE") || is(at + 1, "UPDATE")) {
            at += 2;
            at += if is(at, "SET") || is(at, "NO") { 2 } else { 1 };
        } else if is(at, "MATCH") {
            at += 2;
        } else if (is(at, "NOT") && is(at + 1, "DEFERRABLE")) || is(at, "DEFERRABLE") {
            at += if is(at, "NOT") { 2 } else { 1 };
            if is(at, "INITIALLY") {
                at += 2;
            }
        } else {
            return at.min(tokens.len());
        }
    }
}

fn rewrite_create_index(sql: &str, new_table: &str) -> Result<String, String> {
    let head = header(sql).map_err(|why| format!("cannot read `{sql}`: {why}"))?;
    if head.kind != DdlKind::Index {
        return Err(format!("`{sql}` does not create an index"));
    }
    let mut edits = vec![
        (
            head.name_range,
            quoted(&format!("{new_table}_{}", head.name)),
        ),
        (head.table_range, quoted(new_table)),
    ];
    edits.extend(qualifier_edits(
        &tokens(sql),
        &head.table,
        new_table,
        head.name_range,
    ));
    Ok(apply(sql, edits))
}

/// Edits renaming `old.` to `"new".` wherever the table qualifies a column (`CHECK (t.a > 0)`,
/// a partial index's `WHERE t.a > 1`), outside the statement's own name at `skip`.
fn qualifier_edits(
    tokens: &[Token],
    old: &str,
    new: &str,
    skip: (usize, usize),
) -> Vec<((usize, usize), String)> {
    tokens
        .windows(2)
        .filter(|pair| {
            let (name, dot) = (&pair[0], &pair[1]);
            // A bare word starting with a digit is a number (`1.5`), not a name.
            dot.text == "."
                && !name.text.starts_with(|c: char| c.is_ascii_digit())
                && !(name.start >= skip.0 && name.end <= skip.1)
                && unquoted(name.text).is_some_and(|n| same_name(&n, old))
        })
        .map(|pair| ((pair[0].start, pair[0].end), quoted(new)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(create: &str) -> TableSchema {
        TableSchema {
            name: "t".into(),
            columns: vec![],
            primary_key: vec![],
            stores_rowid: true,
            create_sql: create.into(),
            index_sql: vec![],
            trigger_sql: vec![],
            autoincrement_seq: None,
            dialect: quiver_catalog::Dialect::Sqlite,
            adapter: None,
        }
    }

    fn rename_to_n(create: &str) -> String {
        let names = |t: &str| (t.eq_ignore_ascii_case("t")).then(|| "n".to_string());
        renamed(&schema(create), &names).unwrap().schema.create_sql
    }

    #[test]
    fn names_are_found_however_written() {
        for (sql, expected) in [
            ("create table t(a)", r#"create table "n"(a)"#),
            (
                "CREATE TABLE IF NOT EXISTS main.\"t\" /* c */ (a)",
                "CREATE TABLE IF NOT EXISTS \"n\" /* c */ (a)",
            ),
            ("CREATE TABLE [t](a)", r#"CREATE TABLE "n"(a)"#),
            (
                "CREATE TABLE `T`\n-- x\n(a)",
                "CREATE TABLE \"n\"\n-- x\n(a)",
            ),
        ] {
            assert_eq!(rename_to_n(sql), expected, "{sql}");
        }
        assert_eq!(
            rewrite_create_index(
                "CREATE UNIQUE INDEX IF NOT EXISTS \"i\" ON t(a) WHERE a > 'ON'",
                "n o"
            )
            .unwrap(),
            r#"CREATE UNIQUE INDEX IF NOT EXISTS "n o_i" ON "n o"(a) WHERE a > 'ON'"#
        );
        assert!(renamed(&schema("CREATE VIEW t AS SELECT 1"), &|_| Some("n".into())).is_err());
    }

    #[test]
    fn references_to_tables_restored_elsewhere_follow_and_others_go() {
        for (sql, expected) in [
            (
                "CREATE TABLE t(a REFERENCES t(a) ON DELETE CASCADE, b CONSTRAINT fk REFERENCES live(x) ON UPDATE SET NULL DEFERRABLE INITIALLY DEFERRED NOT NULL)",
                r#"CREATE TABLE "n"(a REFERENCES "n"(a) ON DELETE CASCADE, b NOT NULL)"#,
            ),
            (
                "CREATE TABLE t(a, b, CONSTRAINT c FOREIGN KEY (a, b) REFERENCES live (x, y) MATCH FULL, UNIQUE (a))",
                r#"CREATE TABLE "n"(a, b, UNIQUE (a))"#,
            ),
            (
                "CREATE TABLE t(a, FOREIGN KEY (a) REFERENCES T ON DELETE NO ACTION)",
                r#"CREATE TABLE "n"(a, FOREIGN KEY (a) REFERENCES "n" ON DELETE NO ACTION)"#,
            ),
            (
                "CREATE TABLE t(a, FOREIGN KEY (a) REFERENCES live)",
                r#"CREATE TABLE "n"(a)"#,
            ),
            (
                "CREATE TABLE main.t(a CHECK (t.a > 0), b AS (\"T\".a + 1), c CHECK (other.x))",
                r#"CREATE TABLE "n"(a CHECK ("n".a > 0), b AS ("n".a + 1), c CHECK (other.x))"#,
            ),
        ] {
            assert_eq!(rename_to_n(sql), expected, "{sql}");
        }
        // A table named with digits: its decimal literals stay numbers.
        let names = |t: &str| (t == "1").then(|| "n".to_string());
        let copy = renamed(
            &TableSchema {
                name: "1".into(),
                ..schema("CREATE TABLE \"1\"(a REAL CHECK (a < 1.5 AND \"1\".a > 0))")
            },
            &names,
        )
        .unwrap();
        assert_eq!(
            copy.schema.create_sql,
            r#"CREATE TABLE "n"(a REAL CHECK (a < 1.5 AND "n".a > 0))"#
        );
    }
}
