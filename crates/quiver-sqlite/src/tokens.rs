//! SQL text as tokens, for reading and rewriting stored DDL without running it.
//!
//! Stored DDL comes from a backup location, which is untrusted input: every function here
//! takes any text, including unterminated quotes and comments, without panicking.

/// A token of SQL text: its byte range and its text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Token<'a> {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) text: &'a str,
}

impl Token<'_> {
    /// Whether this is the bare word `word` (keywords ignore ASCII case).
    pub(crate) fn is(&self, word: &str) -> bool {
        self.text.eq_ignore_ascii_case(word)
    }
}

/// The tokens of `sql`: words, quoted names, strings, single punctuation characters;
/// whitespace and comments skipped. An unterminated quote runs to the end of the text.
pub(crate) fn tokens(sql: &str) -> Vec<Token<'_>> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let word_byte = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80;
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
            b if word_byte(b) => {
                while i < bytes.len() && word_byte(bytes[i]) {
                    i += 1;
                }
            }
            _ => {
                // One character, however many bytes it takes.
                i += sql[i..].chars().next().map_or(1, char::len_utf8);
            }
        }
        out.push(Token {
            start,
            end: i,
            text: &sql[start..i],
        });
    }
    out
}

/// `name` quoted with double quotes, doubling any inside.
pub(crate) fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The name a name token stands for, or `None` for an unterminated quoted name.
pub(crate) fn unquoted(token: &str) -> Option<String> {
    let inner = |open: char, close: char| {
        token
            .strip_prefix(open)?
            .strip_suffix(close)
            .filter(|_| token.len() >= 2)
    };
    Some(match token.chars().next() {
        Some(q @ ('"' | '`')) => {
            let inner = inner(q, q)?;
            let doubled = format!("{q}{q}");
            // A lone quote inside means the closing one was an escaped pair: unterminated.
            if inner.replace(&doubled, "").contains(q) {
                return None;
            }
            inner.replace(&doubled, &q.to_string())
        }
        Some('[') => inner('[', ']')?.to_string(),
        Some('\'') => return None,
        _ => token.to_string(),
    })
}

/// A (possibly `schema.`-qualified) name starting at token `at`.
#[derive(Debug, Clone)]
pub(crate) struct NameAt {
    /// Byte range of the whole name, qualifier included.
    pub(crate) range: (usize, usize),
    /// The token after the name.
    pub(crate) next: usize,
    /// The schema qualifier, if any.
    pub(crate) schema: Option<String>,
    /// The name itself, unquoted.
    pub(crate) name: String,
}

/// The name at token `at`; `None` if there is none there (or it is an unterminated quote).
pub(crate) fn name_at(tokens: &[Token], at: usize) -> Option<NameAt> {
    let first = tokens.get(at)?;
    if !is_name(first) {
        return None;
    }
    if tokens.get(at + 1).is_some_and(|t| t.text == ".") {
        let last = tokens.get(at + 2).filter(|t| is_name(t))?;
        return Some(NameAt {
            range: (first.start, last.end),
            next: at + 3,
            schema: Some(unquoted(first.text)?),
            name: unquoted(last.text)?,
        });
    }
    Some(NameAt {
        range: (first.start, first.end),
        next: at + 1,
        schema: None,
        name: unquoted(first.text)?,
    })
}

/// Whether a token can be a name: a word or a quoted name (not a string, not punctuation).
fn is_name(token: &Token) -> bool {
    let first = token.text.as_bytes().first().copied().unwrap_or(b' ');
    first.is_ascii_alphanumeric()
        || first == b'_'
        || first >= 0x80
        || matches!(first, b'"' | b'`' | b'[')
}

/// Skips `IF NOT EXISTS` at `at`; returns the position after it.
pub(crate) fn skip_if_not_exists(tokens: &[Token], at: usize) -> usize {
    let is = |i: usize, word: &str| tokens.get(i).is_some_and(|t| t.is(word));
    if is(at, "IF") && is(at + 1, "NOT") && is(at + 2, "EXISTS") {
        at + 3
    } else {
        at
    }
}

/// SQLite's comparison of identifiers: equal ignoring ASCII case (and only ASCII case).
pub(crate) fn same_name(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unterminated_and_multibyte_text_never_panics() {
        for sql in [
            "\"", "\"é", "[é", "'", "`x", "/*", "--", "é", "\"a\"\"", "a.\"", "x.", "(",
        ] {
            let tokens = tokens(sql);
            for at in 0..tokens.len() + 1 {
                let _ = name_at(&tokens, at);
            }
            for t in &tokens {
                let _ = unquoted(t.text);
            }
        }
        assert_eq!(unquoted("\"é"), None);
        assert_eq!(unquoted("\"a\"\""), None);
        assert_eq!(unquoted("\"a\"\"b\"").as_deref(), Some("a\"b"));
        assert_eq!(unquoted("[x y]").as_deref(), Some("x y"));
    }
}
