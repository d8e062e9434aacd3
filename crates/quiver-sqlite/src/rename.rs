//! Restoring a table under another name: its DDL rewritten to the new name.

use quiver_catalog::TableSchema;

/// `table` as it would be created under `new_name`: `CREATE TABLE` names it, and each index
/// is renamed `<new_name>_<index>` and made to point at it. Triggers are left out: their
/// bodies may act on other tables, which a copy restored beside the live tables must not do.
/// The AUTOINCREMENT counter follows the new name.
///
/// ```
/// # use quiver_catalog::TableSchema;
/// let table = TableSchema {
///     name: "orders".into(),
///     columns: vec![],
///     primary_key: vec![],
///     stores_rowid: true,
///     create_sql: "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT)".into(),
///     index_sql: vec!["CREATE INDEX by_customer ON orders (customer)".into()],
///     trigger_sql: vec!["CREATE TRIGGER t AFTER INSERT ON orders BEGIN SELECT 1; END".into()],
///     autoincrement_seq: None,
/// };
/// let copy = quiver_sqlite::renamed(&table, "old orders").unwrap();
/// assert_eq!(copy.create_sql, r#"CREATE TABLE "old orders" (id INTEGER PRIMARY KEY, customer TEXT)"#);
/// assert_eq!(copy.index_sql, [r#"CREATE INDEX "old orders_by_customer" ON "old orders" (customer)"#]);
/// assert!(copy.trigger_sql.is_empty());
/// ```
pub fn renamed(table: &TableSchema, new_name: &str) -> Result<TableSchema, String> {
    let create_sql = rewrite_create_table(&table.create_sql, new_name)
        .ok_or_else(|| format!("cannot find the table name in `{}`", table.create_sql))?;
    let index_sql = table
        .index_sql
        .iter()
        .map(|sql| {
            rewrite_create_index(sql, new_name)
                .ok_or_else(|| format!("cannot find the index and table names in `{sql}`"))
        })
        .collect::<Result<_, _>>()?;
    Ok(TableSchema {
        name: new_name.to_string(),
        create_sql,
        index_sql,
        trigger_sql: Vec::new(),
        ..table.clone()
    })
}

/// A token of SQL text: its byte range, and the word if it is a bare word.
#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    start: usize,
    end: usize,
    text: &'a str,
}

impl Token<'_> {
    fn is(&self, word: &str) -> bool {
        self.text.eq_ignore_ascii_case(word)
    }
}

/// The tokens of `sql`: words, quoted names, strings, single punctuation characters;
/// whitespace and comments skipped.
fn tokens(sql: &str) -> Vec<Token<'_>> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        match bytes[i] {
            b if b.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = sql[i + 2..]
                    .find("*/")
                    .map_or(bytes.len(), |e| i + 2 + e + 2);
                continue;
            }
            quote @ (b'"' | b'`' | b'\'' | b'[') => {
                let close = if quote == b'[' { b']' } else { quote };
                i += 1;
                while i < bytes.len() {
                    if bytes[i] == close {
                        // A doubled quote is an escaped one (not in [brackets]).
                        if close != b']' && bytes.get(i + 1) == Some(&close) {
                            i += 2;
                            continue;
                        }
                        i += 1;
                        break;
                    }
                    i += 1;
                }
            }
            b if b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80 => {
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric()
                        || bytes[i] == b'_'
                        || bytes[i] == b'$'
                        || bytes[i] >= 0x80)
                {
                    i += 1;
                }
            }
            _ => i += 1,
        }
        out.push(Token {
            start,
            end: i,
            text: &sql[start..i],
        });
    }
    out
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The unquoted form of a name token.
fn unquoted(token: &str) -> String {
    let inner = |q: char| token[1..token.len() - 1].replace(&format!("{q}{q}"), &q.to_string());
    match token.chars().next() {
        Some('"') if token.len() >= 2 => inner('"'),
        Some('`') if token.len() >= 2 => inner('`'),
        Some('[') if token.len() >= 2 => token[1..token.len() - 1].to_string(),
        _ => token.to_string(),
    }
}

