//! Splitting a script into statements, and the public entry points.

use crate::ast::Statement;
use crate::error::{ParseError, Result};
use crate::lexer::{Token, TokenKind, tokenize};
use crate::parser::parse_backup_statement;
use crate::span::{Located, Span};

/// The tokens of one non-empty statement.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Piece {
    /// Index range of the statement's tokens (terminator excluded).
    start: usize,
    end: usize,
    /// Index of the terminating top-level `;`, if any.
    terminator: Option<usize>,
}

/// Tracks `CREATE [TEMP|TEMPORARY] TRIGGER ... BEGIN ... END` bodies, whose
/// `;` do not end the statement.
#[derive(Debug, Default)]
struct TriggerState {
    /// `BEGIN` seen: we are in (or past) the body.
    body: bool,
    /// Open `BEGIN`/`CASE` blocks; the body is closed when this returns to 0.
    depth: usize,
}

impl TriggerState {
    fn inside_body(&self) -> bool {
        self.body && self.depth > 0
    }

    fn feed(&mut self, src: &str, tok: &Token) {
        if tok.kind != TokenKind::Ident {
            return;
        }
        if !self.body {
            if tok.is_kw(src, "BEGIN") {
                self.body = true;
                self.depth = 1;
            }
        } else if self.depth > 0 {
            if tok.is_kw(src, "CASE") {
                self.depth = self.depth.saturating_add(1);
            } else if tok.is_kw(src, "END") {
                self.depth -= 1;
            }
        }
    }
}

/// Does the statement starting at `tokens[0]` create a trigger?
fn is_create_trigger(src: &str, tokens: &[Token]) -> bool {
    let mut it = tokens.iter();
    if !it.next().is_some_and(|t| t.is_kw(src, "CREATE")) {
        return false;
    }
    match it.next() {
        Some(t) if t.is_kw(src, "TEMP") || t.is_kw(src, "TEMPORARY") => {
            it.next().is_some_and(|t| t.is_kw(src, "TRIGGER"))
        }
        Some(t) => t.is_kw(src, "TRIGGER"),
        None => false,
    }
}

/// Cuts the token stream at top-level `;`, skipping empty statements.
fn split(src: &str, tokens: &[Token]) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut trigger: Option<TriggerState> = None;
    for (i, tok) in tokens.iter().enumerate() {
        if i == start {
            trigger = is_create_trigger(src, &tokens[i..]).then(TriggerState::default);
        }
        if tok.kind == TokenKind::Semi && !trigger.as_ref().is_some_and(TriggerState::inside_body) {
            if i > start {
                pieces.push(Piece {
                    start,
                    end: i,
                    terminator: Some(i),
                });
            }
            start = i + 1;
            continue;
        }
        if let Some(state) = trigger.as_mut() {
            state.feed(src, tok);
        }
    }
    if start < tokens.len() {
        pieces.push(Piece {
            start,
            end: tokens.len(),
            terminator: None,
        });
    }
    pieces
}

/// Parses a script: statements separated by `;`.
///
/// Backup-collection statements are parsed into their own variants; every
/// other statement comes back as [`Statement::Sql`] with its exact source
/// text. Empty statements are skipped, the last `;` is optional.
///
/// ```
/// use quiver_grammar::{parse_script, Statement};
///
/// let script = "
///     CREATE TABLE t (x INTEGER); -- plain SQL passes through
///     CREATE BACKUP COLLECTION c ( TABLE t ) WITH ( STORAGE = 'cluster' );
///     BACKUP c INCREMENTAL;
/// ";
/// let stmts = parse_script(script)?;
/// assert_eq!(stmts.len(), 3);
/// assert_eq!(stmts[0].node, Statement::Sql("CREATE TABLE t (x INTEGER)".into()));
/// assert_eq!(&script[stmts[0].span.start..stmts[0].span.end], "CREATE TABLE t (x INTEGER)");
/// assert_eq!(stmts[2].node, Statement::Backup { name: "c".into(), incremental: true });
///
/// let err = parse_script("BACKUP c INCREMENTALLY").unwrap_err();
/// assert_eq!((err.line, err.column), (1, 10));
/// # Ok::<(), quiver_grammar::ParseError>(())
/// ```
///
/// # Errors
/// A [`ParseError`] for the first syntax error: an unterminated string,
/// quoted identifier or comment anywhere, or a malformed backup statement.
pub fn parse_script(src: &str) -> Result<Vec<Located<Statement>>> {
    let tokens = tokenize(src)?;
    split(src, &tokens)
        .into_iter()
        .map(|piece| {
            let body = &tokens[piece.start..piece.end];
            let first = body.first().map_or(Span::default(), |t| t.span);
            let last = body.last().map_or(first, |t| t.span);
            let span = first.to(last);
            let terminator = piece.terminator.and_then(|i| tokens.get(i));
            let node = match parse_backup_statement(src, body, terminator, span.end)? {
                Some(stmt) => stmt,
                None => Statement::Sql(src.get(span.start..span.end).unwrap_or("").to_string()),
            };
            Ok(Located { node, span })
        })
        .collect()
}

