//! Recursive-descent parser for the backup-collection statements.
//!
//! It works on the tokens of one statement, as cut by [`crate::script`].

use crate::ast::{
    AlterAction, CreateBackupCollection, EncryptionAlgorithm, RestoreOptions, SchemaChangePolicy,
    SettingKey, Settings, Statement, Storage,
};
use crate::display::quote_string;
use crate::error::{ParseError, Result, line_col};
use crate::lexer::{Token, TokenKind};
use crate::schedule::parse_schedule;
use crate::span::Span;

const USAGE_CREATE: &str = "usage: CREATE BACKUP COLLECTION name ( TABLE t [, TABLE t ...] ) \
                            [WITH ( key = 'value' [, ...] )]";
const USAGE_DROP: &str = "usage: DROP BACKUP COLLECTION name";
const USAGE_ALTER: &str = "usage: ALTER BACKUP COLLECTION name \
                           ADD TABLE t | DROP TABLE t | SET ( key = 'value', ... ) | RESET ( key, ... ) \
                           | PIN 'backup-id' | UNPIN 'backup-id'";
const USAGE_PRUNE: &str = "usage: PRUNE name [DRY RUN]";
const USAGE_BACKUP: &str = "usage: BACKUP name [INCREMENTAL]";
const USAGE_RESTORE: &str = "usage: RESTORE name [AT 'backup-id'] \
                             [WITH ( TABLES = 'a, b', TARGET_PREFIX = 'p_', RENAME = 'a = x', FILTER = 'predicate', DATABASE = 'file' )]";
const RESTORE_OPTIONS: &str =
    "the restore options are TABLES, TARGET_PREFIX, RENAME, FILTER and DATABASE";
const USAGE_SHOW: &str = "usage: SHOW BACKUP COLLECTIONS | SHOW BACKUPS IN name | SHOW SCHEDULES | SHOW OPERATIONS [IN name]";
const USAGE_VERIFY: &str = "usage: VERIFY name [AT 'backup-id']";
const USAGE_COMPACT: &str = "usage: COMPACT name [AT 'backup-id']";
const USAGE_QUERY: &str = "usage: QUERY [AT 'backup-id'] SELECT ... FROM collection.table ...";
const KNOWN_SETTINGS: &str = "the known settings are STORAGE, INCREMENTAL_BACKUP_ENABLED, \
                              KEEP_LAST, KEEP_HOURLY, KEEP_DAILY, KEEP_WEEKLY, KEEP_MONTHLY, KEEP_YEARLY, \
                              KEEP_WITHIN, BACKUP_SCHEDULE, FULL_BACKUP_SCHEDULE, TIMEZONE, ON_SCHEMA_CHANGE, COMPACT_AFTER, ENCRYPTION and ENCRYPTION_KEY_FILE";
const TABLE_HINT: &str = "each table in a collection is written `TABLE name`";

/// Words that begin a statement; finding one where a statement should have
/// ended suggests a missing `;`.
const STATEMENT_STARTS: &[&str] = &[
    "ALTER",
    "ANALYZE",
    "ATTACH",
    "BACKUP",
    "BEGIN",
    "COMMIT",
    "COMPACT",
    "CREATE",
    "DELETE",
    "DETACH",
    "DROP",
    "END",
    "EXPLAIN",
    "INSERT",
    "PRAGMA",
    "PRUNE",
    "QUERY",
    "REINDEX",
    "RELEASE",
    "REPLACE",
    "RESTORE",
    "ROLLBACK",
    "SAVEPOINT",
    "SELECT",
    "SHOW",
    "UPDATE",
    "VACUUM",
    "VALUES",
    "VERIFY",
];

/// Which backup statement a token sequence starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Create,
    Drop,
    Alter,
    Backup,
    Restore,
    Show,
    Verify,
    Query,
    Prune,
    Compact,
}

/// Parses one statement's tokens as a backup statement.
///
/// `terminator` is the `;` ending the statement, if any; `eof` the byte
/// offset reported as "end of input". Returns `Ok(None)` when the tokens do
/// not start a backup statement (they are plain SQL).
pub(crate) fn parse_backup_statement(
    src: &str,
    tokens: &[Token],
    terminator: Option<&Token>,
    eof: usize,
) -> Result<Option<Statement>> {
    let mut p = Parser {
        src,
        tokens,
        pos: 0,
        terminator,
        eof,
    };
    let Some(kind) = p.kind() else {
        return Ok(None);
    };
    let stmt = match kind {
        Kind::Create => p.create()?,
        Kind::Drop => p.drop()?,
        Kind::Alter => p.alter()?,
        Kind::Backup => p.backup()?,
        Kind::Restore => p.restore()?,
        Kind::Show => p.show()?,
        Kind::Verify => p.verify()?,
        Kind::Query => p.query()?,
        Kind::Prune => p.prune()?,
        Kind::Compact => p.compact()?,
    };
    Ok(Some(stmt))
}

