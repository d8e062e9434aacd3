-- quiver demo on PostgreSQL: three services share one database; each has its own backup collection.
-- Run it with `cargo run -p quiver-cli -- demo --db postgresql://user@host:port/dbname` (an empty database).

------------------------------------------------------------------ the services' tables
-- User service
CREATE TABLE profiles (id integer PRIMARY KEY, email text NOT NULL UNIQUE, name text, created_at timestamptz, avatar bytea);
CREATE TABLE preferences (user_id integer NOT NULL, key text NOT NULL, value text, PRIMARY KEY (user_id, key));
CREATE TABLE sessions (token text PRIMARY KEY, user_id integer NOT NULL, expires_at bigint, ip inet);
-- Order service
CREATE TYPE order_status AS ENUM ('new', 'paid', 'shipped', 'cancelled');
CREATE TABLE orders (id serial PRIMARY KEY, user_id integer NOT NULL, status order_status NOT NULL, total numeric(10,2) CHECK (total >= 0), placed_at timestamptz DEFAULT now());
CREATE TABLE order_items (order_id integer NOT NULL REFERENCES orders (id) ON DELETE CASCADE, line integer NOT NULL, product_id integer NOT NULL, quantity integer, unit_price double precision, PRIMARY KEY (order_id, line));
CREATE INDEX order_items_product ON order_items (product_id);
CREATE TABLE payments (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, order_id integer REFERENCES orders (id), method text, amount numeric(10,2), paid_at timestamptz, note jsonb);
-- Inventory service
CREATE TABLE products (id integer PRIMARY KEY, sku varchar(16) UNIQUE, title text, price real, weight_grams integer);
CREATE TABLE warehouses (code char(3) PRIMARY KEY, city text, capacity integer);
CREATE TABLE stock_levels (product_id integer NOT NULL, warehouse char(3) NOT NULL, on_hand integer, PRIMARY KEY (product_id, warehouse));

------------------------------------------------------------------ some data
INSERT INTO profiles SELECT i, 'user' || i || '@example.com', CASE WHEN i % 7 = 0 THEN NULL ELSE 'Üser ' || i END,
       to_timestamp(1700000000 + i * 3600), CASE WHEN i % 5 = 0 THEN '\x89504e47'::bytea END FROM generate_series(1, 2000) i;
INSERT INTO preferences SELECT id, 'theme', CASE id % 3 WHEN 0 THEN 'dark' WHEN 1 THEN 'light' ELSE '2' END FROM profiles;
INSERT INTO preferences SELECT id, 'newsletter', (id % 2)::text FROM profiles WHERE id % 4 = 0;
INSERT INTO sessions SELECT md5(i::text) || '-' || i, 1 + i % 2000, 1800000000 + i, ('10.0.' || (i % 256) || '.' || (i % 7))::inet FROM generate_series(1, 5000) i;
INSERT INTO orders (user_id, status, total, placed_at) SELECT 1 + i % 2000, (ARRAY['new', 'paid', 'shipped', 'cancelled'])[1 + i % 4]::order_status,
       round((i % 97) * 3.25, 2), to_timestamp(1700000000 + i * 600) FROM generate_series(1, 3000) i;
INSERT INTO order_items SELECT o.id, l.line, 1 + (o.id * l.line) % 500, 1 + l.line % 3, 0.99 * (1 + (o.id + l.line) % 50)
  FROM orders o, generate_series(1, 3) l(line);
INSERT INTO payments (order_id, method, amount, paid_at, note) SELECT id, (ARRAY['card', 'wallet', 'invoice'])[1 + id % 3], total, placed_at,
       CASE WHEN id % 11 = 0 THEN jsonb_build_object('gift', true, 'wrap', 'red') END FROM orders WHERE status <> 'new';
INSERT INTO products SELECT i, 'SKU-' || lpad(i::text, 5, '0'), 'Product ' || i, 0.99 * (1 + i % 50), 100 + i * 3 FROM generate_series(1, 500) i;
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
INSERT INTO orders (user_id, status, total, placed_at) SELECT i * 7, 'new', i * 10.5, to_timestamp(1702000000 + i * 60) FROM generate_series(1, 10) i;
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
-- the order placed after it is gone with the disaster, and the next order id follows the backup's.
SELECT 'orders' AS restored_table, (SELECT count(*) FROM orders) AS row_count,
       (SELECT count(*) FROM (SELECT * FROM orders EXCEPT SELECT * FROM pg_temp.before_orders) d)
     + (SELECT count(*) FROM (SELECT * FROM pg_temp.before_orders EXCEPT SELECT * FROM orders) d) AS rows_differing
UNION ALL
SELECT 'order_items', (SELECT count(*) FROM order_items),
       (SELECT count(*) FROM (SELECT * FROM order_items EXCEPT SELECT * FROM pg_temp.before_order_items) d)
     + (SELECT count(*) FROM (SELECT * FROM pg_temp.before_order_items EXCEPT SELECT * FROM order_items) d)
UNION ALL
SELECT 'payments', (SELECT count(*) FROM payments),
       (SELECT count(*) FROM (SELECT id, order_id, method, amount, paid_at, note::text FROM payments
                              EXCEPT SELECT id, order_id, method, amount, paid_at, note::text FROM pg_temp.before_payments) d)
     + (SELECT count(*) FROM (SELECT id, order_id, method, amount, paid_at, note::text FROM pg_temp.before_payments
                              EXCEPT SELECT id, order_id, method, amount, paid_at, note::text FROM payments) d);

-- The other services kept their live data, including what changed after their backups.
SELECT (SELECT count(*) FROM profiles) AS profiles_now,
       (SELECT name FROM profiles WHERE id = 2001) AS newest_profile,
       (SELECT sum(on_hand) FROM stock_levels WHERE product_id = 1) AS product_1_stock;
