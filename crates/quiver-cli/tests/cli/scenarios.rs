//! Scenarios written once and run on every adapter: the same statements through the same
//! binary on SQLite and on PostgreSQL (a real server, see `on_postgres`). Tables use types
//! both databases read alike, and rows are compared as quiver's own `SELECT` prints them.

use super::on_postgres::Pg;
use super::*;

/// A database of one adapter, with its repository.
pub(super) trait Db {
    /// Runs `quiver --db … --repo … <args>`.
    fn run(&self, args: &[&str]) -> Output;

    /// Runs `sql`, which must succeed; returns stdout.
    fn ok(&self, sql: &str) -> String {
        succeeded(self.run(&[sql]))
    }

    /// Runs `sql`, which must fail with status 1; returns stderr.
    fn fails(&self, sql: &str) -> String {
        let out = self.run(&[sql]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "`{sql}` should fail; stdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stderr).unwrap()
    }

    /// The rows of `table` in the order of its first two columns, as `SELECT` prints them.
    fn rows(&self, table: &str) -> String {
        self.ok(&format!("SELECT * FROM {table} ORDER BY 1, 2"))
    }
}

impl Db for Scratch {
    fn run(&self, args: &[&str]) -> Output {
        self.quiver(args)
    }
}

impl Db for Pg {
    fn run(&self, args: &[&str]) -> Output {
        self.quiver(args)
    }
}

/// `#[test]`s `on_sqlite` and `on_postgres` in a module named after `scenario`.
macro_rules! on_every_adapter {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[test]
            fn on_sqlite() {
                super::$scenario(&super::Scratch::new());
            }

            #[test]
            fn on_postgres() {
                super::$scenario(&super::Pg::new(stringify!($scenario)));
            }
        }
    )*};
}

on_every_adapter!(
    the_seed_recipe_restores_each_service_alone,
    a_restore_over_an_existing_table_is_refused_and_changes_nothing,
    selective_restores_take_the_rows_and_names_asked_for,
);

const SERVICE_TABLES: &str = "
CREATE TABLE profiles (id integer PRIMARY KEY, name text);
CREATE TABLE preferences (user_id integer, k text, v text, PRIMARY KEY (user_id, k));
CREATE TABLE sessions (token text PRIMARY KEY, user_id integer);
CREATE TABLE orders (id integer PRIMARY KEY, total double precision);
CREATE TABLE order_items (order_id integer, line integer, PRIMARY KEY (order_id, line));
CREATE TABLE payments (order_id integer PRIMARY KEY, amount double precision);
CREATE TABLE products (id integer PRIMARY KEY, title text);
CREATE TABLE stock_levels (product_id integer PRIMARY KEY, qty integer);
CREATE TABLE warehouses (code text PRIMARY KEY, city text);
INSERT INTO profiles VALUES (1, 'ann'), (2, 'bob'); INSERT INTO sessions VALUES ('s1', 1), ('s2', 2);
INSERT INTO orders VALUES (10, 9.5), (12, 3.0);
INSERT INTO order_items VALUES (10, 1), (10, 2); INSERT INTO payments VALUES (10, 9.5);
INSERT INTO products VALUES (7, 'pen'); INSERT INTO stock_levels VALUES (7, 3);
INSERT INTO warehouses VALUES ('AMS', 'Amsterdam');
";

/// Every service's rows, as `SELECT` prints them.
fn service_states(db: &dyn Db) -> Vec<String> {
    SERVICES
        .iter()
        .map(|(_, tables)| tables.iter().map(|t| db.rows(t)).collect())
        .collect()
}

