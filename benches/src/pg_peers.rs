//! `--peers --postgres`: quiver beside `pg_dump -Fc` and `pg_dump -Fd -j 2` (each restored
//! with `pg_restore -j 2`) on the PostgreSQL demo's three services, in one run on one server.
//!
//! The scenario is the SQLite peers' ([`crate::peers`]): the order service's collection is
//! backed up in full, then after 0.1%, 1% and 10% scattered row changes (cumulative); then
//! the other services change, the service's tables are dropped, and the service alone is
//! restored while the other services keep their live rows. pg_dump dumps the whole database
//! each time; its service comes back by `pg_restore -L` with the dump's table of contents
//! cut down to the service's tables and what belongs to them (data, keys, indexes,
//! sequences), which is how a pg_dump user restores some tables. Every restore is checked:
//! each table's rows (as text, sorted), its indexes and constraints, and the sequences'
//! positions equal the state at the last backup; the other services' tables their live
//! state.

use std::path::{Path, PathBuf};
use std::process::Command;

use postgres::{Client, NoTls};
use quiver_postgres::test_server::{PgTestServer, bin_dir};

use crate::peers::{Cost, FRACTIONS, PeerSize, Step, ToolResult, dir_bytes, run_process};

/// The demo's collection of the order service, and its tables.
const SERVICE: &str = "order_service_backups";
const SERVICE_TABLES: [&str; 3] = ["orders", "order_items", "payments"];
const OTHER_TABLES: [&str; 6] = [
    "profiles",
    "preferences",
    "sessions",
    "products",
    "warehouses",
    "stock_levels",
];

/// The demo's tables (examples/demo_postgres.sql up to its data).
fn schema() -> &'static str {
    const DEMO: &str = include_str!("../../examples/demo_postgres.sql");
    let end = DEMO
        .find("------------------------------------------------------------------ some data")
        .expect("the demo has a data section");
    &DEMO[..end]
}

/// Rows for about `rows` in all: the demo's mix, scaled (orders 15%, their items 45%,
/// payments ~11%, users 10%, their preferences 12.5% and sessions 10%, stock 3%).
fn fill_sql(rows: u64) -> String {
    let users = (rows / 10).max(10);
    let orders = (rows * 15 / 100).max(10);
    let products = (rows / 100).max(10);
    format!(
        "INSERT INTO profiles SELECT i, 'user' || i || '@example.com', CASE WHEN i % 7 = 0 THEN NULL ELSE 'Üser ' || i END,
                to_timestamp(1700000000 + i * 60), CASE WHEN i % 5 = 0 THEN '\\x89504e47'::bytea END FROM generate_series(1, {users}) i;
         INSERT INTO preferences SELECT id, 'theme', CASE id % 3 WHEN 0 THEN 'dark' WHEN 1 THEN 'light' ELSE '2' END FROM profiles;
         INSERT INTO preferences SELECT id, 'newsletter', (id % 2)::text FROM profiles WHERE id % 4 = 0;
         INSERT INTO sessions SELECT md5(i::text) || '-' || i, 1 + i % {users}, 1800000000 + i, ('10.0.' || (i % 256) || '.' || (i % 7))::inet FROM generate_series(1, {users}) i;
         INSERT INTO orders (user_id, status, total, placed_at) SELECT 1 + i % {users}, (ARRAY['new', 'paid', 'shipped', 'cancelled'])[1 + i % 4]::order_status,
                round((i % 97) * 3.25, 2), to_timestamp(1700000000 + i * 60) FROM generate_series(1, {orders}) i;
         INSERT INTO order_items SELECT o.id, l.line, 1 + (o.id * l.line) % {products}, 1 + l.line % 3, 0.99 * (1 + (o.id + l.line) % 50)
           FROM orders o, generate_series(1, 3) l(line);
         INSERT INTO payments (order_id, method, amount, paid_at, note) SELECT id, (ARRAY['card', 'wallet', 'invoice'])[1 + id % 3], total, placed_at,
                CASE WHEN id % 11 = 0 THEN jsonb_build_object('gift', true, 'wrap', 'red') END FROM orders WHERE status <> 'new';
         INSERT INTO products SELECT i, 'SKU-' || lpad(i::text, 7, '0'), 'Product ' || i, 0.99 * (1 + i % 50), 100 + i * 3 FROM generate_series(1, {products}) i;
         INSERT INTO warehouses VALUES ('AMS', 'Amsterdam', 10000), ('BER', 'Berlin', 8000), ('LIS', 'Lisbon', 5000);
         INSERT INTO stock_levels SELECT p.id, w.code, (p.id * 31 + length(w.city)) % 200 FROM products p, warehouses w;
         ANALYZE;"
    )
}

