//! Tokenizer shared by the statement splitter and the parser.
//!
//! It understands enough SQLite lexical structure to split scripts safely:
//! strings, the three kinds of quoted identifiers, and both comment styles.

use crate::error::{ParseError, Result};
use crate::span::Span;

/// The kind of a token, with the decoded value where one is needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// A plain identifier or keyword; its text is the source slice.
    Ident,
    /// A `` `back-quoted` `` or `"double-quoted"` identifier, unescaped.
    QuotedIdent(String),
    /// A SQLite `[bracketed]` identifier (not accepted by the backup grammar).
    BracketIdent,
    /// A `'string'` literal, unescaped.
    Str(String),
    /// A numeric literal (loosely lexed).
    Number,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `,`
    Comma,
    /// `=`
    Eq,
    /// `;`
    Semi,
    /// Any other single character (operators, parameters, ...).
    Symbol,
}

/// One token and the source bytes it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub kind: TokenKind,
    pub span: Span,
}

impl Token {
    /// The source text of the token.
    pub fn text<'s>(&self, src: &'s str) -> &'s str {
        src.get(self.span.start..self.span.end).unwrap_or("")
    }

    /// True for a plain identifier equal to `kw` (ASCII case-insensitive).
    pub fn is_kw(&self, src: &str, kw: &str) -> bool {
        self.kind == TokenKind::Ident && self.text(src).eq_ignore_ascii_case(kw)
    }
}

/// Can `c` start a plain identifier?
pub(crate) fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || (!c.is_ascii() && c.is_alphabetic())
}

/// Can `c` continue a plain identifier?
pub(crate) fn is_ident_continue(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '$' || (!c.is_ascii() && c.is_alphanumeric())
}

/// Is `s` a plain identifier, i.e. lexed as exactly one [`TokenKind::Ident`]?
pub(crate) fn is_plain_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(is_ident_start) && chars.all(is_ident_continue)
}