/// Skips `IF NOT EXISTS` at `at`; returns the position after it.
fn skip_if_not_exists(tokens: &[Token], at: usize) -> usize {
    let is = |i: usize, word: &str| tokens.get(i).is_some_and(|t| t.is(word));
    if is(at, "IF") && is(at + 1, "NOT") && is(at + 2, "EXISTS") {
        at + 3
    } else {
        at
    }
}

/// The range of a (possibly `schema.`-qualified) name starting at token `at`, and the
/// position after it.
fn name_range(tokens: &[Token], at: usize) -> Option<((usize, usize), usize, String)> {
    let first = tokens.get(at)?;
    if tokens.get(at + 1).is_some_and(|t| t.text == ".") {
        let last = tokens.get(at + 2)?;
        return Some(((first.start, last.end), at + 3, unquoted(last.text)));
    }
    Some(((first.start, first.end), at + 1, unquoted(first.text)))
}

fn rewrite_create_table(sql: &str, new_name: &str) -> Option<String> {
    let tokens = tokens(sql);
    let mut at = 0;
    if !tokens.get(at)?.is("CREATE") {
        return None;
    }
    at += 1;
    if tokens.get(at)?.is("TEMP") || tokens.get(at)?.is("TEMPORARY") {
        at += 1;
    }
    if !tokens.get(at)?.is("TABLE") {
        return None;
    }
    let ((start, end), _, _) = name_range(&tokens, skip_if_not_exists(&tokens, at + 1))?;
    Some(format!(
        "{}{}{}",
        &sql[..start],
        quoted(new_name),
        &sql[end..]
    ))
}

fn rewrite_create_index(sql: &str, new_table: &str) -> Option<String> {
    let tokens = tokens(sql);
    let mut at = 0;
    if !tokens.get(at)?.is("CREATE") {
        return None;
    }
    at += 1;
    if tokens.get(at)?.is("UNIQUE") {
        at += 1;
    }
    if !tokens.get(at)?.is("INDEX") {
        return None;
    }
    let ((index_start, index_end), after, index) =
        name_range(&tokens, skip_if_not_exists(&tokens, at + 1))?;
    if !tokens.get(after)?.is("ON") {
        return None;
    }
    let ((table_start, table_end), _, _) = name_range(&tokens, after + 1)?;
    Some(format!(
        "{}{}{}{}{}",
        &sql[..index_start],
        quoted(&format!("{new_table}_{index}")),
        &sql[index_end..table_start],
        quoted(new_table),
        &sql[table_end..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_found_however_written() {
        for (sql, expected) in [
            ("create table t(a)", r#"create table "n"(a)"#),
            (
                "CREATE TABLE IF NOT EXISTS main.\"we\"\"ird\" /* c */ (a)",
                "CREATE TABLE IF NOT EXISTS \"n\" /* c */ (a)",
            ),
            ("CREATE TEMP TABLE [x y](a)", r#"CREATE TEMP TABLE "n"(a)"#),
            (
                "CREATE TABLE `t`\n-- x\n(a)",
                "CREATE TABLE \"n\"\n-- x\n(a)",
            ),
        ] {
            assert_eq!(
                rewrite_create_table(sql, "n").as_deref(),
                Some(expected),
                "{sql}"
            );
        }
        assert_eq!(
            rewrite_create_index(
                "CREATE UNIQUE INDEX IF NOT EXISTS \"i\" ON t(a) WHERE a > 'ON'",
                "n o"
            )
            .as_deref(),
            Some(r#"CREATE UNIQUE INDEX IF NOT EXISTS "n o_i" ON "n o"(a) WHERE a > 'ON'"#)
        );
        assert_eq!(rewrite_create_table("CREATE VIEW v AS SELECT 1", "n"), None);
    }
}
