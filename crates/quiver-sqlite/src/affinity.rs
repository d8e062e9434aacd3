//! From a declared column type to the Arrow type its values are stored as.

use quiver_catalog::ColumnType;

/// The storage type for a column declared as `declared`, following SQLite's affinity rules
/// (<https://sqlite.org/datatype3.html#determination_of_column_affinity>), with NUMERIC
/// affinity split by what such columns usually hold: dates and times as text, decimals as
/// reals, everything else (BOOLEAN, NUMERIC) as integers. Values of any other storage class
/// still round-trip, through the raw side column.
///
/// ```
/// use quiver_catalog::ColumnType;
/// use quiver_sqlite::column_type_for;
/// assert_eq!(column_type_for("VARCHAR(20)"), ColumnType::Text);
/// assert_eq!(column_type_for("BIGINT"), ColumnType::Integer);
/// assert_eq!(column_type_for(""), ColumnType::Blob);
/// assert_eq!(column_type_for("DOUBLE PRECISION"), ColumnType::Real);
/// assert_eq!(column_type_for("DATETIME"), ColumnType::Text);
/// ```
pub fn column_type_for(declared: &str) -> ColumnType {
    let upper = declared.to_ascii_uppercase();
    let has = |s: &str| upper.contains(s);
    if has("INT") {
        ColumnType::Integer
    } else if has("CHAR") || has("CLOB") || has("TEXT") {
        ColumnType::Text
    } else if has("BLOB") || upper.trim().is_empty() {
        ColumnType::Blob
    } else if has("REAL") || has("FLOA") || has("DOUB") {
        ColumnType::Real
    } else if has("DATE") || has("TIME") {
        ColumnType::Text
    } else if has("DEC") || has("MONEY") {
        ColumnType::Real
    } else {
        ColumnType::Integer
    }
}

/// Whether a column of a STRICT table declared `declared` can only hold its own storage
/// class (or NULL), so needs no raw side column. TEXT is excluded: SQLite does not check
/// that text is valid UTF-8.
pub(crate) fn strict_type_is_exact(declared: &str) -> bool {
    matches!(
        declared.trim().to_ascii_uppercase().as_str(),
        "INT" | "INTEGER" | "REAL" | "BLOB"
    )
}
