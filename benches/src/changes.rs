//! A deterministic, seeded change set for the generated tables: what an incremental backup
//! has to find. Applying it is setup, not measured, so it is a few set-based statements.

use rusqlite::Connection;
use serde::Serialize;

use crate::generate::Rng;

/// How one table of the generated schema is changed.
struct TableChange {
    table: &'static str,
    /// The `SET` clause of an update; it changes every row it touches.
    update: &'static str,
    /// The `SELECT` list that turns an existing row into a new row with a key above every
    /// existing key.
    copy_as_new: &'static str,
}

/// The generated tables' changes, in [`crate::generate::TABLES`] order.
const TABLE_CHANGES: [TableChange; 3] = [
    TableChange {
        table: "customers",
        update: "score = score + 1, country = 'FR'",
        copy_as_new: "id + (SELECT max(id) FROM customers), 'new.' || email, name, country, created_at, score",
    },
    TableChange {
        table: "orders",
        update: "status = 'shipped', total = total + 1",
        copy_as_new: "id + (SELECT max(id) FROM orders), customer_id, status, total, placed_at, note",
    },
    TableChange {
        table: "order_items",
        update: "quantity = quantity + 1",
        copy_as_new: "order_id + (SELECT max(order_id) FROM order_items), line, sku, quantity, unit_price, meta",
    },
];

/// Rows are picked by a bucket in `0..BUCKETS` computed from their rowid.
const BUCKETS: u64 = 1_000_000;

/// Rows a change set touched, over all tables.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ChangedRows {
    /// Rows updated (every updated row differs from before).
    pub updated: u64,
    /// Rows inserted with new keys.
    pub inserted: u64,
    /// Rows deleted.
    pub deleted: u64,
}

/// Changes about `fraction` of the rows of every generated table, in one transaction:
/// 70% of the changes update rows, 20% insert rows with new keys (copies of existing rows,
/// keyed after the last one), 10% delete rows. Rows are spread over each table by a bucket
/// computed from the rowid and a per-table offset drawn from `seed`, so the same arguments
/// change the same rows.
pub fn apply(conn: &mut Connection, fraction: f64, seed: u64) -> rusqlite::Result<ChangedRows> {
    let changed = (fraction * BUCKETS as f64).round() as u64;
    let updates = changed * 7 / 10;
    let deletes = changed / 10;
    // Inserts take the rest of the changed buckets: updates + deletes..changed.
    let mut rng = Rng::new(seed);
    let tx = conn.transaction()?;
    let mut rows = ChangedRows::default();
    for change in &TABLE_CHANGES {
        let offset = rng.below(BUCKETS);
        // 435761 is coprime with BUCKETS: consecutive rowids land in distinct buckets, so
        // a range of buckets picks rows evenly spread over the table.
        let picked = |from: u64, to: u64| {
            format!("(rowid * 435761 + {offset}) % {BUCKETS} BETWEEN {from} AND {to} - 1")
        };
        let table = change.table;
        // Disjoint bucket ranges: no row is both updated and deleted, or copied and deleted.
        rows.updated += tx.execute(
            &format!(
                "UPDATE {table} SET {} WHERE {}",
                change.update,
                picked(0, updates)
            ),
            [],
        )? as u64;
        rows.deleted += tx.execute(
            &format!(
                "DELETE FROM {table} WHERE {}",
                picked(updates, updates + deletes)
            ),
            [],
        )? as u64;
        rows.inserted += tx.execute(
            &format!(
                "INSERT INTO {table} SELECT {} FROM {table} WHERE {}",
                change.copy_as_new,
                picked(updates + deletes, changed)
            ),
            [],
        )? as u64;
    }
    tx.commit()?;
    Ok(rows)
}
