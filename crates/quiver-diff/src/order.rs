//! SQLite's order of values, which key-ordered scans follow.

use std::cmp::Ordering;

use quiver_catalog::SqlValue;

/// Compares two values the way SQLite's `ORDER BY ... COLLATE BINARY` does: NULL first,
/// then numbers (integers and reals compared by value), then text by its bytes, then blobs
/// by their bytes.
pub fn compare_values(a: SqlValue<'_>, b: SqlValue<'_>) -> Ordering {
    use SqlValue::*;
    match (a, b) {
        (Integer(x), Integer(y)) => x.cmp(&y),
        (Real(x), Real(y)) => x.partial_cmp(&y).unwrap_or_else(|| x.total_cmp(&y)),
        (Integer(x), Real(y)) => int_real(x, y),
        (Real(x), Integer(y)) => int_real(y, x).reverse(),
        (Text(x), Text(y)) | (Blob(x), Blob(y)) => x.cmp(y),
        _ => class(a).cmp(&class(b)),
    }
}

fn class(value: SqlValue<'_>) -> u8 {
    match value {
        SqlValue::Null => 0,
        SqlValue::Integer(_) | SqlValue::Real(_) => 1,
        SqlValue::Text(_) => 2,
        SqlValue::Blob(_) => 3,
    }
}

/// An integer against a real, exactly (SQLite's `sqlite3IntFloatCompare`): converting
/// either to the other's type alone loses precision near 2^63.
fn int_real(i: i64, r: f64) -> Ordering {
    if r.is_nan() {
        return Ordering::Greater;
    }
    if r < -9_223_372_036_854_775_808.0 {
        return Ordering::Greater;
    }
    if r >= 9_223_372_036_854_775_808.0 {
        return Ordering::Less;
    }
    let truncated = r as i64;
    match i.cmp(&truncated) {
        Ordering::Equal => (i as f64).partial_cmp(&r).unwrap_or(Ordering::Equal),
        other => other,
    }
}