struct Parser<'a> {
    src: &'a str,
    tokens: &'a [Token],
    pos: usize,
    terminator: Option<&'a Token>,
    eof: usize,
}

impl<'a> Parser<'a> {
    fn kind(&self) -> Option<Kind> {
        let kw = |i: usize, kw: &str| self.tokens.get(i).is_some_and(|t| t.is_kw(self.src, kw));
        if kw(1, "BACKUP") {
            if kw(0, "CREATE") {
                return Some(Kind::Create);
            }
            if kw(0, "DROP") {
                return Some(Kind::Drop);
            }
            if kw(0, "ALTER") {
                return Some(Kind::Alter);
            }
        }
        if kw(0, "BACKUP") {
            return Some(Kind::Backup);
        }
        if kw(0, "RESTORE") {
            return Some(Kind::Restore);
        }
        if kw(0, "SHOW")
            && ["BACKUP", "BACKUPS", "SCHEDULES", "OPERATIONS"]
                .iter()
                .any(|w| kw(1, w))
        {
            return Some(Kind::Show);
        }
        if kw(0, "VERIFY") {
            return Some(Kind::Verify);
        }
        if kw(0, "QUERY") {
            return Some(Kind::Query);
        }
        if kw(0, "PRUNE") {
            return Some(Kind::Prune);
        }
        if kw(0, "COMPACT") {
            return Some(Kind::Compact);
        }
        None
    }

    // ----- token helpers -------------------------------------------------

