//! SQL values with their storage class, and the tagged encoding of the raw side columns.
//!
//! SQLite is dynamically typed: a column stored as Arrow `Int64` may hold `'abc'` in some
//! rows. Those values go to the column's raw side column ([`crate::raw_column_name`]), one
//! tag byte for the storage class followed by the value, so nothing is dropped or altered.

/// One SQL value, borrowed, with its storage class.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SqlValue<'a> {
    /// NULL.
    Null,
    /// A 64-bit signed integer.
    Integer(i64),
    /// A 64-bit float.
    Real(f64),
    /// Text, as its bytes (normally UTF-8, but SQLite does not enforce it).
    Text(&'a [u8]),
    /// Bytes.
    Blob(&'a [u8]),
}

const INTEGER: u8 = 1;
const REAL: u8 = 2;
const TEXT: u8 = 3;
const BLOB: u8 = 4;

/// Encodes `value` for a raw side column into `out` (cleared first; left empty for NULL).
pub fn encode_raw(value: SqlValue<'_>, out: &mut Vec<u8>) {
    out.clear();
    match value {
        SqlValue::Null => {}
        SqlValue::Integer(i) => {
            out.push(INTEGER);
            out.extend_from_slice(&i.to_le_bytes());
        }
        SqlValue::Real(r) => {
            out.push(REAL);
            out.extend_from_slice(&r.to_bits().to_le_bytes());
        }
        SqlValue::Text(t) => {
            out.push(TEXT);
            out.extend_from_slice(t);
        }
        SqlValue::Blob(b) => {
            out.push(BLOB);
            out.extend_from_slice(b);
        }
    }
}

/// Decodes what [`encode_raw`] wrote for a non-NULL value; `None` for bytes it cannot have written.
pub fn decode_raw(bytes: &[u8]) -> Option<SqlValue<'_>> {
    let (&tag, rest) = bytes.split_first()?;
    Some(match tag {
        INTEGER => SqlValue::Integer(i64::from_le_bytes(rest.try_into().ok()?)),
        REAL => SqlValue::Real(f64::from_bits(u64::from_le_bytes(rest.try_into().ok()?))),
        TEXT => SqlValue::Text(rest),
        BLOB => SqlValue::Blob(rest),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_round_trips() {
        let mut out = Vec::new();
        for value in [
            SqlValue::Integer(i64::MIN),
            SqlValue::Real(-0.0),
            SqlValue::Text(b"\xff not utf-8"),
            SqlValue::Blob(b""),
        ] {
            encode_raw(value, &mut out);
            assert_eq!(decode_raw(&out), Some(value));
        }
        encode_raw(SqlValue::Null, &mut out);
        assert!(out.is_empty());
        assert_eq!(decode_raw(&[9, 1]), None);
        assert_eq!(decode_raw(&[INTEGER, 1, 2]), None);
    }
}
