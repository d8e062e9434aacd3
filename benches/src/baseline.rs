//! The physical limits quiver is measured against.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use rusqlite::Connection;
use rusqlite::types::ValueRef;

/// Reads every column of every row of `tables` in primary-key order inside one read
/// transaction, touching each value and discarding it: what a backup on one core cannot go
/// below. Kept for continuity; [`parallel_scan`] is the stricter limit.
pub fn bare_scan(conn: &mut Connection, tables: &[&str], order: &[&str]) -> rusqlite::Result<u64> {
    let tx = conn.transaction()?;
    let mut checksum = 0u64;
    for (table, order) in tables.iter().zip(order) {
        checksum = checksum.wrapping_add(scan_table(&tx, table, order)?);
    }
    tx.commit()?;
    Ok(checksum)
}

/// Every column of every row of `table`, in `order`, each value touched.
fn scan_table(conn: &Connection, table: &str, order: &str) -> rusqlite::Result<u64> {
    let mut checksum = 0u64;
    let mut stmt = conn.prepare(&format!("SELECT * FROM {table} ORDER BY {order}"))?;
    let columns = stmt.column_count();
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        for i in 0..columns {
            checksum = checksum.wrapping_add(match row.get_ref(i)? {
                ValueRef::Null => 0,
                ValueRef::Integer(v) => v as u64,
                ValueRef::Real(v) => v.to_bits(),
                ValueRef::Text(t) | ValueRef::Blob(t) => t.len() as u64,
            });
        }
    }
    Ok(checksum)
}

/// The bare scan on as many threads as BACKUP uses (one per core, at most one per table):
/// each thread opens its own connection and read transaction, all started at one instant
/// (writers held off by a `BEGIN IMMEDIATE` meanwhile, as BACKUP does), then takes tables,
/// largest first, from a shared queue until none is left, reading each as [`bare_scan`]
/// does. `tables` are (name, key order, rows), the rows only to order them.
pub fn parallel_scan(path: &Path, tables: &[(&str, &str, u64)]) -> rusqlite::Result<u64> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(tables.len())
        .max(1);
    let mut order: Vec<&(&str, &str, u64)> = tables.iter().collect();
    order.sort_by_key(|t| std::cmp::Reverse(t.2));
    let gate = Connection::open(path)?;
    gate.execute_batch("BEGIN IMMEDIATE")?;
    let mut readers = Vec::with_capacity(threads);
    for _ in 0..threads {
        let conn = Connection::open(path)?;
        conn.execute_batch("BEGIN DEFERRED")?;
        conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| {
            r.get::<_, i64>(0)
        })?;
        readers.push(conn);
    }
    gate.execute_batch("ROLLBACK")?;
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let workers: Vec<_> = readers
            .into_iter()
            .map(|conn| {
                let (order, next) = (&order, &next);
                scope.spawn(move || -> rusqlite::Result<u64> {
                    let mut checksum = 0u64;
                    while let Some((table, key, _)) =
                        order.get(next.fetch_add(1, Ordering::Relaxed))
                    {
                        checksum = checksum.wrapping_add(scan_table(&conn, table, key)?);
                    }
                    conn.execute_batch("COMMIT")?;
                    Ok(checksum)
                })
            })
            .collect();
        workers.into_iter().try_fold(0u64, |sum, w| {
            Ok(sum.wrapping_add(w.join().expect("a scan thread panicked")?))
        })
    })
}

/// How [`sqlite_copy`] moves the rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyKind {
    /// `INSERT INTO t SELECT * FROM src.t WHERE 1`: SQLite decodes every row and inserts
    /// it, as any restore from another format must.
    Insert,
    /// `INSERT INTO t SELECT * FROM src.t`: SQLite's transfer optimization, a raw copy of
    /// records (and of the key's index) that only a copy from SQLite to SQLite can use.
    Transfer,
}

/// SQLite's own copy of `tables` from the database at `source` into a new one at `target`:
/// the same DDL (tables, then the data in one transaction, then their other indexes), the
/// rows by `kind`, committed (and so fsynced) once. What a restore of the same rows cannot
/// go below.
pub fn sqlite_copy(
    source: &Path,
    target: &Path,
    tables: &[&str],
    kind: CopyKind,
) -> rusqlite::Result<()> {
    let _ = std::fs::remove_file(target);
    let conn = Connection::open(target)?;
    conn.execute(
        "ATTACH DATABASE ?1 AS src",
        [source.to_str().expect("a UTF-8 path")],
    )?;
    let ddl = |kind: &str| -> rusqlite::Result<Vec<String>> {
        let mut stmt = conn.prepare(
            "SELECT sql FROM src.sqlite_schema WHERE type = ?1 AND sql IS NOT NULL AND tbl_name IN (SELECT value FROM json_each(?2)) ORDER BY rowid",
        )?;
        let names = serde_json::to_string(tables).expect("names serialize");
        stmt.query_map([kind, names.as_str()], |r| r.get(0))?
            .collect()
    };
    let (creates, indexes) = (ddl("table")?, ddl("index")?);
    conn.execute_batch("BEGIN")?;
    for create in &creates {
        conn.execute_batch(create)?;
    }
    for table in tables {
        let filter = match kind {
            CopyKind::Insert => " WHERE 1",
            CopyKind::Transfer => "",
        };
        conn.execute_batch(&format!(
            "INSERT INTO main.{table} SELECT * FROM src.{table}{filter}"
        ))?;
    }
    for index in &indexes {
        conn.execute_batch(index)?;
    }
    conn.execute_batch("COMMIT")?;
    Ok(())
}