    fn peek(&self) -> Option<&'a Token> {
        self.tokens.get(self.pos)
    }

    fn peek_kw(&self, kw: &str) -> bool {
        self.peek().is_some_and(|t| t.is_kw(self.src, kw))
    }

    fn peek_is(&self, kind: &TokenKind) -> bool {
        self.peek().is_some_and(|t| &t.kind == kind)
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        let hit = self.peek_kw(kw);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn eat(&mut self, kind: &TokenKind) -> Option<Span> {
        let tok = self.peek().filter(|t| &t.kind == kind)?;
        self.pos += 1;
        Some(tok.span)
    }

    /// The current token (or the terminator / end of input) as shown in
    /// messages, and its span.
    fn found(&self) -> (String, Span) {
        match self.peek().or(self.terminator) {
            Some(tok) => (describe(tok.text(self.src)), tok.span),
            None => ("end of input".to_string(), Span::new(self.eof, self.eof)),
        }
    }

    /// True when the statement has no more tokens.
    fn at_end(&self) -> bool {
        self.pos >= self.tokens.len()
    }

    fn error_at(&self, span: Span, message: impl Into<String>) -> ParseError {
        ParseError::new(self.src, span, message)
    }

    /// ``expected {what}, found {current}`` at the current token.
    fn expected(&self, what: &str) -> ParseError {
        let (found, span) = self.found();
        self.error_at(span, format!("expected {what}, found {found}"))
    }

    fn expect_kw(&mut self, kw: &str, hint: &str) -> Result<()> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            Err(self.expected(&format!("`{kw}`")).with_hint(hint))
        }
    }

    fn expect_open(&mut self, what: &str, hint: &str) -> Result<Span> {
        self.eat(&TokenKind::LParen)
            .ok_or_else(|| self.expected(&format!("`(` {what}")).with_hint(hint))
    }

    /// Hint for a list whose `)` is missing, when the current token suggests so.
    fn unclosed_hint(&self, open: Span) -> Option<String> {
        let lost = self.at_end() || self.peek_kw("WITH") || self.peek_is(&TokenKind::LParen);
        lost.then(|| {
            let at = line_col(self.src, open.start);
            format!(
                "the `(` at line {}, column {} is never closed",
                at.line, at.column
            )
        })
    }

    /// An identifier: plain (keywords allowed), back-quoted or double-quoted.
    fn ident(&mut self, what: &str) -> Result<(String, Span)> {
        let Some(tok) = self.peek() else {
            return Err(self.expected(what));
        };
        let name = match &tok.kind {
            TokenKind::Ident => tok.text(self.src).to_string(),
            TokenKind::QuotedIdent(name) if name.is_empty() => {
                return Err(self
                    .error_at(
                        tok.span,
                        format!("expected {what}, found an empty identifier"),
                    )
                    .with_hint("identifiers need at least one character"));
            }
            TokenKind::QuotedIdent(name) => name.clone(),
            TokenKind::BracketIdent | TokenKind::Str(_) => {
                return Err(self
                    .expected(what)
                    .with_hint("quote identifiers with backquotes: `/Root/orders`"));
            }
            _ => return Err(self.expected(what)),
        };
        self.pos += 1;
        Ok((name, tok.span))
    }

    /// A table name: an identifier, or `schema.table` (each part an identifier), which is
    /// the name `schema.table`.
    fn table_name(&mut self) -> Result<(String, Span)> {
        let (mut name, mut span) = self.ident("a table name")?;
        while let Some(dot) = self
            .peek()
            .filter(|t| t.kind == TokenKind::Symbol && t.text(self.src) == ".")
        {
            self.pos += 1;
            let (part, end) = self.ident("a table name after `.`")?;
            name = format!("{name}.{part}");
            span = Span::new(span.start, end.end.max(dot.span.end));
        }
        Ok((name, span))
    }

    /// Requires the statement to be over. `also` names other tokens that
    /// could have come next.
    fn end(&self, also: Option<&str>, usage: &str) -> Result<()> {
        let Some(tok) = self.peek() else {
            return Ok(());
        };
        let expected = match also {
            Some(also) => format!("{also}, `;` or end of input"),
            None => "`;` or end of input".to_string(),
        };
        let starts_statement =
            tok.kind == TokenKind::Ident && STATEMENT_STARTS.iter().any(|k| tok.is_kw(self.src, k));
        let hint = if starts_statement {
            format!(
                "statements are separated by `;`: is one missing before `{}`?",
                tok.text(self.src)
            )
        } else {
            usage.to_string()
        };
        Err(self.expected(&expected).with_hint(hint))
    }

    // ----- statements ----------------------------------------------------

    fn collection_name(&mut self, usage: &str) -> Result<String> {
        self.expect_kw("COLLECTION", usage)?;
        Ok(self.ident("a collection name")?.0)
    }

    fn create(&mut self) -> Result<Statement> {
        self.pos = 2;
        let name = self.collection_name(USAGE_CREATE)?;
        let open = self.expect_open(
            "and the list of tables",
            "list the tables as ( TABLE a, TABLE b )",
        )?;
        let mut tables: Vec<String> = Vec::new();
        loop {
            self.expect_kw("TABLE", TABLE_HINT)?;
            let (table, span) = self.table_name()?;
            if tables.contains(&table) {
                return Err(self
                    .error_at(span, format!("table `{table}` is listed twice"))
                    .with_hint("list each table once"));
            }
            tables.push(table);
            if self.eat(&TokenKind::Comma).is_some() {
                continue;
            }
            if self.eat(&TokenKind::RParen).is_some() {
                break;
            }
            let err = self.expected("`,` or `)` after the table name");
            let hint = if self.peek_kw("TABLE") {
                Some("separate the tables with `,`".to_string())
            } else {
                self.unclosed_hint(open)
            };
            return Err(match hint {
                Some(hint) => err.with_hint(hint),
                None => err.with_hint(TABLE_HINT),
            });
        }
        let settings = if self.eat_kw("WITH") {
            self.settings()?
        } else {
            self.end(Some("`WITH`"), USAGE_CREATE)?;
            Settings::default()
        };
        self.end(None, USAGE_CREATE)?;
        Ok(Statement::CreateBackupCollection(CreateBackupCollection {
            name,
            tables,
            settings,
        }))
    }

    fn drop(&mut self) -> Result<Statement> {
        self.pos = 2;
        let name = self.collection_name(USAGE_DROP)?;
        self.end(None, USAGE_DROP)?;
        Ok(Statement::DropBackupCollection { name })
    }

    fn alter(&mut self) -> Result<Statement> {
        self.pos = 2;
        let name = self.collection_name(USAGE_ALTER)?;
        let action = if self.eat_kw("ADD") {
            self.expect_kw("TABLE", "write ADD TABLE name")?;
            AlterAction::AddTable(self.table_name()?.0)
        } else if self.eat_kw("DROP") {
            self.expect_kw("TABLE", "write DROP TABLE name")?;
            AlterAction::DropTable(self.table_name()?.0)
        } else if self.eat_kw("SET") {
            AlterAction::Set(self.settings()?)
        } else if self.eat_kw("RESET") {
            AlterAction::Reset(self.reset_keys()?)
        } else if self.eat_kw("PIN") {
            AlterAction::Pin(self.backup_id("`PIN`")?)
        } else if self.eat_kw("UNPIN") {
            AlterAction::Unpin(self.backup_id("`UNPIN`")?)
        } else {
            return Err(self
                .expected("`ADD TABLE`, `DROP TABLE`, `SET`, `RESET`, `PIN` or `UNPIN`")
                .with_hint(USAGE_ALTER));
        };
        self.end(None, USAGE_ALTER)?;
        Ok(Statement::AlterBackupCollection { name, action })
    }

    /// The collection name after BACKUP / RESTORE, and whether it was the
    /// bare word COLLECTION (as in the mistaken `BACKUP COLLECTION name`).
    fn run_name(&mut self) -> Result<(String, bool)> {
        let stray_collection = self.peek_kw("COLLECTION");
        Ok((self.ident("a collection name")?.0, stray_collection))
    }

    fn backup(&mut self) -> Result<Statement> {
        self.pos = 1;
        if self.peek_kw("INCREMENTAL") {
            return Err(self.expected("a collection name").with_hint(
                "the name comes first: BACKUP name INCREMENTAL \
                 (back-quote a collection called `incremental`)",
            ));
        }
        let (name, stray_collection) = self.run_name()?;
        let incremental = self.eat_kw("INCREMENTAL");
        if stray_collection && !incremental && !self.at_end() {
            return Err(self
                .expected("`INCREMENTAL`, `;` or end of input")
                .with_hint("write BACKUP name, without COLLECTION"));
        }
        self.end((!incremental).then_some("`INCREMENTAL`"), USAGE_BACKUP)?;
        Ok(Statement::Backup { name, incremental })
    }

    fn prune(&mut self) -> Result<Statement> {
        self.pos = 1;
        let (name, _) = self.run_name()?;
        let dry_run = self.eat_kw("DRY");
        if dry_run {
            self.expect_kw("RUN", "write PRUNE name DRY RUN")?;
        }
        self.end((!dry_run).then_some("`DRY RUN`"), USAGE_PRUNE)?;
        Ok(Statement::Prune { name, dry_run })
    }

    fn restore(&mut self) -> Result<Statement> {
        self.pos = 1;
        let (name, stray_collection) = self.run_name()?;
        if stray_collection && !self.at_end() && !self.peek_kw("AT") {
            return Err(self
                .expected("`AT`, `;` or end of input")
                .with_hint("write RESTORE name, without COLLECTION"));
        }
        let at = if self.eat_kw("AT") {
            Some(self.backup_id("`AT`")?)
        } else {
            None
        };
        let options = if self.eat_kw("WITH") {
            self.restore_options()?
        } else {
            RestoreOptions::default()
        };
        let also = match (&at, options.is_empty()) {
            (None, true) => Some("`AT`, `WITH`"),
            (Some(_), true) => Some("`WITH`"),
            _ => None,
        };
        self.end(also, USAGE_RESTORE)?;
        Ok(Statement::Restore { name, at, options })
    }

    /// The string after `AT`: a backup id.
    /// The backup id string literal after the keyword `after` (written `` `AT` ``).
    fn backup_id(&mut self, after: &str) -> Result<String> {
        let Some(Token {
            kind: TokenKind::Str(id),
            span,
        }) = self.peek()
        else {
            return Err(self
                .expected(&format!("a backup id string after {after}"))
                .with_hint(format!(
                    "the backup id is a string literal: {} 'backup-id'",
                    after.trim_matches('`')
                )));
        };
        if id.is_empty() {
            return Err(self.error_at(*span, format!("the backup id after {after} is empty")));
        }
        self.pos += 1;
        Ok(id.clone())
    }

    /// `( KEY = 'value' [, ...] )` after RESTORE … WITH.
    fn restore_options(&mut self) -> Result<RestoreOptions> {
        let open = self.expect_open(
            "and the restore options",
            "write the options as ( TABLES = 'orders', TARGET_PREFIX = 'restored_' )",
        )?;
        let mut options = RestoreOptions::default();
        let mut seen: Vec<String> = Vec::new();
        loop {
            if !seen.is_empty() && self.eat(&TokenKind::RParen).is_some() {
                break;
            }
            let Some(key_token) = self.peek().filter(|t| t.kind == TokenKind::Ident) else {
                return Err(self.expected("a restore option").with_hint(RESTORE_OPTIONS));
            };
            let (key_span, key) = (
                key_token.span,
                key_token.text(self.src).to_ascii_uppercase(),
            );
            if seen.contains(&key) {
                return Err(self.error_at(key_span, format!("option `{key}` is given twice")));
            }
            self.pos += 1;
            if self.eat(&TokenKind::Eq).is_none() {
                return Err(self.expected(&format!("`=` after `{key}`")));
            }
            let Some(Token {
                kind: TokenKind::Str(value),
                span: value_span,
            }) = self.peek().cloned()
            else {
                return Err(self
                    .expected(&format!("a string value for `{key}`"))
                    .with_hint("values are string literals: TABLES = 'orders, payments'"));
            };
            self.pos += 1;
            let list = |value: &str| -> Vec<String> {
                value
                    .split(',')
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty())
                    .collect()
            };
            let bad = |message: String| self.error_at(value_span, message);
            match key.as_str() {
                "TABLES" => {
                    let tables = list(&value);
                    if tables.is_empty() {
                        return Err(bad("TABLES names no table".into()));
                    }
                    options.tables = Some(tables);
                }
                "TARGET_PREFIX" if value.is_empty() => {
                    return Err(bad("TARGET_PREFIX is empty".into()));
                }
                "TARGET_PREFIX" => options.target_prefix = Some(value),
                "RENAME" => {
                    for pair in list(&value) {
                        let Some((from, to)) = pair
                            .split_once('=')
                            .map(|(a, b)| (a.trim(), b.trim()))
                            .filter(|(a, b)| !a.is_empty() && !b.is_empty())
                        else {
                            return Err(bad(format!(
                                "`{pair}` is not `table = new_name` (RENAME = 'orders = orders_copy')"
                            )));
                        };
                        options.rename.push((from.to_string(), to.to_string()));
                    }
                }
                "FILTER" if value.trim().is_empty() => return Err(bad("FILTER is empty".into())),
                "FILTER" => options.filter = Some(value),
                "DATABASE" if value.is_empty() => return Err(bad("DATABASE is empty".into())),
                "DATABASE" => options.database = Some(value),
                _ => {
                    return Err(self
                        .error_at(key_span, format!("unknown restore option `{key}`"))
                        .with_hint(RESTORE_OPTIONS));
                }
            }
            seen.push(key);
            if self.list_sep(open, "a restore option", RESTORE_OPTIONS)? {
                break;
            }
        }
        Ok(options)
    }

    /// `[AT 'backup-id']`, then the end of the statement.
    fn at_clause(&mut self, usage: &str) -> Result<Option<String>> {
        let at = if self.eat_kw("AT") {
            Some(self.backup_id("`AT`")?)
        } else {
            self.end(Some("`AT`"), usage)?;
            None
        };
        self.end(None, usage)?;
        Ok(at)
    }

    fn show(&mut self) -> Result<Statement> {
        self.pos = 1;
        if self.eat_kw("BACKUPS") {
            self.expect_kw("IN", USAGE_SHOW)?;
            let name = self.ident("a collection name")?.0;
            self.end(None, USAGE_SHOW)?;
            return Ok(Statement::ShowBackups { name });
        }
        if self.eat_kw("SCHEDULES") {
            self.end(None, USAGE_SHOW)?;
            return Ok(Statement::ShowSchedules);
        }
        if self.eat_kw("OPERATIONS") {
            let name = if self.eat_kw("IN") {
                Some(self.ident("a collection name")?.0)
            } else {
                None
            };
            self.end(None, USAGE_SHOW)?;
            return Ok(Statement::ShowOperations { name });
        }
        self.pos = 2;
        self.expect_kw("COLLECTIONS", USAGE_SHOW)?;
        self.end(None, USAGE_SHOW)?;
        Ok(Statement::ShowBackupCollections)
    }

    fn query(&mut self) -> Result<Statement> {
        self.pos = 1;
        let at = if self.eat_kw("AT") {
            Some(self.backup_id("`AT`")?)
        } else {
            None
        };
        let (Some(first), Some(last)) = (self.tokens.get(self.pos), self.tokens.last()) else {
            return Err(self.expected("a query").with_hint(USAGE_QUERY));
        };
        let sql = self.src[first.span.start..last.span.end].to_string();
        Ok(Statement::Query { at, sql })
    }

    fn compact(&mut self) -> Result<Statement> {
        self.pos = 1;
        let name = self.ident("a collection name")?.0;
        let at = self.at_clause(USAGE_COMPACT)?;
        Ok(Statement::Compact { name, at })
    }

    fn verify(&mut self) -> Result<Statement> {
        self.pos = 1;
        let name = self.ident("a collection name")?.0;
        let at = self.at_clause(USAGE_VERIFY)?;
        Ok(Statement::Verify { name, at })
    }

    // ----- settings ------------------------------------------------------

    /// A setting name; unknown names are errors.
    fn setting_key(&mut self) -> Result<(SettingKey, Span)> {
        match self.peek() {
            Some(tok) if tok.kind == TokenKind::Ident => {
                let text = tok.text(self.src);
                let key = SettingKey::from_name(text).ok_or_else(|| {
                    self.error_at(tok.span, format!("unknown setting `{text}`"))
                        .with_hint(KNOWN_SETTINGS)
                })?;
                self.pos += 1;
                Ok((key, tok.span))
            }
            _ => Err(self.expected("a setting name").with_hint(KNOWN_SETTINGS)),
        }
    }

    /// Records `key` as seen, failing when it was seen before.
    fn note_key(
        &self,
        seen: &mut Vec<(SettingKey, Span)>,
        key: SettingKey,
        span: Span,
    ) -> Result<()> {
        if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key) {
            let at = line_col(self.src, first.start);
            return Err(self
                .error_at(span, format!("setting `{key}` is given twice"))
                .with_hint(format!(
                    "it was first given at line {}, column {}",
                    at.line, at.column
                )));
        }
        seen.push((key, span));
        Ok(())
    }

    /// After a list item: `,` (continue, returns false) or `)` (done, returns true).
    fn list_sep(&mut self, open: Span, after: &str, item_hint: &str) -> Result<bool> {
        if self.eat(&TokenKind::Comma).is_some() {
            return Ok(false);
        }
        if self.eat(&TokenKind::RParen).is_some() {
            return Ok(true);
        }
        let err = self.expected(&format!("`,` or `)` after {after}"));
        let hint = if self.peek_is(&TokenKind::Ident) && !self.peek_kw("WITH") {
            item_hint.to_string()
        } else {
            self.unclosed_hint(open)
                .unwrap_or_else(|| item_hint.to_string())
        };
        Err(err.with_hint(hint))
    }

    /// `( key = 'value' [, ...] [,] )`
    fn settings(&mut self) -> Result<Settings> {
        let open = self.expect_open(
            "and the settings",
            "write the settings as ( STORAGE = 'cluster', INCREMENTAL_BACKUP_ENABLED = 'true' )",
        )?;
        let mut settings = Settings::default();
        let mut seen = Vec::new();
        loop {
            if !seen.is_empty() && self.eat(&TokenKind::RParen).is_some() {
                break; // trailing comma
            }
            let (key, key_span) = self.setting_key()?;
            self.note_key(&mut seen, key, key_span)?;
            if self.eat(&TokenKind::Eq).is_none() {
                return Err(self
                    .expected(&format!("`=` after `{key}`"))
                    .with_hint(format!("write {key} = {}", example(key, ""))));
            }
            self.setting_value(key, &mut settings)?;
            if self.list_sep(
                open,
                &format!("the value of `{key}`"),
                "separate the settings with `,`",
            )? {
                break;
            }
        }
        Ok(settings)
    }

    fn setting_value(&mut self, key: SettingKey, settings: &mut Settings) -> Result<()> {
        let Some(Token {
            kind: TokenKind::Str(value),
            span,
        }) = self.peek()
        else {
            let found_text = self.peek().map_or("", |t| t.text(self.src));
            return Err(self
                .expected(&format!("a string literal as the value of `{key}`"))
                .with_hint(format!(
                    "setting values are string literals: {key} = {}",
                    example(key, found_text)
                )));
        };
        let invalid = |why: &str| {
            self.error_at(
                *span,
                format!("invalid value for `{key}`: {}", short(&quote_string(value))),
            )
            .with_hint(why.to_string())
        };
        match key {
            SettingKey::Storage => {
                settings.storage = Some(parse_storage(value).ok_or_else(|| {
                    invalid("STORAGE is 'cluster' or an external location starting with file:// or s3://")
                })?);
            }
            SettingKey::IncrementalBackupEnabled => {
                let enabled = if value.eq_ignore_ascii_case("true") {
                    true
                } else if value.eq_ignore_ascii_case("false") {
                    false
                } else {
                    return Err(invalid("INCREMENTAL_BACKUP_ENABLED is 'true' or 'false'"));
                };
                settings.incremental_backup_enabled = Some(enabled);
            }
            SettingKey::KeepWithin => {
                settings.keep.within_hours = Some(parse_within(value).map_err(|e| invalid(&e))?);
            }
            SettingKey::BackupSchedule => {
                settings.backup_schedule = Some(parse_schedule(value).map_err(|e| invalid(&e))?);
            }
            SettingKey::FullBackupSchedule => {
                settings.full_backup_schedule =
                    Some(parse_schedule(value).map_err(|e| invalid(&e))?);
            }
            SettingKey::Timezone => {
                settings.timezone = Some(parse_timezone(value).ok_or_else(|| {
                    invalid("TIMEZONE is 'UTC' or a zone name of the IANA database, e.g. 'Europe/Berlin' or 'America/New_York'")
                })?);
            }
            SettingKey::OnSchemaChange => {
                settings.on_schema_change = Some(if value.trim().eq_ignore_ascii_case("full") {
                    SchemaChangePolicy::Full
                } else if value.trim().eq_ignore_ascii_case("refuse") {
                    SchemaChangePolicy::Refuse
                } else {
                    return Err(invalid(
                        "ON_SCHEMA_CHANGE is 'full' (an incremental becomes a full backup when a table's shape changed) or 'refuse'",
                    ));
                });
            }
            SettingKey::CompactAfter => {
                settings.compact_after = Some(
                    parse_count(value)
                        .ok_or_else(|| {
                            invalid(&format!(
                                "COMPACT_AFTER is a number of incrementals from 1 to {MAX_KEEP_COUNT}: a scheduled backup that makes a chain longer compacts it, e.g. COMPACT_AFTER = '24'"
                            ))
                        })?,
                );
            }
            SettingKey::Encryption => {
                settings.encryption = Some(match value.trim().to_ascii_lowercase().as_str() {
                    "none" => EncryptionAlgorithm::None,
                    "aes-256-gcm" => EncryptionAlgorithm::Aes256Gcm,
                    _ => {
                        return Err(invalid(
                            "ENCRYPTION is 'aes-256-gcm' (its key from ENCRYPTION_KEY_FILE, QUIVER_ENCRYPTION_KEY or QUIVER_PASSPHRASE) or 'none'",
                        ));
                    }
                });
            }
            SettingKey::EncryptionKeyFile => {
                if value.is_empty() || value.contains('\0') {
                    return Err(invalid(
                        "ENCRYPTION_KEY_FILE is the path of a file holding the 32-byte key, e.g. '/etc/quiver/orders.key' (`quiver key generate > key` makes one)",
                    ));
                }
                settings.encryption_key_file = Some(value.to_string());
            }
            SettingKey::KeepLast
            | SettingKey::KeepHourly
            | SettingKey::KeepDaily
            | SettingKey::KeepWeekly
            | SettingKey::KeepMonthly
            | SettingKey::KeepYearly => {
                let count = parse_count(value)
                    .ok_or_else(|| {
                        invalid(&format!(
                            "{key} is a count from 1 to {MAX_KEEP_COUNT}, e.g. {key} = '7'; RESET ( {key} ) removes the rule"
                        ))
                    })?;
                let keep = &mut settings.keep;
                *match key {
                    SettingKey::KeepLast => &mut keep.last,
                    SettingKey::KeepHourly => &mut keep.hourly,
                    SettingKey::KeepDaily => &mut keep.daily,
                    SettingKey::KeepWeekly => &mut keep.weekly,
                    SettingKey::KeepMonthly => &mut keep.monthly,
                    _ => &mut keep.yearly,
                } = Some(count);
            }
        }
        self.pos += 1;
        Ok(())
    }

    /// `( key [, ...] [,] )`
    fn reset_keys(&mut self) -> Result<Vec<SettingKey>> {
        let open = self.expect_open(
            "and the settings to reset",
            "write RESET ( STORAGE, INCREMENTAL_BACKUP_ENABLED )",
        )?;
        let mut seen = Vec::new();
        loop {
            if !seen.is_empty() && self.eat(&TokenKind::RParen).is_some() {
                break;
            }
            let (key, span) = self.setting_key()?;
            self.note_key(&mut seen, key, span)?;
            if self.list_sep(open, &format!("`{key}`"), "separate the settings with `,`")? {
                break;
            }
        }
        Ok(seen.into_iter().map(|(k, _)| k).collect())
    }
}

