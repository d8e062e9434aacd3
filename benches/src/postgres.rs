//! `--postgres`: quiver on a PostgreSQL server against the physical limits and the tools
//! users would pick instead, all measured in one run on the same data and the same server.
//!
//! Baselines: a bare binary `COPY … TO STDOUT` of every table, read and discarded by the same
//! client library on as many sessions as quiver's backup uses (the limit of reading; also
//! with quiver's `ORDER BY` key, for reference); `pg_dump -Fd -j 2`; a bare binary
//! `COPY … FROM STDIN` of the same rows into the same tables in one transaction, as
//! quiver's restore is, keys added once the rows are in (the fastest way to the same
//! tables, as pg_restore does it); `pg_restore -j 2` (two sessions, no atomicity) and
//! `pg_restore --single-transaction` (one session, all or nothing: quiver's guarantee).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use postgres::{Client, NoTls};
use quiver::{Engine, EngineOptions, Outcome};
use quiver_postgres::test_server::{PgTestServer, bin_dir};
use serde::Serialize;

use crate::changes::{self, ChangedRows};
use crate::measure::{best_of, best_of_prepared};

/// The generated schema: the SQLite benchmark's order service in PostgreSQL types.
const SCHEMA: &str = "
CREATE TABLE customers (id bigint PRIMARY KEY, email text NOT NULL, name text, country text, created_at timestamp, score float8);
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL, status text NOT NULL, total float8, placed_at timestamptz, note text);
CREATE TABLE order_items (order_id bigint NOT NULL, line int NOT NULL, sku text NOT NULL, quantity int, unit_price float8, meta bytea,
                          PRIMARY KEY (order_id, line));
";

/// The generated tables without their keys, and the keys, for loading as pg_restore does.
const SCHEMA_WITHOUT_KEYS: &str = "
CREATE TABLE customers (id bigint NOT NULL, email text NOT NULL, name text, country text, created_at timestamp, score float8);
CREATE TABLE orders (id bigint NOT NULL, customer_id bigint NOT NULL, status text NOT NULL, total float8, placed_at timestamptz, note text);
CREATE TABLE order_items (order_id bigint NOT NULL, line int NOT NULL, sku text NOT NULL, quantity int, unit_price float8, meta bytea);
";
const KEYS: &str = "
ALTER TABLE customers ADD PRIMARY KEY (id);
ALTER TABLE orders ADD PRIMARY KEY (id);
ALTER TABLE order_items ADD PRIMARY KEY (order_id, line);
";

/// Tables with their key, largest first (the order parallel readers take them in).
const TABLES: [(&str, &str); 3] = [
    ("order_items", "order_id, line"),
    ("orders", "id"),
    ("customers", "id"),
];

/// Parallel sessions: as many as quiver's backup opens (one per core).
fn sessions() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// One data size's figures.
#[derive(Debug, Serialize)]
pub struct PgSizeResult {
    rows: u64,
    /// Bare binary COPY TO of every table, in parallel sessions, read and discarded.
    bare_copy_out_s: f64,
    /// The same with `ORDER BY` key, as quiver reads.
    bare_copy_out_ordered_s: f64,
    pg_dump_s: f64,
    full_backup_s: f64,
    full_backup_vs_copy_out: f64,
    full_backup_vs_pg_dump: f64,
    /// Bare binary COPY FROM into the same tables, one transaction.
    bare_copy_in_s: f64,
    pg_restore_s: f64,
    /// `pg_restore --single-transaction`: one session, all tables or none.
    pg_restore_single_s: f64,
    restore_s: f64,
    restore_vs_copy_in: f64,
    restore_vs_pg_restore: f64,
    restore_vs_pg_restore_single: f64,
    database_bytes: u64,
    backup_bytes: u64,
    pg_dump_bytes: u64,
    /// 1% of every table's rows changed.
    changed_rows: ChangedRows,
    incremental_backup_s: f64,
    incremental_bytes: u64,
    incremental_bytes_vs_full: f64,
    backup_peak_rss_bytes: Option<u64>,
}

