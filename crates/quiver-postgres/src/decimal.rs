//! numeric(p, s) as Arrow's Decimal256(p, s) (values of at most 38 digits, as i128 here):
//! read from the server's text form, written
//! back as text, both exact (no rounding, no digit dropped: anything else is refused).

/// The text of `value` (`scale` digits after the point): `-12.50`, `0.001`, `42`.
pub(crate) fn decimal_text(value: i128, scale: u8) -> String {
    let digits = value.unsigned_abs().to_string();
    let scale = usize::from(scale);
    let sign = if value < 0 { "-" } else { "" };
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    let digits = format!("{digits:0>width$}", width = scale + 1);
    let (whole, fraction) = digits.split_at(digits.len() - scale);
    format!("{sign}{whole}.{fraction}")
}

/// `text` as written by numeric(`precision`, `scale`)'s output (`-12.50`): exactly `scale`
/// digits after the point, at most `precision` digits in all.
pub(crate) fn parse_decimal(text: &str, precision: u8, scale: u8) -> Result<i128, String> {
    let refuse = || format!("`{text}` is not a numeric({precision},{scale}) value");
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    if whole.is_empty()
        || fraction.len() != usize::from(scale)
        || !whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return Err(refuse());
    }
    let significant = whole.trim_start_matches('0').len() + fraction.len();
    if significant > usize::from(precision) {
        return Err(refuse());
    }
    let mut value: i128 = 0;
    for b in whole.bytes().chain(fraction.bytes()) {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i128::from(b - b'0')))
            .ok_or_else(refuse)?;
    }
    Ok(if negative { -value } else { value })
}

/// `(precision, scale)` of a type `format_type` writes as `numeric(p,s)` or `numeric(p)`,
/// when 128 bits hold its values exactly: 1 <= p <= 38, 0 <= s <= p.
pub(crate) fn numeric_typmod(type_name: &str) -> Option<(u8, u8)> {
    let inner = type_name.strip_prefix("numeric(")?.strip_suffix(')')?;
    let (p, s) = inner.split_once(',').unwrap_or((inner, "0"));
    let (p, s): (u8, u8) = (p.trim().parse().ok()?, s.trim().parse().ok()?);
    ((1..=38).contains(&p) && s <= p).then_some((p, s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn numeric_text_reads_and_writes_exactly() {
        assert_eq!(decimal_text(-1250, 2), "-12.50");
        assert_eq!(decimal_text(1, 3), "0.001");
        assert_eq!(decimal_text(-1, 3), "-0.001");
        assert_eq!(decimal_text(42, 0), "42");
        assert_eq!(parse_decimal("-12.50", 4, 2), Ok(-1250));
        assert_eq!(parse_decimal("0.001", 3, 3), Ok(1));
        assert!(parse_decimal("12.5", 4, 2).is_err(), "a digit missing");
        assert!(parse_decimal("123.45", 4, 2).is_err(), "too many digits");
        assert!(parse_decimal("NaN", 4, 2).is_err());
        assert!(parse_decimal("1e5", 6, 0).is_err());
        assert_eq!(numeric_typmod("numeric(12,2)"), Some((12, 2)));
        assert_eq!(numeric_typmod("numeric(5)"), Some((5, 0)));
        assert_eq!(numeric_typmod("numeric"), None);
        assert_eq!(numeric_typmod("numeric(3,5)"), None);
        assert_eq!(numeric_typmod("numeric(40,2)"), None);
    }

    proptest! {
        #[test]
        fn parse_reads_what_text_writes(value in any::<i64>(), wide in any::<bool>(), scale in 0u8..=18) {
            let value = if wide { i128::from(value) * 1_000_000_000_000 } else { i128::from(value) };
            let text = decimal_text(value, scale);
            prop_assert_eq!(parse_decimal(&text, 38, scale), Ok(value));
        }
    }
}