/// Parses exactly one statement (a trailing `;` is allowed).
///
/// ```
/// use quiver_grammar::{parse_statement, Statement};
/// assert_eq!(
///     parse_statement("restore c at '2026-01-01';"),
///     Ok(Statement::Restore { name: "c".into(), at: Some("2026-01-01".into()), options: Default::default() })
/// );
/// assert!(parse_statement("BACKUP a; BACKUP b").is_err());
/// ```
///
/// # Errors
/// As [`parse_script`], and also when the input holds no statement or more
/// than one.
pub fn parse_statement(src: &str) -> Result<Statement> {
    let mut stmts = parse_script(src)?;
    if stmts.len() > 1 {
        let second = &stmts[1];
        return Err(ParseError::new(
            src,
            second.span,
            "expected a single statement, found another one",
        )
        .with_hint("only one statement is accepted here"));
    }
    match stmts.pop() {
        Some(stmt) => Ok(stmt.node),
        None => Err(ParseError::new(
            src,
            Span::new(src.len(), src.len()),
            "expected a statement, found end of input",
        )),
    }
}

/// Tells an interactive shell whether the input so far is complete.
///
/// True when the input is empty or only comments and `;`, or when its last
/// statement ends with a top-level `;` (not one inside a string, quoted
/// identifier, comment or trigger body). False when a string, quoted
/// identifier or block comment is unterminated, or the last statement has
/// no `;` yet.
///
/// ```
/// use quiver_grammar::is_complete;
/// assert!(is_complete("BACKUP c;"));
/// assert!(!is_complete("BACKUP c"));
/// assert!(!is_complete("SELECT 'a;"));
/// assert!(is_complete("-- nothing yet"));
/// ```
#[must_use]
pub fn is_complete(src: &str) -> bool {
    match tokenize(src) {
        Ok(tokens) => split(src, &tokens)
            .last()
            .is_none_or(|p| p.terminator.is_some()),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(src: &str) -> Vec<String> {
        let tokens = tokenize(src).unwrap();
        split(src, &tokens)
            .into_iter()
            .map(|p| {
                let s = tokens[p.start].span.start;
                let e = tokens[p.end - 1].span.end;
                src[s..e].to_string()
            })
            .collect()
    }

    #[test]
    fn splits_on_top_level_semicolons() {
        assert_eq!(texts("a; ;; b ;c"), ["a", "b", "c"]);
        assert_eq!(
            texts("select ';' ; select \";\", `;`, [;] /* ; */ -- ;\n; x"),
            ["select ';'", "select \";\", `;`, [;]", "x"]
        );
        assert!(texts(" ;; -- c\n").is_empty());
    }

    #[test]
    fn trigger_bodies_stay_whole() {
        let trig = "CREATE TEMP TRIGGER t AFTER INSERT ON x BEGIN \
                    UPDATE y SET a = CASE WHEN new.b THEN 1 ELSE 2 END; \
                    INSERT INTO z VALUES (CASE 1 WHEN 1 THEN 'end;' END); END";
        assert_eq!(texts(&format!("{trig}; SELECT 1")), [trig, "SELECT 1"]);
        let trig2 = "create trigger t before delete on x begin select 1; end";
        assert_eq!(texts(&format!("{trig2};{trig2}")), [trig2, trig2]);
        // Not a trigger: BEGIN ... END transactions split normally.
        assert_eq!(texts("BEGIN; SELECT 1; END;"), ["BEGIN", "SELECT 1", "END"]);
        // `;` before BEGIN ends a (broken) trigger statement.
        assert_eq!(texts("CREATE TRIGGER t; x"), ["CREATE TRIGGER t", "x"]);
    }

    #[test]
    fn trigger_state_ignores_quoted_words() {
        let src = "CREATE TRIGGER t AFTER INSERT ON x BEGIN SELECT `end`; SELECT \"END\"; END; y";
        assert_eq!(texts(src).len(), 2);
    }
}