/// The largest `KEEP_…` count: far more backups than anyone keeps.
const MAX_KEEP_COUNT: u32 = 1_000_000;

/// A count setting's value (`KEEP_LAST`, `COMPACT_AFTER`): decimal digits only (no sign),
/// from 1 to [`MAX_KEEP_COUNT`].
fn parse_count(value: &str) -> Option<u32> {
    let digits = value.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=MAX_KEEP_COUNT).contains(n))
}

/// The longest `KEEP_WITHIN`: a thousand years, in hours.
pub const MAX_WITHIN_HOURS: u64 = 1000 * 366 * 24;

/// Reads a `KEEP_WITHIN` duration (`'12h'`, `'30d'`, `'2w'`, `'1w3d'`) as hours.
///
/// ```
/// assert_eq!(quiver_grammar::parse_within("1w3d"), Ok(240));
/// assert!(quiver_grammar::parse_within("30m").is_err());
/// ```
pub fn parse_within(text: &str) -> std::result::Result<u64, String> {
    let refuse = || {
        "KEEP_WITHIN is a number of hours, days or weeks, e.g. '12h', '30d', '2w' or '1w3d' (at most 1000 years)"
            .to_string()
    };
    let mut hours: u64 = 0;
    let mut digits = String::new();
    let mut units = 0;
    // Units come once each, largest first: `1w3d`, not `3d1w` or `1d1d`.
    let mut last_per = u64::MAX;
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let per = match c.to_ascii_lowercase() {
            'h' => 1,
            'd' => 24,
            'w' => 24 * 7,
            _ => return Err(refuse()),
        };
        if per >= last_per {
            return Err(refuse());
        }
        last_per = per;
        let n: u64 = digits.parse().map_err(|_| refuse())?;
        hours = n
            .checked_mul(per)
            .and_then(|h| hours.checked_add(h))
            .ok_or_else(refuse)?;
        digits.clear();
        units += 1;
    }
    if units == 0 || !digits.is_empty() || hours == 0 || hours > MAX_WITHIN_HOURS {
        return Err(refuse());
    }
    Ok(hours)
}

