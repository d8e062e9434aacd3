//! The raw side column's encoding: one tag byte for the storage class, then the value.

use rusqlite::types::ValueRef;

const INTEGER: u8 = 1;
const REAL: u8 = 2;
const TEXT: u8 = 3;
const BLOB: u8 = 4;

/// Encodes a non-NULL value with its storage class.
pub(crate) fn encode(value: ValueRef<'_>, out: &mut Vec<u8>) {
    out.clear();
    match value {
        ValueRef::Null => {}
        ValueRef::Integer(i) => {
            out.push(INTEGER);
            out.extend_from_slice(&i.to_le_bytes());
        }
        ValueRef::Real(r) => {
            out.push(REAL);
            out.extend_from_slice(&r.to_bits().to_le_bytes());
        }
        ValueRef::Text(t) => {
            out.push(TEXT);
            out.extend_from_slice(t);
        }
        ValueRef::Blob(b) => {
            out.push(BLOB);
            out.extend_from_slice(b);
        }
    }
}

/// Decodes what [`encode`] wrote; `None` for bytes it cannot have written.
pub(crate) fn decode(bytes: &[u8]) -> Option<ValueRef<'_>> {
    let (&tag, rest) = bytes.split_first()?;
    Some(match tag {
        INTEGER => ValueRef::Integer(i64::from_le_bytes(rest.try_into().ok()?)),
        REAL => ValueRef::Real(f64::from_bits(u64::from_le_bytes(rest.try_into().ok()?))),
        TEXT => ValueRef::Text(rest),
        BLOB => ValueRef::Blob(rest),
        _ => return None,
    })
}