/// `fraction` of the service's rows (and of the sessions) changed, scattered by a hash of
/// their keys: 70% of it updated, 10% deleted, 20% inserted (new orders with their items
/// and payments).
fn change_sql(fraction: f64, seed: u64) -> String {
    let pick = |key: &str, share: f64| {
        format!(
            "(hashint8(({key})::bigint + {seed}) & 2147483647) % 1000000 < {}",
            (fraction * share * 1_000_000.0).round() as u64
        )
    };
    format!(
        "UPDATE orders SET total = total + 1, status = 'paid' WHERE {};
         UPDATE order_items SET quantity = quantity + 1 WHERE {};
         UPDATE payments SET note = jsonb_build_object('changed', {seed}) WHERE {};
         UPDATE sessions SET expires_at = expires_at + 1 WHERE {};
         DELETE FROM order_items WHERE {};
         DELETE FROM payments WHERE {};
         CREATE TEMP TABLE mark AS SELECT max(id) AS last FROM orders;
         INSERT INTO orders (user_id, status, total, placed_at)
           SELECT 1 + i % 1000, 'new', i % 97, to_timestamp(1800000000 + i)
           FROM generate_series(1, (SELECT (count(*) * {fraction} * 0.2)::int FROM orders)) i;
         INSERT INTO order_items SELECT id, l, 1 + id % 100, 1, 9.99 FROM orders, generate_series(1, 3) l
           WHERE id > (SELECT last FROM mark);
         INSERT INTO payments (order_id, method, amount, paid_at)
           SELECT id, 'card', 1.5, '2027-01-01 00:00:00+00' FROM orders WHERE id > (SELECT last FROM mark);
         DROP TABLE mark;",
        pick("id", 0.7),
        pick("order_id * 7 + line", 0.7),
        pick("id", 0.7),
        pick("hashtext(token)", 0.7),
        pick("order_id * 13 + line", 0.1),
        pick("id * 3", 0.1),
    )
}

/// How a tool backs up and restores a PostgreSQL database.
trait PgPeer {
    fn name(&self) -> &'static str;
    fn command(&self) -> String;
    fn covers(&self) -> &'static str;
    fn restores(&self) -> &'static str;
    /// Sets up (untimed) in `dir`, for the database at `url`.
    fn prepare(&mut self, dir: &Path, url: &str);
    /// One backup (`n`: 0 for the first); its cost and the bytes it stored.
    fn backup(&mut self, n: usize) -> (Cost, u64);
    /// Restores the service into the database, whose service tables are gone.
    fn restore(&mut self) -> Cost;
}