/// `TIMEZONE` values, as a zone name looks (`UTC`, `Europe/Berlin`, `Etc/GMT+5`); whether the
/// zone exists is for the time-zone database to say. Kept as written, trimmed.
fn parse_timezone(value: &str) -> Option<String> {
    let value = value.trim();
    let looks_like_zone = !value.is_empty()
        && value.len() <= 64
        && value.starts_with(|c: char| c.is_ascii_alphabetic())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '+'));
    looks_like_zone.then(|| value.to_string())
}

/// `STORAGE` values: `'cluster'` or a `file://` / `s3://` URL with a location.
fn parse_storage(value: &str) -> Option<Storage> {
    if value.eq_ignore_ascii_case("cluster") {
        return Some(Storage::Cluster);
    }
    let external = ["file://", "s3://"].iter().any(|scheme| {
        value.len() > scheme.len()
            && value
                .get(..scheme.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(scheme))
    });
    external.then(|| Storage::External(value.to_string()))
}

/// An example value for `key`, reusing the unquoted word the user wrote when
/// it fits.
fn example(key: SettingKey, found: &str) -> &'static str {
    match key {
        SettingKey::Storage => "'cluster'",
        SettingKey::KeepWithin => "'30d'",
        SettingKey::BackupSchedule => "'@hourly'",
        SettingKey::FullBackupSchedule => "'@daily'",
        SettingKey::Timezone => "'UTC'",
        SettingKey::OnSchemaChange => "'full'",
        SettingKey::CompactAfter => "'24'",
        SettingKey::Encryption => "'aes-256-gcm'",
        SettingKey::EncryptionKeyFile => "'/etc/quiver/orders.key'",
        SettingKey::KeepLast
        | SettingKey::KeepHourly
        | SettingKey::KeepDaily
        | SettingKey::KeepWeekly
        | SettingKey::KeepMonthly
        | SettingKey::KeepYearly => "'7'",
        SettingKey::IncrementalBackupEnabled if found.eq_ignore_ascii_case("false") => "'false'",
        SettingKey::IncrementalBackupEnabled => "'true'",
    }
}

