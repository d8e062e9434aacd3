-- quiver demo: three services share one SQLite database; each has its own backup collection.
-- Run it with `cargo run -p quiver-cli -- demo` (a fresh database each time).

------------------------------------------------------------------ the services' tables
-- User service
CREATE TABLE profiles (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT, created_at DATETIME, avatar BLOB);
CREATE TABLE preferences (user_id INTEGER NOT NULL, key TEXT NOT NULL, value, PRIMARY KEY (user_id, key)) WITHOUT ROWID;
CREATE TABLE sessions (token TEXT PRIMARY KEY, user_id INTEGER NOT NULL, expires_at INTEGER, ip TEXT);
-- Order service
CREATE TABLE orders (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL, status TEXT NOT NULL, total DECIMAL(10,2), placed_at DATETIME);
CREATE TABLE order_items (order_id INTEGER NOT NULL, line INTEGER NOT NULL, product_id INTEGER NOT NULL, quantity INTEGER, unit_price REAL, PRIMARY KEY (order_id, line));
CREATE INDEX order_items_product ON order_items (product_id);
CREATE TABLE payments (order_id INTEGER, method TEXT, amount REAL, paid_at DATETIME, note);
-- Inventory service
CREATE TABLE products (id INTEGER PRIMARY KEY, sku TEXT UNIQUE, title TEXT, price REAL, weight_grams INTEGER);
CREATE TABLE warehouses (code TEXT PRIMARY KEY, city TEXT, capacity INTEGER) WITHOUT ROWID;
CREATE TABLE stock_levels (product_id INTEGER NOT NULL, warehouse TEXT NOT NULL, on_hand INTEGER, PRIMARY KEY (product_id, warehouse));

------------------------------------------------------------------ some data
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
INSERT INTO profiles SELECT i, 'user' || i || '@example.com', CASE WHEN i % 7 = 0 THEN NULL ELSE 'Üser ' || i END,
       datetime(1700000000 + i * 3600, 'unixepoch'), CASE WHEN i % 5 = 0 THEN x'89504e47' ELSE NULL END FROM n;
INSERT INTO preferences SELECT id, 'theme', CASE id % 3 WHEN 0 THEN 'dark' WHEN 1 THEN 'light' ELSE 2 END FROM profiles;
INSERT INTO preferences SELECT id, 'newsletter', id % 2 FROM profiles WHERE id % 4 = 0;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
INSERT INTO sessions SELECT hex(i * 2654435761 % 4294967296) || '-' || i, 1 + i % 2000, 1800000000 + i, '10.0.' || (i % 256) || '.' || (i % 7) FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
INSERT INTO orders (user_id, status, total, placed_at) SELECT 1 + i % 2000, CASE i % 4 WHEN 0 THEN 'new' WHEN 1 THEN 'paid' WHEN 2 THEN 'shipped' ELSE 'cancelled' END,
       round((i % 97) * 3.25, 2), datetime(1700000000 + i * 600, 'unixepoch') FROM n;
INSERT INTO order_items SELECT o.id, l.line, 1 + (o.id * l.line) % 500, 1 + l.line % 3, 0.99 * (1 + (o.id + l.line) % 50)
  FROM orders o, (SELECT 1 AS line UNION ALL SELECT 2 UNION ALL SELECT 3) l;
INSERT INTO payments SELECT id, CASE id % 3 WHEN 0 THEN 'card' WHEN 1 THEN 'wallet' ELSE 'invoice' END, total, placed_at, NULL FROM orders WHERE status <> 'new';
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)
INSERT INTO products SELECT i, printf('SKU-%05d', i), 'Product ' || i, 0.99 * (1 + i % 50), 100 + i * 3 FROM n;
INSERT INTO warehouses VALUES ('AMS', 'Amsterdam', 10000), ('BER', 'Berlin', 8000), ('LIS', 'Lisbon', 5000);
INSERT INTO stock_levels SELECT p.id, w.code, (p.id * 31 + length(w.city)) % 200 FROM products p, warehouses w;