/// Splits `src` into tokens, skipping whitespace and comments.
///
/// Fails only on an unterminated string, quoted identifier or block comment,
/// pointing at where it starts.
pub(crate) fn tokenize(src: &str) -> Result<Vec<Token>> {
    let mut lexer = Lexer { src, pos: 0 };
    let mut tokens = Vec::new();
    while let Some(token) = lexer.next_token()? {
        tokens.push(token);
    }
    Ok(tokens)
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.src.get(self.pos..)?.chars().next()
    }

    fn peek2(&self) -> Option<char> {
        let mut chars = self.src.get(self.pos..)?.chars();
        chars.next();
        chars.next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn bump_while(&mut self, pred: impl Fn(char) -> bool) {
        while self.peek().is_some_and(&pred) {
            self.bump();
        }
    }

    fn unterminated(&self, start: usize, what: &str, hint: &str) -> ParseError {
        let len = self.src[start..].chars().next().map_or(0, char::len_utf8);
        ParseError::new(
            self.src,
            Span::new(start, start + len),
            format!("unterminated {what}"),
        )
        .with_hint(hint)
    }

    /// Skips whitespace and comments.
    fn skip_trivia(&mut self) -> Result<()> {
        loop {
            match (self.peek(), self.peek2()) {
                (Some(c), _) if c.is_whitespace() => {
                    self.bump();
                }
                (Some('-'), Some('-')) => self.bump_while(|c| c != '\n'),
                (Some('/'), Some('*')) => {
                    let start = self.pos;
                    match self.src[start + 2..].find("*/") {
                        Some(i) => self.pos = start + 2 + i + 2,
                        None => {
                            return Err(self.unterminated(
                                start,
                                "block comment",
                                "close the comment with `*/`",
                            ));
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    /// Reads a quoted run whose closing quote `q` is escaped by doubling.
    /// Returns `None` when the input ends first.
    fn quoted(&mut self, q: char) -> Option<String> {
        self.bump();
        let mut out = String::new();
        loop {
            let c = self.bump()?;
            if c == q {
                if self.peek() == Some(q) {
                    self.bump();
                } else {
                    return Some(out);
                }
            }
            out.push(c);
        }
    }

    fn next_token(&mut self) -> Result<Option<Token>> {
        self.skip_trivia()?;
        let start = self.pos;
        let Some(c) = self.peek() else {
            return Ok(None);
        };
        let kind = match c {
            '\'' => match self.quoted('\'') {
                Some(s) => TokenKind::Str(s),
                None => {
                    return Err(self.unterminated(
                        start,
                        "string literal",
                        "end the string with `'`; write `''` for a quote inside it",
                    ));
                }
            },
            '"' | '`' => match self.quoted(c) {
                Some(s) => TokenKind::QuotedIdent(s),
                None => {
                    return Err(self.unterminated(
                        start,
                        "quoted identifier",
                        &format!("end the identifier with {c}; write {c}{c} for a {c} inside it"),
                    ));
                }
            },
            '[' => match self.src[start..].find(']') {
                Some(i) => {
                    self.pos = start + i + 1;
                    TokenKind::BracketIdent
                }
                None => {
                    return Err(self.unterminated(
                        start,
                        "bracketed identifier",
                        "end the identifier with `]`",
                    ));
                }
            },
            c if is_ident_start(c) => {
                self.bump_while(is_ident_continue);
                TokenKind::Ident
            }
            c if c.is_ascii_digit()
                || (c == '.' && self.peek2().is_some_and(|d| d.is_ascii_digit())) =>
            {
                self.bump_while(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
                TokenKind::Number
            }
            _ => {
                self.bump();
                match c {
                    '(' => TokenKind::LParen,
                    ')' => TokenKind::RParen,
                    ',' => TokenKind::Comma,
                    '=' => TokenKind::Eq,
                    ';' => TokenKind::Semi,
                    _ => TokenKind::Symbol,
                }
            }
        };
        Ok(Some(Token {
            kind,
            span: Span::new(start, self.pos),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(TokenKind, &str)> {
        tokenize(src)
            .unwrap()
            .into_iter()
            .map(|t| {
                let text = t.text(src);
                (t.kind, text)
            })
            .collect()
    }

    #[test]
    fn lexes_all_token_kinds() {
        let src = "a_1$ `b``c` \"d\"\"e\" [f;g] 'h''i' 12.5e3 ( ) , = ; + é";
        let k = kinds(src);
        assert_eq!(k[0], (TokenKind::Ident, "a_1$"));
        assert_eq!(k[1], (TokenKind::QuotedIdent("b`c".into()), "`b``c`"));
        assert_eq!(k[2], (TokenKind::QuotedIdent("d\"e".into()), "\"d\"\"e\""));
        assert_eq!(k[3], (TokenKind::BracketIdent, "[f;g]"));
        assert_eq!(k[4], (TokenKind::Str("h'i".into()), "'h''i'"));
        assert_eq!(k[5], (TokenKind::Number, "12.5e3"));
        assert_eq!(k[6].0, TokenKind::LParen);
        assert_eq!(k[7].0, TokenKind::RParen);
        assert_eq!(k[8].0, TokenKind::Comma);
        assert_eq!(k[9].0, TokenKind::Eq);
        assert_eq!(k[10].0, TokenKind::Semi);
        assert_eq!(k[11], (TokenKind::Symbol, "+"));
        assert_eq!(k[12], (TokenKind::Ident, "é"));
        assert_eq!(k.len(), 13);
    }

    #[test]
    fn skips_comments() {
        let k = kinds("-- x;\na /* ; */ b --");
        assert_eq!(k, vec![(TokenKind::Ident, "a"), (TokenKind::Ident, "b")]);
        assert_eq!(
            kinds("a-b/c"),
            vec![
                (TokenKind::Ident, "a"),
                (TokenKind::Symbol, "-"),
                (TokenKind::Ident, "b"),
                (TokenKind::Symbol, "/"),
                (TokenKind::Ident, "c"),
            ]
        );
    }

    #[test]
    fn unterminated_things_point_at_their_start() {
        for (src, at, what) in [
            ("x 'abc", 2, "unterminated string literal"),
            ("x /* abc", 2, "unterminated block comment"),
            ("x `abc", 2, "unterminated quoted identifier"),
            ("x \"abc''", 2, "unterminated quoted identifier"),
            ("x [abc", 2, "unterminated bracketed identifier"),
            ("'a''", 0, "unterminated string literal"),
        ] {
            let err = tokenize(src).unwrap_err();
            assert_eq!(err.span.start, at, "{src}");
            assert_eq!(err.message, what, "{src}");
        }
    }

    #[test]
    fn plain_ident_classification() {
        assert!(is_plain_ident("abc_1$"));
        assert!(is_plain_ident("_x"));
        assert!(is_plain_ident("данные"));
        assert!(!is_plain_ident(""));
        assert!(!is_plain_ident("1a"));
        assert!(!is_plain_ident("$a"));
        assert!(!is_plain_ident("a-b"));
        assert!(!is_plain_ident("a b"));
    }
}
