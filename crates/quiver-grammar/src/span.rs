//! Byte spans into the source text and values tagged with them.

/// A half-open byte range `start..end` into the source text that was parsed.
///
/// Both ends always lie on `char` boundaries of that source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// Byte offset of the first byte covered.
    pub start: usize,
    /// Byte offset one past the last byte covered.
    pub end: usize,
}

impl Span {
    /// Creates the span `start..end`.
    #[must_use]
    pub const fn new(start: usize, end: usize) -> Self {
        Self { start, end }
    }

    /// The smallest span covering both `self` and `other`.
    #[must_use]
    pub const fn to(self, other: Span) -> Span {
        let start = if self.start < other.start {
            self.start
        } else {
            other.start
        };
        let end = if self.end > other.end {
            self.end
        } else {
            other.end
        };
        Span { start, end }
    }

    /// Number of bytes covered.
    #[must_use]
    pub const fn len(self) -> usize {
        self.end.saturating_sub(self.start)
    }

    /// True when the span covers no bytes.
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.len() == 0
    }
}

/// A syntax node together with the span of source text it was parsed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located<T> {
    /// The parsed value.
    pub node: T,
    /// Where in the source it came from.
    pub span: Span,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn span_helpers() {
        let a = Span::new(3, 5);
        let b = Span::new(1, 4);
        assert_eq!(a.to(b), Span::new(1, 5));
        assert_eq!(a.len(), 2);
        assert!(!a.is_empty());
        assert!(Span::new(4, 4).is_empty());
        assert_eq!(Span::new(5, 3).len(), 0);
    }
}