/// Runs the PostgreSQL peers at each size; the results and their table.
pub fn run(sizes: &[u64], work: &Path) -> (Vec<PeerSize>, String) {
    let server = PgTestServer::shared();
    let mut results = Vec::new();
    for &rows in sizes {
        eprintln!("== PostgreSQL peers, {rows} rows");
        let dir = work.join(format!("pg-peers-{rows}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let base = server.database("peers_base");
        let mut client = connect(&base);
        client.batch_execute(schema()).unwrap();
        client.batch_execute(&fill_sql(rows)).unwrap();
        let count = |tables: &[&str], client: &mut Client| -> u64 {
            tables
                .iter()
                .map(|t| {
                    let n: i64 = client
                        .query_one(&format!("SELECT count(*) FROM {t}"), &[])
                        .unwrap()
                        .get(0);
                    n as u64
                })
                .sum()
        };
        let service_rows = count(&SERVICE_TABLES, &mut client);
        let total = service_rows + count(&OTHER_TABLES, &mut client);
        let database_bytes: i64 = client
            .query_one("SELECT pg_database_size(current_database())", &[])
            .unwrap()
            .get(0);
        drop(client);
        let mut peers: Vec<Box<dyn PgPeer>> = vec![
            Box::new(Quiver::default()),
            Box::new(PgDump {
                directory: false,
                ..PgDump::default()
            }),
            Box::new(PgDump {
                directory: true,
                ..PgDump::default()
            }),
        ];
        let tools = peers
            .iter_mut()
            .map(|peer| measure(peer.as_mut(), server, &dir, &base))
            .collect();
        drop_database(server, &base);
        results.push(PeerSize {
            bench_process_peak_rss_bytes: crate::measure::peak_rss().unwrap_or(0),
            rows: total,
            service_rows,
            database_bytes: database_bytes as u64,
            tools,
        });
    }
    let table = crate::peers::markdown(&results);
    (results, table)
}

/// One tool through the scenario, on its own copy of the database at `base`.
fn measure(peer: &mut dyn PgPeer, server: &PgTestServer, dir: &Path, base: &str) -> ToolResult {
    let dir = dir.join(peer.name().replace([' ', '.'], "-"));
    std::fs::create_dir_all(&dir).unwrap();
    let live = copy_database(server, base, "peers_live");
    peer.prepare(&dir, &live);
    let mut steps = Vec::new();
    eprintln!("{}: full backup", peer.name());
    checkpoint(server);
    let (cost, bytes) = peer.backup(0);
    steps.push(Step {
        step: "full".into(),
        cost,
        bytes,
    });
    for (n, fraction) in FRACTIONS.iter().enumerate() {
        connect(&live)
            .batch_execute(&change_sql(*fraction, 7 + n as u64))
            .unwrap();
        checkpoint(server);
        eprintln!(
            "{}: backup after {}% changed",
            peer.name(),
            fraction * 100.0
        );
        let (cost, bytes) = peer.backup(n + 1);
        steps.push(Step {
            step: format!("{}%", fraction * 100.0),
            cost,
            bytes,
        });
    }
    let mut client = connect(&live);
    let reference = state(&mut client, &SERVICE_TABLES);
    client
        .batch_execute(
            "UPDATE profiles SET name = 'live ' || id WHERE id % 50 = 0;
             INSERT INTO sessions VALUES ('live-session', 1, 1, '127.0.0.1');
             DROP TABLE payments, order_items, orders;",
        )
        .unwrap();
    let others = state(&mut client, &OTHER_TABLES);
    drop(client);
    checkpoint(server);
    eprintln!("{}: restore of the service", peer.name());
    let restore = peer.restore();
    let mut client = connect(&live);
    assert_eq!(
        state(&mut client, &SERVICE_TABLES),
        reference,
        "{}: the service's tables differ from their last backup after the restore",
        peer.name()
    );
    assert_eq!(
        state(&mut client, &OTHER_TABLES),
        others,
        "{}: the other services' tables changed in the restore",
        peer.name()
    );
    drop(client);
    drop_database(server, &live);
    let _ = std::fs::remove_dir_all(&dir);
    ToolResult {
        tool: peer.name().into(),
        command: peer.command(),
        covers: peer.covers().into(),
        restores: peer.restores().into(),
        steps,
        restore: Some(restore),
        unavailable: None,
    }
}

/// A digest of every row of `tables` (as text, sorted), their indexes and constraints, and the
/// positions of the sequences they own.
fn state(client: &mut Client, tables: &[&str]) -> Vec<String> {
    let mut state = Vec::new();
    for table in tables {
        let rows: Option<String> = client
            .query_one(
                // Digested on the server: the rows themselves would raise this process's peak
                // RSS, which every child's figure includes (see `PeerSize`).
                &format!(
                    "SELECT count(*) || ' ' || md5(string_agg(t::text, E'\\n' ORDER BY t::text)) FROM {table} t"
                ),
                &[],
            )
            .unwrap()
            .get(0);
        state.push(format!("{table}:\n{}", rows.unwrap_or_default()));
        for row in client
            .query(
                "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = $1 ORDER BY 1",
                &[table],
            )
            .unwrap()
        {
            state.push(row.get(0));
        }
        for row in client
            .query(
                "SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = $1::text::regclass ORDER BY 1",
                &[table],
            )
            .unwrap()
        {
            state.push(row.get(0));
        }
        for row in client
            .query(
                "SELECT s.relname FROM pg_class s JOIN pg_depend d ON d.objid = s.oid
                 WHERE s.relkind = 'S' AND d.refobjid = $1::text::regclass ORDER BY 1",
                &[table],
            )
            .unwrap()
        {
            let sequence: String = row.get(0);
            let position = client
                .query_one(
                    &format!("SELECT last_value, is_called FROM {sequence}"),
                    &[],
                )
                .unwrap();
            state.push(format!(
                "{sequence} {} {}",
                position.get::<_, i64>(0),
                position.get::<_, bool>(1)
            ));
        }
    }
    state
}

/// quiver: the demo's order-service collection, incrementals, `RESTORE` of it (each step a
/// process of its own, this benchmark binary's child mode).
#[derive(Default)]
struct Quiver {
    url: String,
    repo: PathBuf,
}

impl PgPeer for Quiver {
    fn name(&self) -> &'static str {
        "quiver"
    }
    fn command(&self) -> String {
        format!("BACKUP {SERVICE}; then BACKUP {SERVICE} INCREMENTAL; RESTORE {SERVICE}")
    }
    fn covers(&self) -> &'static str {
        "the service's 3 tables"
    }
    fn restores(&self) -> &'static str {
        "one service, any table of it, any backup (RESTORE AT), in one transaction, without touching other tables"
    }
    fn prepare(&mut self, dir: &Path, url: &str) {
        self.url = url.to_string();
        self.repo = dir.join("repo.quiver");
        let tables: Vec<String> = SERVICE_TABLES
            .iter()
            .map(|t| format!("TABLE {t}"))
            .collect();
        self.child(&format!(
            "CREATE BACKUP COLLECTION {SERVICE} ({}) WITH (INCREMENTAL_BACKUP_ENABLED = 'true')",
            tables.join(", ")
        ));
    }
    fn backup(&mut self, n: usize) -> (Cost, u64) {
        let before = dir_bytes(&self.repo);
        let cost = self.child(&if n == 0 {
            format!("BACKUP {SERVICE}")
        } else {
            format!("BACKUP {SERVICE} INCREMENTAL")
        });
        (cost, dir_bytes(&self.repo) - before)
    }
    fn restore(&mut self) -> Cost {
        self.child(&format!("RESTORE {SERVICE}"))
    }
}

