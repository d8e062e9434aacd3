//! The peers' workload: the demo's three services in one SQLite database (nine tables: a
//! rowid table keyed by INTEGER PRIMARY KEY AUTOINCREMENT, composite keys, WITHOUT ROWID
//! tables, a text key, a table without a key, a secondary index; text, numbers, decimals as
//! text, dates, blobs and NULLs), seeded and scaled to a row count.

use rusqlite::{Connection, params};

use crate::changes::TableChange;
use crate::generate::Rng;

/// The demo's script (`examples/demo.sql`), whose `CREATE` statements are the schema.
const DEMO: &str = include_str!("../../examples/demo.sql");

/// The schema: the demo's tables and index, one statement a line there.
fn schema() -> String {
    DEMO.lines()
        .filter(|line| line.starts_with("CREATE TABLE") || line.starts_with("CREATE INDEX"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The service whose collection is measured, and its tables.
pub const SERVICE: &str = "order_service";

/// [`SERVICE`]'s tables, each with its key order (rowid for the table without a key).
pub const SERVICE_TABLES: [(&str, &str); 3] = [
    ("orders", "id"),
    ("order_items", "order_id, line"),
    ("payments", "rowid"),
];

/// The other services' tables, with a key order each: their rows must survive a restore of
/// [`SERVICE`] untouched.
pub const OTHER_TABLES: [(&str, &str); 6] = [
    ("profiles", "id"),
    ("preferences", "user_id, key"),
    ("sessions", "token"),
    ("products", "id"),
    ("warehouses", "code"),
    ("stock_levels", "product_id, warehouse"),
];

/// How [`SERVICE`]'s tables change between backups (the other services change too: a
/// session table churns).
pub const CHANGES: [TableChange; 4] = [
    TableChange {
        table: "orders",
        update: "status = 'shipped', total = total + 1",
        copy_as_new: "NULL, user_id, status, total, placed_at",
    },
    TableChange {
        table: "order_items",
        update: "quantity = quantity + 1",
        copy_as_new: "order_id + (SELECT max(order_id) FROM order_items), line, product_id, quantity, unit_price",
    },
    TableChange {
        table: "payments",
        update: "note = 'refund requested', amount = amount - 1",
        copy_as_new: "order_id, method, amount, paid_at, note",
    },
    TableChange {
        table: "sessions",
        update: "expires_at = expires_at + 3600",
        copy_as_new: "lower(hex(randomblob(12))), user_id, expires_at + 86400, ip",
    },
];

const STATUSES: [&str; 4] = ["new", "paid", "shipped", "cancelled"];
const METHODS: [&str; 3] = ["card", "wallet", "invoice"];
const CITIES: [&str; 10] = [
    "Amsterdam",
    "Berlin",
    "Lisbon",
    "Porto",
    "Tokyo",
    "São Paulo",
    "Austin",
    "Kraków",
    "Lyon",
    "Seoul",
];

/// A time of day on a day of `year`, as SQLite writes `DATETIME` text.
fn datetime(rng: &mut Rng, year: u32) -> String {
    format!(
        "{year}-{:02}-{:02} {:02}:{:02}:00",
        1 + rng.below(12),
        1 + rng.below(28),
        rng.below(24),
        rng.below(60)
    )
}

/// Creates the schema in `conn` and fills it with about `rows` rows over the nine tables
/// (profiles 6%, preferences 10%, sessions 10%, orders 14%, order items 35%, payments 10%,
/// products 3%, stock levels 12%, 20 warehouses), in one transaction. Returns the rows.
pub fn fill(conn: &mut Connection, rows: u64, seed: u64) -> rusqlite::Result<u64> {
    conn.execute_batch(&schema())?;
    let share = |percent: u64| (rows * percent / 100).max(1);
    let tx = conn.transaction()?;
    let mut rng = Rng::new(seed);
    let users = share(6);
    let products = share(3);
    let orders = share(14);
    {
        let mut insert = tx.prepare("INSERT INTO profiles VALUES (?1, ?2, ?3, ?4, ?5)")?;
        for id in 1..=users {
            let avatar = (rng.below(4) == 0).then(|| {
                let len = 64 + rng.below(192) as usize;
                (0..len)
                    .map(|i| (rng.next() >> (i % 8)) as u8)
                    .collect::<Vec<u8>>()
            });
            insert.execute(params![
                id as i64,
                format!("user{id}.{:x}@example.com", rng.next() >> 44),
                (rng.below(7) != 0)
                    .then(|| format!("Üser {id} {}", CITIES[rng.below(10) as usize])),
                datetime(&mut rng, 2025),
                avatar,
            ])?;
        }
        let mut insert = tx.prepare("INSERT INTO preferences VALUES (?1, ?2, ?3)")?;
        let keys = ["theme", "newsletter", "language", "currency", "timezone"];
        let mut written = 0;
        'users: for user in 1..=users {
            for key in keys {
                if written == share(10) {
                    break 'users;
                }
                let value: rusqlite::types::Value = match rng.below(3) {
                    0 => (rng.below(2) as i64).into(),
                    1 => format!("{key}-{}", rng.below(40)).into(),
                    _ => rusqlite::types::Value::Null,
                };
                insert.execute(params![user as i64, key, value])?;
                written += 1;
            }
        }
        let mut insert = tx.prepare("INSERT INTO sessions VALUES (?1, ?2, ?3, ?4)")?;
        for i in 1..=share(10) {
            insert.execute(params![
                format!("{:016x}-{i}", rng.next()),
                (1 + rng.below(users)) as i64,
                1_800_000_000 + rng.below(10_000_000) as i64,
                format!(
                    "10.{}.{}.{}",
                    rng.below(256),
                    rng.below(256),
                    rng.below(256)
                ),
            ])?;
        }
        let mut insert = tx.prepare(
            "INSERT INTO orders (user_id, status, total, placed_at) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for _ in 1..=orders {
            insert.execute(params![
                (1 + rng.below(users)) as i64,
                STATUSES[rng.below(4) as usize],
                format!("{}.{:02}", rng.below(2000), rng.below(100)),
                datetime(&mut rng, 2026),
            ])?;
        }
        let mut insert = tx.prepare("INSERT INTO order_items VALUES (?1, ?2, ?3, ?4, ?5)")?;
        let items = share(35);
        let per_order = (items / orders).max(1);
        let mut written = 0;
        'orders: for order in 1..=orders {
            for line in 1..=per_order + rng.below(2) {
                if written == items {
                    break 'orders;
                }
                insert.execute(params![
                    order as i64,
                    line as i64,
                    (1 + rng.below(products)) as i64,
                    (1 + rng.below(5)) as i64,
                    (rng.below(10_000) as f64) / 100.0,
                ])?;
                written += 1;
            }
        }
        let mut insert = tx.prepare("INSERT INTO payments VALUES (?1, ?2, ?3, ?4, ?5)")?;
        for _ in 1..=share(10) {
            insert.execute(params![
                (1 + rng.below(orders)) as i64,
                METHODS[rng.below(3) as usize],
                (rng.below(200_000) as f64) / 100.0,
                datetime(&mut rng, 2026),
                (rng.below(10) == 0).then(|| format!("ref {:x}", rng.next() >> 32)),
            ])?;
        }
        let mut insert = tx.prepare("INSERT INTO products VALUES (?1, ?2, ?3, ?4, ?5)")?;
        for id in 1..=products {
            insert.execute(params![
                id as i64,
                format!("SKU-{id:07}"),
                format!("Product {id}: {} edition", CITIES[rng.below(10) as usize]),
                (rng.below(50_000) as f64) / 100.0,
                (50 + rng.below(20_000)) as i64,
            ])?;
        }
        let mut insert = tx.prepare("INSERT INTO warehouses VALUES (?1, ?2, ?3)")?;
        for (i, city) in CITIES.iter().cycle().take(20).enumerate() {
            insert.execute(params![
                format!("W{i:02}"),
                city,
                (1000 + rng.below(9000)) as i64
            ])?;
        }
        let mut insert = tx.prepare("INSERT INTO stock_levels VALUES (?1, ?2, ?3)")?;
        let stock = share(12);
        let per_product = (stock / products).clamp(1, 20);
        let mut written = 0;
        'products: for product in 1..=products {
            for w in 0..per_product {
                if written == stock {
                    break 'products;
                }
                insert.execute(params![
                    product as i64,
                    format!("W{:02}", (product + w) % 20),
                    rng.below(500) as i64,
                ])?;
                written += 1;
            }
        }
    }
    tx.commit()?;
    let mut total = 0u64;
    for (table, _) in SERVICE_TABLES.iter().chain(&OTHER_TABLES) {
        let n: i64 = conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
        total += n as u64;
    }
    Ok(total)
}