/// Shortens long text for messages, on a char boundary.
fn short(text: &str) -> String {
    const MAX: usize = 40;
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        let head: String = text.chars().take(MAX).collect();
        format!("{head}…")
    }
}

/// A token's text as shown after "found": in backquotes unless it is
/// already quoted; whitespace runs collapse to one space.
fn describe(text: &str) -> String {
    let text = short(&text.split_whitespace().collect::<Vec<_>>().join(" "));
    let quoted = text.starts_with(['\'', '`', '"', '[']);
    if quoted { text } else { format!("`{text}`") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_values() {
        assert_eq!(parse_storage("CLUSTER"), Some(Storage::Cluster));
        assert_eq!(
            parse_storage("s3://b/p"),
            Some(Storage::External("s3://b/p".into()))
        );
        assert_eq!(
            parse_storage("FILE:///tmp"),
            Some(Storage::External("FILE:///tmp".into()))
        );
        assert_eq!(parse_storage("s3://"), None);
        assert_eq!(parse_storage("http://x"), None);
        assert_eq!(parse_storage("é"), None);
        assert_eq!(parse_storage(""), None);
    }

    #[test]
    fn describe_tokens() {
        assert_eq!(describe("tabel"), "`tabel`");
        assert_eq!(describe("'x'"), "'x'");
        assert_eq!(describe("`a b`"), "`a b`");
        assert_eq!(describe("'a\n  b'"), "'a b'");
        let long = "x".repeat(50);
        assert_eq!(describe(&long), format!("`{}…`", "x".repeat(40)));
    }
}