impl Quiver {
    fn child(&self, statement: &str) -> Cost {
        run_process(
            Command::new(std::env::current_exe().unwrap())
                .arg("child-pg-exec")
                .arg(&self.url)
                .arg(&self.repo)
                .arg(statement),
        )
    }
}

/// `pg_dump -Fc` or `pg_dump -Fd -j 2` of the whole database each time; the service
/// restored by `pg_restore -j 2 -L` from the last dump.
#[derive(Default)]
struct PgDump {
    directory: bool,
    url: String,
    dir: PathBuf,
    last: PathBuf,
}

impl PgDump {
    fn format(&self) -> &'static str {
        if self.directory { "-Fd -j 2" } else { "-Fc" }
    }
}

impl PgPeer for PgDump {
    fn name(&self) -> &'static str {
        if self.directory {
            "pg_dump -Fd -j 2"
        } else {
            "pg_dump -Fc"
        }
    }
    fn command(&self) -> String {
        format!(
            "pg_dump {} -f dumpN db; pg_restore -j 2 -L service.list -d db dumpN",
            self.format()
        )
    }
    fn covers(&self) -> &'static str {
        "the whole database, every time"
    }
    fn restores(&self) -> &'static str {
        "the whole database or chosen tables as of any dump kept (pg_restore -t / -L), not in one transaction with -j"
    }
    fn prepare(&mut self, dir: &Path, url: &str) {
        self.url = url.to_string();
        self.dir = dir.to_path_buf();
    }
    fn backup(&mut self, n: usize) -> (Cost, u64) {
        let target = self.dir.join(format!("dump{n}"));
        let mut command = Command::new(pg_tool("pg_dump"));
        command
            .args(self.format().split(' '))
            .arg("-f")
            .arg(&target);
        let cost = run_process(command.args(["-d", &self.url]));
        self.last = target.clone();
        let bytes = if self.directory {
            dir_bytes(&target)
        } else {
            std::fs::metadata(&target).unwrap().len()
        };
        (cost, bytes)
    }
    fn restore(&mut self) -> Cost {
        // The table of contents, cut down to the service: its tables, their data, and what
        // is named after them or owned by them (keys, indexes, sequences, defaults).
        let listing = Command::new(pg_tool("pg_restore"))
            .arg("-l")
            .arg(&self.last)
            .output()
            .unwrap();
        assert!(listing.status.success(), "pg_restore -l failed");
        let owned = [
            "orders",
            "order_items",
            "payments",
            "orders_id_seq",
            "payments_id_seq",
            "order_items_product",
        ];
        let listing = String::from_utf8(listing.stdout).unwrap();
        let service: Vec<&str> = listing
            .lines()
            .filter(|line| {
                // "<id>; <oid> <oid> <kind…> public <tag…> <owner>"
                !line.starts_with(';')
                    && line.split(" public ").nth(1).is_some_and(|rest| {
                        rest.split_whitespace()
                            .next()
                            .is_some_and(|tag| owned.contains(&tag))
                    })
            })
            .collect();
        let list = self.dir.join("service.list");
        std::fs::write(&list, service.join("\n") + "\n").unwrap();
        run_process(
            Command::new(pg_tool("pg_restore"))
                .args(["-j", "2", "-L"])
                .arg(&list)
                .args(["-d", &self.url])
                .arg(&self.last),
        )
    }
}

fn pg_tool(name: &str) -> PathBuf {
    bin_dir().map_or_else(|| PathBuf::from(name), |dir| dir.join(name))
}

fn connect(url: &str) -> Client {
    Client::connect(url, NoTls).unwrap_or_else(|e| panic!("connecting to the bench server: {e}"))
}

/// A copy of the database at `from` (as a template), named after `name`; its URL.
fn copy_database(server: &PgTestServer, from: &str, name: &str) -> String {
    let source = from.rsplit('/').next().unwrap_or_default();
    let source = source.split('?').next().unwrap_or_default();
    let copy = format!("{name}_{}", std::process::id());
    let mut admin = connect(server.admin_url());
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {copy} WITH (FORCE)"))
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {copy} TEMPLATE {source}"))
        .unwrap();
    server.url_of(&copy)
}

fn drop_database(server: &PgTestServer, url: &str) {
    let name = url.rsplit('/').next().unwrap_or_default();
    let name = name.split('?').next().unwrap_or_default();
    connect(server.admin_url())
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .unwrap();
}

/// Flushes the server's dirty pages, so that no measured step pays for the one before.
fn checkpoint(server: &PgTestServer) {
    connect(server.admin_url())
        .batch_execute("CHECKPOINT")
        .unwrap();
}
