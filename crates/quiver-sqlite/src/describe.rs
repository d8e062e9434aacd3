//! Reading a table's definition from SQLite's catalog.

use quiver_catalog::{
    ColumnSchema, ColumnType, RESERVED_PREFIX, ROWID_COLUMN, TableSchema, raw_column_name,
};
use rusqlite::{Connection, OptionalExtension};

use crate::affinity::{column_type_for, strict_type_is_exact};
use crate::error::sqlite;
use crate::{Error, Result, quote_ident};

/// Describes table `name` of the `main` schema (matched case-insensitively, as SQLite does).
pub(crate) fn describe(conn: &Connection, name: &str) -> Result<TableSchema> {
    let found: Option<(String, String, Option<String>)> = conn
        .query_row(
            "SELECT name, type, sql FROM main.sqlite_master \
             WHERE name = ?1 COLLATE NOCASE AND type IN ('table', 'view')",
            [name],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
        .map_err(sqlite(|| format!("looking up table `{name}`")))?;
    let Some((name, kind, create_sql)) = found else {
        return Err(Error::NoSuchTable(name.to_string()));
    };
    let unsupported = |reason: &str| Error::Unsupported {
        name: name.clone(),
        reason: reason.to_string(),
    };
    if kind == "view" {
        return Err(unsupported(
            "it is a view; back up the tables it reads instead",
        ));
    }
    let create_sql = create_sql.unwrap_or_default();
    if name.starts_with("sqlite_") {
        return Err(unsupported("it is an SQLite internal table"));
    }
    if create_sql
        .trim_start()
        .to_ascii_uppercase()
        .starts_with("CREATE VIRTUAL")
    {
        return Err(unsupported("virtual tables are not supported"));
    }
    let (without_rowid, strict): (bool, bool) = conn
        .query_row(
            "SELECT wr, strict FROM pragma_table_list WHERE schema = 'main' AND name = ?1",
            [&name],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(sqlite(|| format!("reading table list for `{name}`")))?;

    let columns = table_columns(conn, &name)?;
    for c in &columns {
        if c.name.starts_with(RESERVED_PREFIX) {
            return Err(unsupported(&format!(
                "column name `{}` is reserved by quiver",
                c.name
            )));
        }
    }
    let mut key: Vec<&TableColumn> = columns.iter().filter(|c| c.pk_position > 0).collect();
    key.sort_by_key(|c| c.pk_position);
    let primary_key: Vec<String> = key.iter().map(|c| c.name.clone()).collect();
    // `INTEGER PRIMARY KEY DESC` as a column constraint is not a rowid alias (an SQLite
    // quirk kept for compatibility): SQLite then builds an index for the key. Asking for that
    // index is the one test that agrees with SQLite however the key was written.
    let rowid_alias = !without_rowid
        && key.len() == 1
        && key[0].declared_type.eq_ignore_ascii_case("INTEGER")
        && !has_primary_key_index(conn, &name)?;

    let stored: Vec<ColumnSchema> = columns
        .iter()
        .filter(|c| !c.generated)
        .map(|c| {
            let exact = (strict && strict_type_is_exact(&c.declared_type))
                || (rowid_alias && c.pk_position == 1);
            let column_type = if rowid_alias && c.pk_position == 1 {
                ColumnType::Integer
            } else {
                column_type_for(&c.declared_type)
            };
            ColumnSchema {
                name: c.name.clone(),
                declared_type: c.declared_type.clone(),
                column_type,
                has_raw: !exact,
                in_primary_key: c.pk_position > 0,
                text_form: false,
            }
        })
        .collect();
    for c in &stored {
        if stored.iter().any(|o| o.name == raw_column_name(&c.name)) {
            return Err(unsupported(
                "a column name collides with quiver's raw column names",
            ));
        }
    }

    // The name the rowid is read by, counting every column (generated ones too) as a
    // possible shadow; a rowid hidden by all its names is out of the application's reach,
    // so it only needs keeping when it is the key.
    let visible_rowid = visible_rowid_alias(columns.iter().map(|c| c.name.as_str()));
    let stores_rowid =
        !without_rowid && !rowid_alias && (primary_key.is_empty() || visible_rowid.is_some());
    let stored_rowid = visible_rowid_alias(stored.iter().map(|c| c.name.as_str()));
    if stores_rowid && visible_rowid != stored_rowid {
        // Scans name the rowid from the stored columns only; a generated column would
        // shadow the name they pick.
        return Err(unsupported("a generated column hides its rowid"));
    }

    Ok(TableSchema {
        stores_rowid,
        primary_key: if primary_key.is_empty() {
            vec![ROWID_COLUMN.to_string()]
        } else {
            primary_key
        },
        index_sql: schema_sql(conn, "index", &name)?,
        trigger_sql: schema_sql(conn, "trigger", &name)?,
        autoincrement_seq: autoincrement_seq(conn, &name)?,
        dialect: quiver_catalog::Dialect::Sqlite,
        adapter: None,
        columns: stored,
        create_sql,
        name,
    })
}

/// Whether SQLite keeps an index for `table`'s primary key (it does unless the key is the rowid).
fn has_primary_key_index(conn: &Connection, table: &str) -> Result<bool> {
    conn.query_row(
        "SELECT count(*) > 0 FROM pragma_index_list(?1, 'main') WHERE origin = 'pk'",
        [table],
        |r| r.get(0),
    )
    .map_err(sqlite(|| format!("reading the indexes of `{table}`")))
}

struct TableColumn {
    name: String,
    declared_type: String,
    pk_position: i64,
    generated: bool,
}

fn table_columns(conn: &Connection, table: &str) -> Result<Vec<TableColumn>> {
    let context = || format!("reading the columns of `{table}`");
    let mut stmt = conn
        .prepare("SELECT name, type, pk, hidden FROM pragma_table_xinfo(?1, 'main') ORDER BY cid")
        .map_err(sqlite(context))?;
    let rows = stmt
        .query_map([table], |r| {
            let hidden: i64 = r.get(3)?;
            Ok(TableColumn {
                name: r.get(0)?,
                declared_type: r.get(1)?,
                pk_position: r.get(2)?,
                // 2 and 3 are generated columns (virtual, stored): recomputed, never stored.
                generated: hidden == 2 || hidden == 3,
            })
        })
        .map_err(sqlite(context))?;
    rows.collect::<rusqlite::Result<_>>()
        .map_err(sqlite(context))
}

/// The `CREATE INDEX` or `CREATE TRIGGER` statements on `table`, oldest first (automatic
/// indexes for UNIQUE and PRIMARY KEY constraints have no SQL and come back with the table).
/// `tbl_name` keeps the table's name as each statement wrote it (`ON ORDERS` for `Orders`), so
/// it is matched as SQLite matches names: ignoring ASCII case.
fn schema_sql(conn: &Connection, kind: &str, table: &str) -> Result<Vec<String>> {
    let context = || format!("reading the {kind}es of `{table}`");
    let mut stmt = conn
        .prepare(
            "SELECT sql FROM main.sqlite_master WHERE type = ?1 AND tbl_name = ?2 COLLATE NOCASE AND sql IS NOT NULL ORDER BY rowid",
        )
        .map_err(sqlite(context))?;
    let rows = stmt
        .query_map([kind, table], |r| r.get::<_, String>(0))
        .map_err(sqlite(context))?;
    rows.collect::<rusqlite::Result<_>>()
        .map_err(sqlite(context))
}

fn autoincrement_seq(conn: &Connection, table: &str) -> Result<Option<i64>> {
    let has_sequence: bool = conn
        .query_row(
            "SELECT count(*) FROM main.sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'",
            [],
            |r| r.get(0),
        )
        .map_err(sqlite(|| "looking for sqlite_sequence"))?;
    if !has_sequence {
        return Ok(None);
    }
    conn.query_row(
        "SELECT seq FROM main.sqlite_sequence WHERE name = ?1",
        [table],
        |r| r.get(0),
    )
    .optional()
    .map_err(sqlite(|| {
        format!("reading the AUTOINCREMENT counter of `{table}`")
    }))
}

/// The first of SQLite's names for the rowid that no column (of `names`) shadows.
fn visible_rowid_alias<'a>(names: impl Iterator<Item = &'a str> + Clone) -> Option<&'static str> {
    ["rowid", "_rowid_", "oid"]
        .into_iter()
        .find(|alias| !names.clone().any(|name| name.eq_ignore_ascii_case(alias)))
}

