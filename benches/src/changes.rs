//! A deterministic, seeded change set for the generated tables: what an incremental backup
//! has to find. Applying it is setup, not measured, so it is a few set-based statements.

use rusqlite::Connection;
use serde::Serialize;

use crate::generate::Rng;

/// How one table is changed.
pub struct TableChange {
    /// The table.
    pub table: &'static str,
    /// The `SET` clause of an update; it changes every row it touches.
    pub update: &'static str,
    /// The `SELECT` list that turns an existing row into a new row with a key above every
    /// existing key.
    pub copy_as_new: &'static str,
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

/// Rows are picked by a bucket in `0..BUCKETS` computed from a number of theirs (the rowid on
/// SQLite, the key on PostgreSQL).
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

/// One statement of a change set, and what the rows it touches count as.
pub struct ChangeStatement {
    /// The SQL: one UPDATE, DELETE or INSERT … SELECT.
    pub sql: String,
    /// Which count of [`ChangedRows`] its affected rows add to.
    pub counts: Counts,
}

/// Which count of [`ChangedRows`] a statement adds to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counts {
    /// [`ChangedRows::updated`].
    Updated,
    /// [`ChangedRows::deleted`].
    Deleted,
    /// [`ChangedRows::inserted`].
    Inserted,
}

impl ChangedRows {
    /// Panics unless `found`, an incremental backup's change counts, are these rows: the
    /// updated and inserted ones upserted, the deleted ones deleted.
    pub fn assert_found(&self, found: quiver::catalog::ChangeCounts) {
        assert_eq!(
            (found.upserts, found.deletes),
            (self.updated + self.inserted, self.deleted),
            "the incremental backup's (upserts, deletes) differ from the rows changed ({self:?})"
        );
    }

    /// Adds `rows` affected by a statement that `counts` so.
    pub fn add(&mut self, counts: Counts, rows: u64) {
        match counts {
            Counts::Updated => self.updated += rows,
            Counts::Deleted => self.deleted += rows,
            Counts::Inserted => self.inserted += rows,
        }
    }
}

/// The change set for about `fraction` of the rows of every generated table: 70% of the
/// changes update rows, 20% insert rows with new keys (copies of existing rows, keyed after
/// the last one), 10% delete rows. Rows are spread over each table by a bucket computed from
/// `row_number(table)` (an SQL expression numbering the table's rows) and a per-table offset
/// drawn from `seed`, so the same arguments change the same rows. The statements are plain
/// SQL that SQLite and PostgreSQL both read; run them in one transaction, in order.
pub fn statements(
    fraction: f64,
    seed: u64,
    row_number: impl Fn(&str) -> String,
) -> Vec<ChangeStatement> {
    statements_for(&TABLE_CHANGES, fraction, seed, row_number)
}

/// [`statements`] for the tables of `tables`.
pub fn statements_for(
    tables: &[TableChange],
    fraction: f64,
    seed: u64,
    row_number: impl Fn(&str) -> String,
) -> Vec<ChangeStatement> {
    let changed = (fraction * BUCKETS as f64).round() as u64;
    let updates = changed * 7 / 10;
    let deletes = changed / 10;
    // Inserts take the rest of the changed buckets: updates + deletes..changed.
    let mut rng = Rng::new(seed);
    let mut out = Vec::new();
    for change in tables {
        let offset = rng.below(BUCKETS);
        let number = row_number(change.table);
        // 435761 is coprime with BUCKETS: consecutive row numbers land in distinct buckets,
        // so a range of buckets picks rows evenly spread over the table.
        let picked = |from: u64, to: u64| {
            format!("({number} * 435761 + {offset}) % {BUCKETS} BETWEEN {from} AND {to} - 1")
        };
        let table = change.table;
        // Disjoint bucket ranges: no row is both updated and deleted, or copied and deleted.
        out.push(ChangeStatement {
            sql: format!(
                "UPDATE {table} SET {} WHERE {}",
                change.update,
                picked(0, updates)
            ),
            counts: Counts::Updated,
        });
        out.push(ChangeStatement {
            sql: format!(
                "DELETE FROM {table} WHERE {}",
                picked(updates, updates + deletes)
            ),
            counts: Counts::Deleted,
        });
        out.push(ChangeStatement {
            sql: format!(
                "INSERT INTO {table} SELECT {} FROM {table} WHERE {}",
                change.copy_as_new,
                picked(updates + deletes, changed)
            ),
            counts: Counts::Inserted,
        });
    }
    out
}

/// Applies [`statements`] to the SQLite database `conn` (rows numbered by their rowid), in
/// one transaction.
pub fn apply(conn: &mut Connection, fraction: f64, seed: u64) -> rusqlite::Result<ChangedRows> {
    apply_to(conn, &TABLE_CHANGES, fraction, seed)
}

/// [`apply`] for the tables of `tables`.
pub fn apply_to(
    conn: &mut Connection,
    tables: &[TableChange],
    fraction: f64,
    seed: u64,
) -> rusqlite::Result<ChangedRows> {
    let tx = conn.transaction()?;
    let mut rows = ChangedRows::default();
    for statement in statements_for(tables, fraction, seed, |_| "rowid".to_string()) {
        rows.add(statement.counts, tx.execute(&statement.sql, [])? as u64);
    }
    tx.commit()?;
    Ok(rows)
}