fn the_seed_recipe_restores_each_service_alone(db: &dyn Db) {
    db.ok(SERVICE_TABLES);
    let out = db.ok(YDB_RECIPE);
    assert_eq!(out.matches("full backup").count(), 3, "{out}");
    db.ok("INSERT INTO profiles VALUES (3, 'cy'); UPDATE profiles SET name = 'Ann' WHERE id = 1;
           DELETE FROM sessions WHERE token = 's2'; INSERT INTO preferences VALUES (1, 'theme', 'dark');
           INSERT INTO orders VALUES (11, 1.0); UPDATE orders SET total = 10.5 WHERE id = 10;
           DELETE FROM orders WHERE id = 12; DELETE FROM order_items WHERE line = 2;
           INSERT INTO payments VALUES (11, 1.0);
           UPDATE stock_levels SET qty = 2; INSERT INTO warehouses VALUES ('BER', 'Berlin')");
    let at_incremental = service_states(db);
    let out = db.ok(YDB_RECIPE_INCREMENTAL);
    assert_eq!(out.matches("incremental backup").count(), 3, "{out}");
    assert!(
        out.contains("3 row(s) inserted or updated, 2 deleted"),
        "order service: order 11 and its payment new, order 10 updated; order 12 and item (10, 2) deleted: {out}"
    );
    db.ok(
        "INSERT INTO profiles VALUES (4, 'late'); INSERT INTO orders VALUES (13, 2.0);
           DELETE FROM stock_levels; INSERT INTO warehouses VALUES ('LIS', 'Lisbon')",
    );
    let mut expected = service_states(db);
    for (i, (collection, tables)) in SERVICES.iter().enumerate() {
        let drops: Vec<String> = tables.iter().map(|t| format!("DROP TABLE {t}")).collect();
        db.ok(&format!("{}; RESTORE {collection}", drops.join("; ")));
        expected[i] = at_incremental[i].clone();
        assert_eq!(
            service_states(db),
            expected,
            "after restoring {collection}, it is as of its incremental backup and the others keep their live data"
        );
    }
    succeeded(db.run(&["verify", "order_service_backups"]));
}

fn a_restore_over_an_existing_table_is_refused_and_changes_nothing(db: &dyn Db) {
    db.ok(SERVICE_TABLES);
    db.ok("CREATE BACKUP COLLECTION orders_c ( TABLE orders, TABLE payments ); BACKUP orders_c");
    db.ok("DROP TABLE orders; UPDATE payments SET amount = 1.25");
    let live = db.rows("payments");
    let err = db.fails("RESTORE orders_c");
    assert!(err.contains("payments"), "{err}");
    // Nothing restored, not even the table that did not exist.
    assert!(db.fails("SELECT * FROM orders").contains("orders"));
    assert_eq!(db.rows("payments"), live);
    db.ok("DROP TABLE payments; RESTORE orders_c");
    assert!(db.rows("payments").contains("9.5"));
}

fn selective_restores_take_the_rows_and_names_asked_for(db: &dyn Db) {
    db.ok(SERVICE_TABLES);
    db.ok("INSERT INTO orders VALUES (20, 120.0), (21, 0.5)");
    db.ok("CREATE BACKUP COLLECTION c ( TABLE orders, TABLE order_items ) WITH ( INCREMENTAL_BACKUP_ENABLED = 'true' )");
    let full = backup_id(&db.ok("BACKUP c"));
    let orders_at_full = db.rows("orders");
    db.ok("UPDATE orders SET total = total * 2; DELETE FROM order_items WHERE line = 1");
    db.ok("BACKUP c INCREMENTAL");
    let orders_now = db.rows("orders");

    db.ok("RESTORE c WITH ( TABLES = 'orders', TARGET_PREFIX = 'copy_' )");
    assert_eq!(db.rows("copy_orders"), orders_now);
    assert!(
        db.fails("SELECT * FROM copy_order_items")
            .contains("copy_order_items")
    );
    db.ok(&format!(
        "RESTORE c AT '{full}' WITH ( TABLES = 'orders', RENAME = 'orders = orders_then' )"
    ));
    assert_eq!(db.rows("orders_then"), orders_at_full);
    db.ok("RESTORE c WITH ( TABLES = 'orders', TARGET_PREFIX = 'big_', FILTER = 'total > 100' )");
    let big = db.rows("big_orders");
    assert!(big.contains("240") && !big.contains("| 10 "), "{big}");
    // A restore under an existing name is refused.
    assert!(
        db.fails("RESTORE c WITH ( TABLES = 'orders', TARGET_PREFIX = 'copy_' )")
            .contains("copy_orders")
    );
}
