//! A PostgreSQL tokenizer, enough to check a stored SQL fragment before it is spliced into
//! quiver's DDL: it knows every quoting form (`'…'`, `E'…'`, `$tag$…$tag$`, `"…"`, `U&"…"`)
//! and comments (`--`, nested `/* */`), so that a fragment cannot end early, and it never
//! panics on any input.

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A word: keyword or unquoted identifier.
    Word,
    /// `"…"` (or `U&"…"`).
    QuotedIdent,
    /// A string constant in any form, or a dollar-quoted one.
    Str,
    /// A number.
    Number,
    /// `(` or `[`.
    Open,
    /// `)` or `]`.
    Close,
    /// `,`.
    Comma,
    /// `;`.
    Semicolon,
    /// A comment.
    Comment,
    /// Any other character run: operators, `.`, `::`, `$1`.
    Other,
}

/// One token: its kind and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token<'a> {
    pub kind: Kind,
    pub text: &'a str,
}

impl Token<'_> {
    /// The name this token spells: a word as written, a `"quoted"` name unquoted; `None`
    /// for anything else (a `U&"…"` name included, whose escapes this does not read).
    pub fn name(&self) -> Option<String> {
        match self.kind {
            Kind::Word => Some(self.text.to_string()),
            Kind::QuotedIdent if self.text.starts_with('"') => {
                Some(self.text[1..self.text.len() - 1].replace("\"\"", "\""))
            }
            _ => None,
        }
    }

    /// Whether this is the word `keyword` (ASCII case-insensitive).
    pub fn is_word(&self, keyword: &str) -> bool {
        self.kind == Kind::Word && self.text.eq_ignore_ascii_case(keyword)
    }
}

/// The tokens of `sql`, or why it cannot be read (an unterminated quote or comment).
pub(crate) fn tokenize(sql: &str) -> Result<Vec<Token<'_>>, String> {
    let bytes = sql.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        let kind = match c {
            b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => {
                i += 1;
                continue;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = sql[i..].find('\n').map_or(bytes.len(), |n| i + n);
                Kind::Comment
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let mut depth = 0usize;
                loop {
                    if i + 1 >= bytes.len() {
                        return Err("a comment is not closed".into());
                    }
                    match (bytes[i], bytes[i + 1]) {
                        (b'/', b'*') => {
                            depth += 1;
                            i += 2;
                        }
                        (b'*', b'/') => {
                            depth -= 1;
                            i += 2;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => i += 1,
                    }
                }
                Kind::Comment
            }
            b'\'' => {
                i = quoted(bytes, i, b'\'', false)?;
                Kind::Str
            }
            b'"' => {
                i = quoted(bytes, i, b'"', false)?;
                Kind::QuotedIdent
            }
            b'e' | b'E' if bytes.get(i + 1) == Some(&b'\'') => {
                i = quoted(bytes, i + 1, b'\'', true)?;
                Kind::Str
            }
            b'b' | b'B' | b'x' | b'X' | b'n' | b'N' if bytes.get(i + 1) == Some(&b'\'') => {
                i = quoted(bytes, i + 1, b'\'', false)?;
                Kind::Str
            }
            b'u' | b'U'
                if bytes.get(i + 1) == Some(&b'&')
                    && matches!(bytes.get(i + 2), Some(b'\'' | b'"')) =>
            {
                let quote = bytes[i + 2];
                i = quoted(bytes, i + 2, quote, false)?;
                if quote == b'"' {
                    Kind::QuotedIdent
                } else {
                    Kind::Str
                }
            }
            b'$' => match dollar_tag(bytes, i) {
                Some(tag_end) => {
                    let tag = &sql[i..tag_end];
                    match sql[tag_end..].find(tag) {
                        Some(n) => {
                            i = tag_end + n + tag.len();
                            Kind::Str
                        }
                        None => return Err("a dollar-quoted string is not closed".into()),
                    }
                }
                None => {
                    i += 1;
                    while i < bytes.len() && bytes[i].is_ascii_digit() {
                        i += 1;
                    }
                    Kind::Other
                }
            },
            b'(' | b'[' => {
                i += 1;
                Kind::Open
            }
            b')' | b']' => {
                i += 1;
                Kind::Close
            }
            b',' => {
                i += 1;
                Kind::Comma
            }
            b';' => {
                i += 1;
                Kind::Semicolon
            }
            b'0'..=b'9' => {
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.' || bytes[i] == b'_')
                {
                    i += 1;
                }
                Kind::Number
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric()
                        || bytes[i] == b'_'
                        || bytes[i] == b'$'
                        || bytes[i] >= 0x80)
                {
                    i += 1;
                }
                Kind::Word
            }
            _ => {
                i += 1;
                Kind::Other
            }
        };
        // Multi-byte characters only ever start words, which end on an ASCII byte or the end.
        let text = sql
            .get(start..i)
            .ok_or("a token does not end on a character boundary")?;
        tokens.push(Token { kind, text });
    }
    Ok(tokens)
}