/// The expression that reads the rowid of `table`, avoiding column names that shadow it.
pub(crate) fn rowid_expression(table: &TableSchema) -> Result<&'static str> {
    visible_rowid_alias(table.columns.iter().map(|c| c.name.as_str())).ok_or_else(|| {
        Error::Unsupported {
            name: table.name.clone(),
            reason: "it has no primary key and columns named rowid, _rowid_ and oid hide its rowid"
                .into(),
        }
    })
}

/// `SELECT` list and `ORDER BY` for a full scan of `table` in row-key order.
///
/// Key columns are ordered `COLLATE BINARY` whatever their declared collation: incremental
/// backups merge this scan against earlier files by comparing keys in Rust, which needs one
/// fixed order (SQLite's, by storage class then value, text by its bytes). With the default
/// collation SQLite still walks the key's index; with another it sorts.
pub(crate) fn scan_sql(table: &TableSchema) -> Result<String> {
    let mut select = Vec::with_capacity(table.columns.len() + 1);
    let rowid = table
        .stores_rowid
        .then(|| rowid_expression(table))
        .transpose()?;
    select.extend(rowid.map(String::from));
    let order = table
        .row_key()
        .into_iter()
        .map(|k| match rowid {
            Some(rowid) if k == ROWID_COLUMN => rowid.to_string(),
            _ => format!("{} COLLATE BINARY", quote_ident(k)),
        })
        .collect::<Vec<_>>()
        .join(", ");
    select.extend(table.columns.iter().map(|c| quote_ident(&c.name)));
    Ok(format!(
        "SELECT {} FROM main.{} ORDER BY {order}",
        select.join(", "),
        quote_ident(&table.name)
    ))
}
