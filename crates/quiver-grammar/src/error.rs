//! Parse errors with line/column positions and a caret rendering.

use std::fmt::Write as _;

use crate::span::Span;

/// Result type of the parsing functions.
pub type Result<T> = std::result::Result<T, ParseError>;

/// A syntax error, located in the source text.
///
/// `Display` gives the short form `line L, column C: message`;
/// [`ParseError::render`] gives the full form with the source line and a caret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct ParseError {
    /// What went wrong, e.g. ``expected `TABLE`, found `tabel` ``.
    pub message: String,
    /// The offending source text (byte offsets).
    pub span: Span,
    /// 1-based line of `span.start`.
    pub line: usize,
    /// 1-based column of `span.start`, counted in `char`s.
    pub column: usize,
    /// An optional suggestion on how to fix the input.
    pub hint: Option<String>,
    /// The source line containing `span.start` (without its line break).
    source_line: String,
    /// How many `char`s of `source_line` the caret underlines (at least 1).
    caret_width: usize,
}

/// A position in the source: 1-based line and 1-based column in chars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LineCol {
    pub line: usize,
    pub column: usize,
}

/// The largest char boundary of `src` that is `<= pos`.
pub(crate) fn floor_boundary(src: &str, pos: usize) -> usize {
    let mut pos = pos.min(src.len());
    while pos > 0 && !src.is_char_boundary(pos) {
        pos -= 1;
    }
    pos
}

/// Line and column of byte offset `pos` in `src`.
pub(crate) fn line_col(src: &str, pos: usize) -> LineCol {
    let pos = floor_boundary(src, pos);
    let before = &src[..pos];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    LineCol {
        line: before.bytes().filter(|&b| b == b'\n').count() + 1,
        column: before[line_start..].chars().count() + 1,
    }
}

impl ParseError {
    /// Builds an error for `span` of `src`, computing line, column and source line.
    ///
    /// Also used outside the parser to point at a statement that failed to run, so that
    /// every error a user sees has the same shape.
    pub fn new(src: &str, span: Span, message: impl Into<String>) -> Self {
        let start = floor_boundary(src, span.start);
        let end = floor_boundary(src, span.end.max(start));
        let line_start = src[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = src[start..].find('\n').map_or(src.len(), |i| start + i);
        let source_line = src[line_start..line_end].trim_end_matches('\r').to_string();
        let caret_width = src[start..end.min(line_end)].chars().count().max(1);
        let LineCol { line, column } = line_col(src, start);
        ParseError {
            message: message.into(),
            span: Span::new(start, end),
            line,
            column,
            hint: None,
            source_line,
            caret_width,
        }
    }

    /// Adds a hint.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The source line the error points into (without its line break).
    #[must_use]
    pub fn source_line(&self) -> &str {
        &self.source_line
    }

    /// The same error with its source line passed through `mask`, which keeps the line's
    /// number of characters (e.g. to hide a secret under `*`s): the caret still lines up.
    pub fn with_masked_source(mut self, mask: impl Fn(&str) -> String) -> ParseError {
        let masked = mask(&self.source_line);
        if masked.chars().count() == self.source_line.chars().count() {
            self.source_line = masked;
        }
        // The message may quote the same text.
        self.message = mask(&self.message);
        if let Some(hint) = &self.hint {
            self.hint = Some(mask(hint));
        }
        self
    }

    /// Renders the error in full: message, position, the source line with a
    /// caret under the offending text, and the hint if there is one.
    ///
    /// ```
    /// let err = quiver_grammar::parse_statement("BACKUP x y").unwrap_err();
    /// assert_eq!(
    ///     err.render(),
    ///     "error: expected `INCREMENTAL`, `;` or end of input, found `y`\n \
    ///      --> line 1, column 10\n  |\n1 | BACKUP x y\n  |          ^\n  \
    ///      = hint: usage: BACKUP name [INCREMENTAL]\n"
    /// );
    /// ```
    #[must_use]
    pub fn render(&self) -> String {
        let number = self.line.to_string();
        let pad = " ".repeat(number.len());
        // Mirror tabs so that the caret lines up with the displayed line.
        let indent: String = self
            .source_line
            .chars()
            .take(self.column.saturating_sub(1))
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let mut out = String::new();
        let _ = writeln!(out, "error: {}", self.message);
        let _ = writeln!(out, "{pad}--> line {}, column {}", self.line, self.column);
        let _ = writeln!(out, "{pad} |");
        let _ = writeln!(out, "{number} | {}", self.source_line);
        let _ = writeln!(out, "{pad} | {indent}{}", "^".repeat(self.caret_width));
        if let Some(hint) = &self.hint {
            let _ = writeln!(out, "{pad} = hint: {hint}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_chars() {
        let src = "ab\nçé x";
        assert_eq!(line_col(src, 0), LineCol { line: 1, column: 1 });
        assert_eq!(line_col(src, 3), LineCol { line: 2, column: 1 });
        let x = src.find('x').unwrap();
        assert_eq!(line_col(src, x), LineCol { line: 2, column: 4 });
        // Out of range and mid-char offsets are clamped, never panic.
        assert_eq!(line_col(src, 4), LineCol { line: 2, column: 1 });
        assert_eq!(line_col(src, 999).line, 2);
    }

    #[test]
    fn render_multiline_span_is_clipped() {
        let src = "one\n  two three\nfour";
        let start = src.find("two").unwrap();
        let err = ParseError::new(src, Span::new(start, src.len()), "boom").with_hint("fix it");
        assert_eq!(err.to_string(), "line 2, column 3: boom");
        assert_eq!(
            err.render(),
            "error: boom\n --> line 2, column 3\n  |\n2 |   two three\n  |   ^^^^^^^^^\n  = hint: fix it\n"
        );
    }

    #[test]
    fn render_at_end_of_input_has_one_caret() {
        let src = "abc";
        let err = ParseError::new(src, Span::new(3, 3), "eof");
        assert_eq!(err.column, 4);
        assert!(err.render().ends_with("1 | abc\n  |    ^\n"));
        assert_eq!(err.source_line(), "abc");
    }

    #[test]
    fn render_mirrors_tabs_and_wide_line_numbers() {
        let src = format!("{}\tx", "\n".repeat(11));
        let err = ParseError::new(&src, Span::new(12, 13), "m");
        assert_eq!(err.line, 12);
        assert_eq!(
            err.render(),
            "error: m\n  --> line 12, column 2\n   |\n12 | \tx\n   | \t^\n"
        );
    }
}