/// The end (exclusive) of a quoted run starting at `start` (its opening quote). A doubled
/// quote is one quote; with `backslash`, `\` escapes the next byte.
fn quoted(bytes: &[u8], start: usize, quote: u8, backslash: bool) -> Result<usize, String> {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if backslash => i += 2,
            q if q == quote => {
                if bytes.get(i + 1) == Some(&quote) {
                    i += 2;
                } else {
                    return Ok(i + 1);
                }
            }
            _ => i += 1,
        }
    }
    Err(format!(
        "a {} is not closed",
        if quote == b'"' {
            "quoted name"
        } else {
            "string"
        }
    ))
}

/// The end of a dollar-quote tag (`$$` or `$tag$`) starting at `start`, if there is one.
fn dollar_tag(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    if bytes.get(i).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    while i < bytes.len()
        && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] >= 0x80)
    {
        i += 1;
    }
    (bytes.get(i) == Some(&b'$')).then_some(i + 1)
}

/// Checks a stored fragment that quiver splices into its own DDL: it reads, holds no
/// comment and no `;`, opens and closes its own brackets, and has no `,` outside them (so
/// it cannot end the clause it stands in and start another).
pub(crate) fn check_fragment<'a>(fragment: &'a str, what: &str) -> Result<Vec<Token<'a>>, String> {
    let bad = |why: &str| Err(format!("{what} `{}` {why}", shorten(fragment)));
    let tokens = match tokenize(fragment) {
        Ok(tokens) => tokens,
        Err(e) => return bad(&format!("cannot be read: {e}")),
    };
    if tokens.is_empty() {
        return bad("is empty");
    }
    let mut depth = 0usize;
    for token in &tokens {
        match token.kind {
            Kind::Comment => return bad("holds a comment"),
            Kind::Semicolon => return bad("holds a `;`"),
            Kind::Open => depth += 1,
            Kind::Close if depth == 0 => return bad("closes a bracket it did not open"),
            Kind::Close => depth -= 1,
            Kind::Comma if depth == 0 => return bad("has a `,` outside brackets"),
            _ => {}
        }
    }
    if depth != 0 {
        return bad("leaves a bracket open");
    }
    Ok(tokens)
}

/// `text`, cut for a message.
pub(crate) fn shorten(text: &str) -> String {
    let mut end = text.len().min(120);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    if end < text.len() {
        format!("{}…", &text[..end])
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_comments_are_tokens_of_their_own() {
        let tokens = tokenize("a = E'x\\'y' || $f$ ; ) $f$ /* /* */ */ \"q\"\"\" -- c").unwrap();
        let kinds: Vec<Kind> = tokens.iter().map(|t| t.kind).collect();
        assert_eq!(
            kinds,
            [
                Kind::Word,
                Kind::Other,
                Kind::Str,
                Kind::Other,
                Kind::Other,
                Kind::Str,
                Kind::Comment,
                Kind::QuotedIdent,
                Kind::Comment
            ]
        );
    }

    #[test]
    fn fragments_cannot_leave_their_clause() {
        assert!(check_fragment("(qty > 0)", "a check").is_ok());
        assert!(check_fragment("ARRAY[1, 2]", "a default").is_ok());
        for forged in [
            "1); DROP TABLE t",
            "1, evil int",
            "1) --",
            "'x",
            "((1)",
            "1 /* x */",
            "$$",
        ] {
            assert!(check_fragment(forged, "a default").is_err(), "{forged}");
        }
    }

    proptest::proptest! {
        #[test]
        fn tokenize_never_panics(text in "\\PC{0,40}") {
            let _ = tokenize(&text);
            let _ = check_fragment(&text, "x");
        }
    }
}