/// Runs the PostgreSQL benchmarks at each size; returns the markdown table.
pub fn run(sizes: &[u64], runs: usize, work: &Path) -> (Vec<PgSizeResult>, String) {
    let server = PgTestServer::shared();
    let results: Vec<PgSizeResult> = sizes
        .iter()
        .map(|&rows| {
            eprintln!("== PostgreSQL, {rows} rows");
            let result = bench_size(server, work, rows, runs);
            eprintln!("{result:#?}");
            result
        })
        .collect();
    let table = markdown(&results);
    (results, table)
}

fn bench_size(server: &PgTestServer, work: &Path, rows: u64, runs: usize) -> PgSizeResult {
    let dir = work.join(format!("pg-{rows}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let source = server.database("bench_source");
    let actual_rows = timed("generating the data", || fill(&source, rows));
    let database_bytes: i64 = connect(&source)
        .query_one("SELECT pg_database_size(current_database())", &[])
        .unwrap()
        .get(0);

    let copy_out = |ordered: bool| best_of(runs, || parallel_copy_out(&source, ordered)).0;
    let bare_copy_out = copy_out(false);
    let bare_copy_out_ordered = copy_out(true);

    let dump = dir.join("dump");
    let (pg_dump, _) = best_of_prepared(
        runs,
        || {
            let _ = std::fs::remove_dir_all(&dump);
        },
        |()| pg_dump(&source, &dump),
    );
    let pg_dump_bytes = dir_bytes(&dump);

    let repo = dir.join("repo");
    let mut backups = engine(&source, &repo);
    backups
        .execute("CREATE BACKUP COLLECTION bench (TABLE customers, TABLE orders, TABLE order_items) WITH (INCREMENTAL_BACKUP_ENABLED = 'true')")
        .unwrap();
    let (full_backup, backup_bytes) = best_of(runs, || {
        match &backups.execute("BACKUP bench").unwrap()[0] {
            Outcome::BackupTaken { manifest, .. } => manifest.bytes(),
            other => panic!("unexpected outcome {other}"),
        }
    });

    // The rows COPY FROM loads, as COPY TO wrote them (untimed).
    let copies = dir.join("copies");
    std::fs::create_dir_all(&copies).unwrap();
    for (table, _) in TABLES {
        let mut file = std::fs::File::create(copies.join(table)).unwrap();
        let mut client = connect(&source);
        let mut reader = client
            .copy_out(format!("COPY {table} TO STDOUT (FORMAT binary)").as_str())
            .unwrap();
        std::io::copy(&mut reader, &mut file).unwrap();
    }
    let mut last = None;
    let (bare_copy_in, _) = best_of_prepared(
        runs,
        || fresh_database(server, "bench_copy_in", &mut last, SCHEMA_WITHOUT_KEYS),
        |target| copy_in(&target, &copies),
    );
    let (pg_restore, _) = best_of_prepared(
        runs,
        || fresh_database(server, "bench_pg_restore", &mut last, ""),
        |target| run_pg_restore(&target, &dump, &["-j", "2"]),
    );
    let (pg_restore_single, _) = best_of_prepared(
        runs,
        || fresh_database(server, "bench_pg_restore_single", &mut last, ""),
        |target| run_pg_restore(&target, &dump, &["--single-transaction"]),
    );
    let (restore, restored) = best_of_prepared(
        runs,
        || fresh_database(server, "bench_restored", &mut last, ""),
        |target| {
            engine(&target, &repo).execute("RESTORE bench").unwrap();
            target
        },
    );
    assert_same_rows(&source, &restored, "restore");
    drop_database(&restored);

    let (changed_rows, incremental, incremental_bytes) =
        bench_incremental(server, &dir, &source, &repo, runs);
    let backup_peak_rss_bytes = child_peak_rss(&source, &dir.join("rss-repo"));
    drop_database(&source);

    PgSizeResult {
        rows: actual_rows,
        bare_copy_out_s: secs(bare_copy_out),
        bare_copy_out_ordered_s: secs(bare_copy_out_ordered),
        pg_dump_s: secs(pg_dump),
        full_backup_s: secs(full_backup),
        full_backup_vs_copy_out: secs(full_backup) / secs(bare_copy_out),
        full_backup_vs_pg_dump: secs(full_backup) / secs(pg_dump),
        bare_copy_in_s: secs(bare_copy_in),
        pg_restore_s: secs(pg_restore),
        restore_s: secs(restore),
        restore_vs_copy_in: secs(restore) / secs(bare_copy_in),
        restore_vs_pg_restore: secs(restore) / secs(pg_restore),
        pg_restore_single_s: secs(pg_restore_single),
        restore_vs_pg_restore_single: secs(restore) / secs(pg_restore_single),
        database_bytes: database_bytes as u64,
        backup_bytes,
        pg_dump_bytes,
        changed_rows,
        incremental_backup_s: secs(incremental),
        incremental_bytes,
        incremental_bytes_vs_full: incremental_bytes as f64 / backup_bytes as f64,
        backup_peak_rss_bytes,
    }
}

/// Creates [`SCHEMA`] in `url`'s database and fills it with about `rows` rows (10%
/// customers, 30% orders, 60% order items), deterministically, on the server itself; then
/// VACUUM ANALYZE, so no measured read pays for setting hint bits. Returns the rows.
fn fill(url: &str, rows: u64) -> u64 {
    let customers = (rows / 10).max(1);
    let orders = (rows * 3 / 10).max(1);
    let per_order = (rows.saturating_sub(customers + orders) / orders).max(1);
    let mut client = connect(url);
    client.batch_execute(SCHEMA).unwrap();
    client
        .batch_execute(&format!(
            "INSERT INTO customers
               SELECT i, 'c' || i || '@example.com',
                      CASE WHEN i % 10 <> 0 THEN 'Customer ' || i || ' ' || to_hex((i * 2654435761) % 16777216) END,
                      (ARRAY['NL','DE','PT','US','JP','BR'])[1 + (i * 7919) % 6],
                      timestamp '2026-01-01' + ((i * 104729) % 31536000) * interval '1 second',
                      ((i * 15485863) % 100000) / 100.0
               FROM generate_series(1::bigint, {customers}) i;
             INSERT INTO orders
               SELECT i, 1 + (i * 2654435761) % {customers},
                      (ARRAY['new','paid','shipped','cancelled'])[1 + (i * 31) % 4],
                      ((i * 15485863) % 1000000) / 100.0,
                      timestamptz '2026-01-01 00:00+00' + ((i * 104729) % 31536000) * interval '1 second',
                      CASE WHEN i % 5 = 0 THEN 'leave at the door' END
               FROM generate_series(1::bigint, {orders}) i;
             INSERT INTO order_items
               SELECT o, l, 'SKU-' || lpad(((o * 7919 + l * 104729) % 50000)::text, 6, '0'),
                      1 + (o + l) % 5,
                      (((o * 31 + l) * 15485863) % 10000) / 100.0,
                      CASE WHEN (o + l) % 3 = 0 THEN int8send(o * 2654435761 + l) END
               FROM generate_series(1::bigint, {orders}) o, generate_series(1, {per_order}) l;"
        ))
        .unwrap();
    client.batch_execute("VACUUM ANALYZE").unwrap();
    count_rows(&mut client)
}

fn count_rows(client: &mut Client) -> u64 {
    let total: i64 = client
        .query_one(
            "SELECT (SELECT count(*) FROM customers) + (SELECT count(*) FROM orders) + (SELECT count(*) FROM order_items)",
            &[],
        )
        .unwrap()
        .get(0);
    total as u64
}

/// Drops the database at `url` (the benchmark's databases would otherwise fill the disk and
/// the server's background writes would disturb later runs), then checkpoints, so that no
/// measured run pays for an earlier one's writes.
fn drop_database(url: &str) {
    let name = url.rsplit('/').next().unwrap_or_default().to_string();
    let mut admin = connect(PgTestServer::shared().admin_url());
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .unwrap();
    admin.batch_execute("CHECKPOINT").unwrap();
}

/// A new database named after `name` on `server` (with the tables of `schema`), the one
/// before it, `previous`, dropped.
fn fresh_database(
    server: &PgTestServer,
    name: &str,
    previous: &mut Option<String>,
    schema: &str,
) -> String {
    if let Some(url) = previous.take() {
        drop_database(&url);
    }
    let url = server.database(name);
    connect(&url).batch_execute(schema).unwrap();
    *previous = Some(url.clone());
    url
}

fn connect(url: &str) -> Client {
    Client::connect(url, NoTls).unwrap_or_else(|e| panic!("connecting to the bench server: {e}"))
}

fn engine(url: &str, repo: &Path) -> Engine {
    Engine::connect(
        url,
        EngineOptions {
            repository: Some(repo.to_path_buf()),
            ..EngineOptions::default()
        },
    )
    .unwrap()
}

/// Reads every table by binary COPY TO on [`sessions`] sessions at once (each takes the
/// next table, largest first), discarding the bytes; returns the bytes read.
fn parallel_copy_out(url: &str, ordered: bool) -> u64 {
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..sessions())
            .map(|_| {
                scope.spawn(|| {
                    let mut client = connect(url);
                    let mut bytes = 0u64;
                    let mut buffer = vec![0u8; 1 << 20];
                    loop {
                        let at = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some((table, key)) = TABLES.get(at) else {
                            return bytes;
                        };
                        let sql = if ordered {
                            format!("COPY (SELECT * FROM {table} ORDER BY {key}) TO STDOUT (FORMAT binary)")
                        } else {
                            format!("COPY {table} TO STDOUT (FORMAT binary)")
                        };
                        let mut reader = client.copy_out(sql.as_str()).unwrap();
                        loop {
                            let n = reader.read(&mut buffer).unwrap();
                            if n == 0 {
                                break;
                            }
                            bytes += n as u64;
                        }
                    }
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    })
}

/// Loads the COPY TO outputs in `copies` into `url`'s (already created, keyless) tables by
/// binary COPY FROM, then adds their keys, in one transaction.
fn copy_in(url: &str, copies: &Path) {
    let mut client = connect(url);
    let mut tx = client.transaction().unwrap();
    for (table, _) in TABLES {
        let mut file = std::fs::File::open(copies.join(table)).unwrap();
        let mut writer = tx
            .copy_in(format!("COPY {table} FROM STDIN (FORMAT binary)").as_str())
            .unwrap();
        std::io::copy(&mut file, &mut writer).unwrap();
        writer.flush().unwrap();
        writer.finish().unwrap();
    }
    tx.batch_execute(KEYS).unwrap();
    tx.commit().unwrap();
}

fn pg_tool(name: &str) -> PathBuf {
    bin_dir().map_or_else(|| PathBuf::from(name), |dir| dir.join(name))
}

fn pg_dump(url: &str, dir: &Path) {
    let mut command = Command::new(pg_tool("pg_dump"));
    command.args(["-Fd", "-j", "2", "-f"]).arg(dir);
    for (table, _) in TABLES {
        command.args(["-t", &format!("public.{table}")]);
    }
    run_tool(command.args(["-d", url]));
}

fn run_pg_restore(url: &str, dir: &Path, options: &[&str]) {
    run_tool(
        Command::new(pg_tool("pg_restore"))
            .args(options)
            .args(["-d", url])
            .arg(dir),
    );
}

fn run_tool(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Changes 1% of `source`'s rows, then measures `BACKUP bench INCREMENTAL` on fresh copies
/// of `repo` (whose latest backup is a full one of `source` before the change) and restores
/// it into a fresh database, checked against the changed source.
fn bench_incremental(
    server: &PgTestServer,
    dir: &Path,
    source: &str,
    repo: &Path,
    runs: usize,
) -> (ChangedRows, Duration, u64) {
    let mut client = connect(source);
    let mut tx = client.transaction().unwrap();
    let mut changed_rows = ChangedRows::default();
    let row_number = |table: &str| match table {
        "order_items" => "(order_id * 1000 + line)".to_string(),
        _ => "id".to_string(),
    };
    for statement in changes::statements(0.01, 42, row_number) {
        changed_rows.add(statement.counts, tx.execute(&statement.sql, &[]).unwrap());
    }
    tx.commit().unwrap();
    client.batch_execute("VACUUM ANALYZE").unwrap();

    let incremental_repo = dir.join("incremental-repo");
    let (time, manifest) = best_of_prepared(
        runs,
        || {
            let _ = std::fs::remove_dir_all(&incremental_repo);
            crate::copy_dir(repo, &incremental_repo);
            engine(source, &incremental_repo)
        },
        |mut engine| match engine
            .execute("BACKUP bench INCREMENTAL")
            .unwrap()
            .remove(0)
        {
            Outcome::BackupTaken { manifest, .. } => manifest,
            other => panic!("unexpected outcome {other}"),
        },
    );
    changed_rows.assert_found(manifest.changes());
    let restored = server.database("bench_incremental_restored");
    engine(&restored, &incremental_repo)
        .execute("RESTORE bench")
        .unwrap();
    assert_same_rows(source, &restored, "restore of the incremental backup");
    drop_database(&restored);
    (changed_rows, time, manifest.bytes())
}

/// Panics unless every table of `actual` holds exactly the rows of `expected`: the same
/// count and the same sum of each row's hash of its text form.
fn assert_same_rows(expected: &str, actual: &str, check: &str) {
    for (table, _) in TABLES {
        let sql = format!(
            "SELECT count(*), coalesce(sum(hashtextextended(t::text, 0)), 0)::text FROM {table} t"
        );
        let [want, got] = [expected, actual].map(|url| {
            let row = connect(url).query_one(sql.as_str(), &[]).unwrap();
            (row.get::<_, i64>(0), row.get::<_, String>(1))
        });
        assert_eq!(
            got, want,
            "{check}: table {table} differs (count, hash sum)"
        );
    }
}

/// Peak RSS of a process that only opens the engine and takes one full backup of `source`
/// into a fresh repository at `repo`.
fn child_peak_rss(source: &str, repo: &Path) -> Option<u64> {
    let _ = std::fs::remove_dir_all(repo);
    crate::measure::child_peak_rss(&["child-pg-backup", source, repo.to_str()?])
}

/// The child of [`child_peak_rss`].
pub fn child_backup(source: &str, repo: &Path) {
    engine(source, repo)
        .execute("CREATE BACKUP COLLECTION bench (TABLE customers, TABLE orders, TABLE order_items); BACKUP bench")
        .unwrap();
    println!("{}", crate::measure::peak_rss().unwrap_or(0));
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.metadata().map_or(0, |m| m.len()))
        .sum()
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn markdown(results: &[PgSizeResult]) -> String {
    let h = crate::human_bytes;
    let mut out = String::from(
        "| rows | bare COPY TO | (ordered by key) | pg_dump -Fd -j 2 | full backup | backup / COPY TO (target <= 1.3) | backup / pg_dump (target < 1) | db size | pg_dump size | backup size | backup peak RSS (target <= 256 MiB) |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in results {
        out.push_str(&format!(
            "| {} | {:.3} s | {:.3} s | {:.3} s | {:.3} s | {:.2}x | {:.2}x | {} | {} | {} | {} |\n",
            r.rows,
            r.bare_copy_out_s,
            r.bare_copy_out_ordered_s,
            r.pg_dump_s,
            r.full_backup_s,
            r.full_backup_vs_copy_out,
            r.full_backup_vs_pg_dump,
            h(r.database_bytes),
            h(r.pg_dump_bytes),
            h(r.backup_bytes),
            r.backup_peak_rss_bytes.map_or("n/a".into(), h),
        ));
    }
    out.push_str(
        "\n| rows | bare COPY FROM, keys after | pg_restore -j 2 | pg_restore --single-transaction | restore | restore / COPY FROM (target <= 1.5) | restore / pg_restore -j 2 (target < 1) | restore / pg_restore --single-transaction |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in results {
        out.push_str(&format!(
            "| {} | {:.3} s | {:.3} s | {:.3} s | {:.3} s | {:.2}x | {:.2}x | {:.2}x |\n",
            r.rows,
            r.bare_copy_in_s,
            r.pg_restore_s,
            r.pg_restore_single_s,
            r.restore_s,
            r.restore_vs_copy_in,
            r.restore_vs_pg_restore,
            r.restore_vs_pg_restore_single,
        ));
    }
    out.push_str(
        "\n| rows | incremental at 1% (rows updated / inserted / deleted) | incremental | incremental size | of full backup size (target <= 3%) |\n\
         |---:|---:|---:|---:|---:|\n",
    );
    for r in results {
        let c = r.changed_rows;
        out.push_str(&format!(
            "| {} | {} / {} / {} | {:.3} s | {} | {:.2}% |\n",
            r.rows,
            c.updated,
            c.inserted,
            c.deleted,
            r.incremental_backup_s,
            h(r.incremental_bytes),
            r.incremental_bytes_vs_full * 100.0,
        ));
    }
    out
}

/// Runs `f` once, saying on stderr how long `what` took (setup, not a figure).
fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let value = f();
    eprintln!("{what}: {:.3} s", start.elapsed().as_secs_f64());
    value
}
