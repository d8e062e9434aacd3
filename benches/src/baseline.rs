//! The physical limits quiver is measured against.

use rusqlite::Connection;
use rusqlite::types::ValueRef;

/// Reads every column of every row of `tables` in primary-key order inside one read
/// transaction, touching each value and discarding it: what a backup cannot go below.
pub fn bare_scan(conn: &mut Connection, tables: &[&str], order: &[&str]) -> rusqlite::Result<u64> {
    let tx = conn.transaction()?;
    let mut checksum = 0u64;
    for (table, order) in tables.iter().zip(order) {
        let mut stmt = tx.prepare(&format!("SELECT * FROM {table} ORDER BY {order}"))?;
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
    }
    tx.commit()?;
    Ok(checksum)
}
