//! A deterministic, seeded data generator for a small order service: mixed types,
//! an INTEGER PRIMARY KEY table, a composite-key table, NULLs, text and blobs.

use rusqlite::{Connection, params};

/// The schema, one `CREATE TABLE` per table.
pub const SCHEMA: &str = "
CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT, country TEXT, created_at DATETIME, score REAL);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, status TEXT NOT NULL, total REAL, placed_at DATETIME, note TEXT);
CREATE TABLE order_items (order_id INTEGER NOT NULL, line INTEGER NOT NULL, sku TEXT NOT NULL, quantity INTEGER, unit_price REAL, meta BLOB,
                          PRIMARY KEY (order_id, line));
";

/// The tables, in collection order.
pub const TABLES: [&str; 3] = ["customers", "orders", "order_items"];

/// Each table's primary key, for `ORDER BY`, in the order of [`TABLES`].
pub const KEYS: [&str; 3] = ["id", "id", "order_id, line"];

/// splitmix64: tiny, fast, and the same numbers on every machine.
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const STATUSES: [&str; 4] = ["new", "paid", "shipped", "cancelled"];
const COUNTRIES: [&str; 6] = ["NL", "DE", "PT", "US", "JP", "BR"];

/// Creates the schema in `conn` and fills it with about `rows` rows (10% customers,
/// 30% orders, 60% order items), in one transaction with prepared statements: this is
/// also the bare bulk-insert baseline.
pub fn fill(conn: &mut Connection, rows: u64, seed: u64) -> rusqlite::Result<u64> {
    conn.execute_batch(SCHEMA)?;
    let tx = conn.transaction()?;
    let mut rng = Rng::new(seed);
    let customers = (rows / 10).max(1);
    let orders = (rows * 3 / 10).max(1);
    let items = rows.saturating_sub(customers + orders);
    {
        let mut insert = tx.prepare("INSERT INTO customers VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?;
        for id in 1..=customers {
            let name =
                (rng.below(10) != 0).then(|| format!("Customer {id} {:x}", rng.next() >> 40));
            insert.execute(params![
                id as i64,
                format!("c{id}@example.com"),
                name,
                COUNTRIES[rng.below(6) as usize],
                format!(
                    "2026-{:02}-{:02} 12:{:02}:00",
                    1 + rng.below(12),
                    1 + rng.below(28),
                    rng.below(60)
                ),
                (rng.below(100_000) as f64) / 100.0,
            ])?;
        }
        let mut insert = tx.prepare("INSERT INTO orders VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?;
        for id in 1..=orders {
            let note = (rng.below(5) == 0).then(|| "leave at the door".to_string());
            insert.execute(params![
                id as i64,
                (1 + rng.below(customers)) as i64,
                STATUSES[rng.below(4) as usize],
                (rng.below(1_000_000) as f64) / 100.0,
                format!(
                    "2026-{:02}-{:02} {:02}:00:00",
                    1 + rng.below(12),
                    1 + rng.below(28),
                    rng.below(24)
                ),
                note,
            ])?;
        }
        let mut insert = tx.prepare("INSERT INTO order_items VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?;
        let per_order = (items / orders).max(1);
        let mut written = 0;
        'orders: for order in 1..=orders {
            for line in 1..=per_order {
                if written == items {
                    break 'orders;
                }
                let meta = (rng.below(3) == 0).then(|| rng.next().to_le_bytes().to_vec());
                insert.execute(params![
                    order as i64,
                    line as i64,
                    format!("SKU-{:06}", rng.below(50_000)),
                    (1 + rng.below(5)) as i64,
                    (rng.below(10_000) as f64) / 100.0,
                    meta,
                ])?;
                written += 1;
            }
        }
    }
    tx.commit()?;
    let total: i64 = conn.query_row(
        "SELECT (SELECT count(*) FROM customers) + (SELECT count(*) FROM orders) + (SELECT count(*) FROM order_items)",
        [],
        |r| r.get(0),
    )?;
    Ok(total as u64)
}
