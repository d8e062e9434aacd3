//! Between rusqlite's values and the catalog's [`SqlValue`], which the raw side columns encode.

use quiver_catalog::SqlValue;
use rusqlite::types::ValueRef;

/// The catalog's view of a SQLite value.
pub(crate) fn from_sqlite(value: ValueRef<'_>) -> SqlValue<'_> {
    match value {
        ValueRef::Null => SqlValue::Null,
        ValueRef::Integer(i) => SqlValue::Integer(i),
        ValueRef::Real(r) => SqlValue::Real(r),
        ValueRef::Text(t) => SqlValue::Text(t),
        ValueRef::Blob(b) => SqlValue::Blob(b),
    }
}

/// The SQLite value of a catalog value.
pub(crate) fn to_sqlite(value: SqlValue<'_>) -> ValueRef<'_> {
    match value {
        SqlValue::Null => ValueRef::Null,
        SqlValue::Integer(i) => ValueRef::Integer(i),
        SqlValue::Real(r) => ValueRef::Real(r),
        SqlValue::Text(t) => ValueRef::Text(t),
        SqlValue::Blob(b) => ValueRef::Blob(b),
    }
}