------------------------------------------------------------------ service-specific collections (YDB's recipe, verbatim)
-- User service backup collection
CREATE BACKUP COLLECTION user_service_backups
    ( TABLE profiles
    , TABLE preferences
    , TABLE sessions
    )
WITH ( STORAGE = 'cluster', INCREMENTAL_BACKUP_ENABLED = 'true' );

-- Order service backup collection
CREATE BACKUP COLLECTION order_service_backups
    ( TABLE orders
    , TABLE order_items
    , TABLE payments
    )
WITH ( STORAGE = 'cluster', INCREMENTAL_BACKUP_ENABLED = 'true' );

-- Inventory service backup collection
CREATE BACKUP COLLECTION inventory_service_backups
    ( TABLE products
    , TABLE stock_levels
    , TABLE warehouses
    )
WITH ( STORAGE = 'cluster', INCREMENTAL_BACKUP_ENABLED = 'true' );

------------------------------------------------------------------ taking backups independently (YDB's recipe, verbatim)
-- Take backups for each service independently
BACKUP user_service_backups;
BACKUP order_service_backups;
BACKUP inventory_service_backups;

------------------------------------------------------------------ a day of changes in every service
-- Orders: some ship, ten new ones arrive with their items and payments, a few are refunded.
UPDATE orders SET status = 'shipped' WHERE status = 'paid' AND id % 10 = 1;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10)
INSERT INTO orders (user_id, status, total, placed_at) SELECT i * 7, 'new', i * 10.5, datetime(1702000000 + i * 60, 'unixepoch') FROM n;
INSERT INTO order_items SELECT id, 1, 1 + id % 500, 2, 4.99 FROM orders WHERE id > 3000;
DELETE FROM payments WHERE order_id % 97 = 0;
-- Users: a few rename, expired sessions go, preferences change.
UPDATE profiles SET name = 'Renamed ' || id WHERE id % 250 = 0;
DELETE FROM sessions WHERE user_id % 100 = 0;
UPDATE preferences SET value = 'dark' WHERE key = 'theme' AND user_id % 9 = 0;
-- Inventory: stock moves; nothing else.
UPDATE stock_levels SET on_hand = on_hand + 25 WHERE product_id <= 20 AND warehouse = 'AMS';

-- Later, take incremental backups
BACKUP user_service_backups INCREMENTAL;
BACKUP order_service_backups INCREMENTAL;
BACKUP inventory_service_backups INCREMENTAL;

-- Remember the order service's data as backed up, to compare after the restore.
CREATE TEMP TABLE before_orders AS SELECT * FROM orders;
CREATE TEMP TABLE before_order_items AS SELECT * FROM order_items;
CREATE TEMP TABLE before_payments AS SELECT * FROM payments;

-- Life goes on in every service after the backups.
INSERT INTO profiles (id, email, name) VALUES (2001, 'late@example.com', 'Signed up after the backup');
UPDATE stock_levels SET on_hand = on_hand - 1 WHERE product_id = 1;
INSERT INTO orders (user_id, status, total) VALUES (1, 'new', 1.00);

------------------------------------------------------------------ disaster in the order service
DROP TABLE payments;
DROP TABLE order_items;
DROP TABLE orders;

------------------------------------------------------------------ independent recovery
-- The latest backup is the incremental: the restore merges it over the full backup.
RESTORE order_service_backups;

-- Every restored table equals its data at the incremental backup (0 rows differ, either way);
-- the order placed after it is gone with the disaster.
SELECT 'orders' AS restored_table, (SELECT count(*) FROM orders) AS row_count,
       (SELECT count(*) FROM (SELECT * FROM orders EXCEPT SELECT * FROM temp.before_orders))
     + (SELECT count(*) FROM (SELECT * FROM temp.before_orders EXCEPT SELECT * FROM orders)) AS rows_differing
UNION ALL
SELECT 'order_items', (SELECT count(*) FROM order_items),
       (SELECT count(*) FROM (SELECT * FROM order_items EXCEPT SELECT * FROM temp.before_order_items))
     + (SELECT count(*) FROM (SELECT * FROM temp.before_order_items EXCEPT SELECT * FROM order_items))
UNION ALL
SELECT 'payments', (SELECT count(*) FROM payments),
       (SELECT count(*) FROM (SELECT * FROM payments EXCEPT SELECT * FROM temp.before_payments))
     + (SELECT count(*) FROM (SELECT * FROM temp.before_payments EXCEPT SELECT * FROM payments));

-- The other services kept their live data, including what changed after their backups.
SELECT (SELECT count(*) FROM profiles) AS profiles_now,
       (SELECT name FROM profiles WHERE id = 2001) AS newest_profile,
       (SELECT sum(on_hand) FROM stock_levels WHERE product_id = 1) AS product_1_stock;
