//! quiver's benchmarks, each against its physical-limit baseline measured in the same run
//! on the same data. Run with `cargo xtask bench [--rows N,N,...] [--runs R]`.
//!
//! Figures: full backup vs a bare scan of the same tables, on one thread (for continuity)
//! and on as many threads as BACKUP uses (the stricter limit); restore vs a bare bulk insert
//! of the same rows (for continuity) and vs SQLite's own `INSERT … SELECT … WHERE 1` of them
//! (the stricter limit; its raw-transfer copy reported beside it); peak RSS of a backup at each size (it must stay flat); incremental
//! backups after 0.1%, 1% and 10% of the rows changed, vs the bare scan and the full backup;
//! a point query on a backup (`QUERY … WHERE key = k`) vs a full scan of the same table;
//! restore of a chain of 30 incrementals (1% changed each) before and after `COMPACT`, and
//! the compaction's time vs the full backup's; an encrypted collection's full backup and
//! restore (AES-256-GCM) vs the same collection's unencrypted ones.
//! Results go to `target/bench/results.json` and `target/bench/results.md`; `--keep` keeps
//! the generated databases and repositories (for profiling). `--postgres` runs the
//! PostgreSQL benchmarks instead ([`postgres`]), into `results-postgres.{json,md}`;
//! `--peers` quiver beside the tools users would pick instead ([`peers`]), into
//! `results-peers.{json,md}` (with `--postgres`: beside pg_dump and pg_restore on the
//! PostgreSQL demo's services, [`pg_peers`], into `results-peers-postgres.{json,md}`); `--limits` only the two stricter ratios (each operation and
//! its limit run alternately) and the backup's cost ladder ([`ladder`]), printed.

mod baseline;
mod changes;
mod generate;
mod ladder;
mod measure;
mod peers;
mod pg_peers;
mod postgres;
mod services;

use std::path::{Path, PathBuf};
use std::time::Duration;

use quiver::{Engine, EngineOptions};
use rusqlite::Connection;
use serde::Serialize;

use crate::changes::ChangedRows;
use crate::measure::{best_of, best_of_prepared};

/// The fractions of every table's rows changed before an incremental backup is measured.
const CHANGED_FRACTIONS: [f64; 3] = [0.001, 0.01, 0.1];

/// One data size's figures.
#[derive(Debug, Serialize)]
struct SizeResult {
    rows: u64,
    bare_insert_s: f64,
    bare_scan_s: f64,
    full_backup_s: f64,
    restore_s: f64,
    backup_bytes: u64,
    database_bytes: u64,
    backup_peak_rss_bytes: Option<u64>,
    full_backup_vs_scan: f64,
    restore_vs_insert: f64,
    /// The bare scan on as many threads as BACKUP uses ([`baseline::parallel_scan`]).
    parallel_scan_s: f64,
    /// Full backup over the parallel scan (target <= 1.3).
    full_backup_vs_parallel_scan: f64,
    /// SQLite's `INSERT INTO t SELECT * FROM src.t WHERE 1` of the same rows into the same
    /// DDL ([`baseline::sqlite_copy`]).
    sqlite_insert_s: f64,
    /// The same without `WHERE 1`: SQLite's raw record transfer, what a page-level copy costs.
    sqlite_transfer_s: f64,
    /// Restore over SQLite's own insert (target <= 1.2).
    restore_vs_sqlite_insert: f64,
    /// Where the full backup's time goes over the parallel scan ([`ladder::climb`]).
    backup_ladder: Vec<ladder::Rung>,
    /// `QUERY SELECT * FROM bench.order_items WHERE order_id = <middle>` over the full
    /// backup: the key's statistics and page index skip all but a page or two.
    point_query_s: f64,
    /// A full scan of `order_items` through QUERY: every column of every row, aggregated.
    scan_query_s: f64,
    /// Point query time over the scan's.
    point_vs_scan: f64,
    /// One entry per fraction of [`CHANGED_FRACTIONS`].
    incremental: Vec<IncrementalResult>,
    /// A chain of [`CHAIN_INCREMENTALS`] incrementals of 1% changes each, restored before
    /// and after compaction.
    compaction: CompactionResult,
    /// The same collection encrypted.
    encryption: EncryptionResult,
}

/// An encrypted collection's full backup and restore, against the unencrypted ones of the
/// same tables measured in the same run.
#[derive(Debug, Serialize)]
struct EncryptionResult {
    /// Best time of `BACKUP bench` with `ENCRYPTION = 'aes-256-gcm'`.
    full_backup_s: f64,
    /// Best time of its `RESTORE bench`.
    restore_s: f64,
    /// Its backup's bytes.
    backup_bytes: u64,
    /// Encrypted over unencrypted full backup (target <= 1.1).
    full_backup_vs_plain: f64,
    /// Encrypted over unencrypted restore (target <= 1.1).
    restore_vs_plain: f64,
}

/// Incrementals in the chain the compaction benchmark builds.
const CHAIN_INCREMENTALS: u64 = 30;

/// Restores of a long chain before and after `COMPACT`, and the compaction's time.
#[derive(Debug, Serialize)]
struct CompactionResult {
    /// Incrementals in the chain (each after 1% of the rows changed).
    incrementals: u64,
    /// Best time of `RESTORE bench` of the chain's last backup (full + every incremental).
    restore_chain_s: f64,
    /// Best time of `COMPACT bench` (the chain merged into one full backup).
    compact_s: f64,
    /// Best time of `RESTORE bench` after compaction.
    restore_compacted_s: f64,
    /// Restore after compaction over restore of the chain.
    restore_compacted_vs_chain: f64,
    /// Compaction time over a full backup's time (same data size).
    compact_vs_full_backup: f64,
}

/// One incremental backup's figures: the data size's database with a fraction of its rows
/// changed since a full backup.
#[derive(Debug, Serialize)]
struct IncrementalResult {
    /// The fraction of every table's rows changed (0.01 is 1%).
    changed_fraction: f64,
    /// The rows the change set touched.
    changed_rows: ChangedRows,
    /// Best time of `BACKUP bench INCREMENTAL`.
    incremental_backup_s: f64,
    /// Bytes of the incremental backup's data files.
    incremental_bytes: u64,
    /// Incremental time over the full backup's time.
    incremental_vs_full_backup: f64,
    /// Incremental time over the bare scan's time.
    incremental_vs_scan: f64,
    /// Incremental bytes over the full backup's bytes.
    incremental_bytes_vs_full: f64,
}

fn main() {
    // As the `quiver` binary does: what is measured is what its users get.
    quiver::allocator::keep_freed_buffers();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("child-backup") {
        child_backup(Path::new(&args[1]), Path::new(&args[2]));
        return;
    }
    if args.first().map(String::as_str) == Some("child-exec") {
        let mut engine =
            Engine::open_with(Path::new(&args[1]), options(Path::new(&args[2]))).unwrap();
        engine.execute(&args[3]).unwrap();
        return;
    }
    if args.first().map(String::as_str) == Some("child-pg-exec") {
        let mut engine = Engine::connect(&args[1], options(Path::new(&args[2]))).unwrap();
        engine.execute(&args[3]).unwrap();
        return;
    }
    if args.first().map(String::as_str) == Some("child-pg-backup") {
        postgres::child_backup(&args[1], Path::new(&args[2]));
        return;
    }
    let mut sizes = vec![100_000u64, 1_000_000];
    let mut runs = 3;
    let mut out = PathBuf::from("target/bench");
    let mut keep = false;
    let mut on_postgres = false;
    let mut on_peers = false;
    let mut on_limits = false;
    let mut i = 0;
    while i < args.len() {
        let value = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--rows" => {
                sizes = value
                    .split(',')
                    .map(|s| s.trim().parse().expect("--rows takes numbers"))
                    .collect()
            }
            "--runs" => runs = value.parse().expect("--runs takes a number"),
            "--out" => out = PathBuf::from(value),
            "--keep" => {
                keep = true;
                i += 1;
                continue;
            }
            "--postgres" => {
                on_postgres = true;
                i += 1;
                continue;
            }
            "--peers" => {
                on_peers = true;
                i += 1;
                continue;
            }
            "--limits" => {
                on_limits = true;
                i += 1;
                continue;
            }
            other => panic!(
                "unknown argument {other}; usage: quiver-bench [--postgres | --peers | --limits] [--rows N,N] [--runs R] [--out DIR] [--keep]"
            ),
        }
        i += 2;
    }
    std::fs::create_dir_all(&out).expect("creating the output directory");
    let work = tempdir(&out);
    if on_peers {
        let (results, table) = if on_postgres {
            pg_peers::run(&sizes, &work)
        } else {
            peers::run(&sizes, &work)
        };
        let json = serde_json::to_string_pretty(&results).expect("results serialize");
        let name = if on_postgres {
            "results-peers-postgres"
        } else {
            "results-peers"
        };
        std::fs::write(out.join(format!("{name}.json")), json).expect("writing the peers' json");
        std::fs::write(out.join(format!("{name}.md")), &table).expect("writing the peers' table");
        println!("{table}");
        if !keep {
            let _ = std::fs::remove_dir_all(&work);
        }
        return;
    }
    if on_limits {
        for rows in sizes {
            limits(&work, rows, runs);
        }
        if !keep {
            let _ = std::fs::remove_dir_all(&work);
        }
        return;
    }
    if on_postgres {
        let (results, table) = postgres::run(&sizes, runs, &work);
        let json = serde_json::to_string_pretty(&results).expect("results serialize");
        std::fs::write(out.join("results-postgres.json"), json)
            .expect("writing results-postgres.json");
        std::fs::write(out.join("results-postgres.md"), &table)
            .expect("writing results-postgres.md");
        println!("{table}");
        if !keep {
            let _ = std::fs::remove_dir_all(&work);
        }
        return;
    }
    let mut results = Vec::new();
    for rows in sizes {
        eprintln!("== {rows} rows");
        let result = bench_size(&work, rows, runs);
        eprintln!("{result:#?}");
        results.push(result);
    }
    let json = serde_json::to_string_pretty(&results).expect("results serialize");
    std::fs::write(out.join("results.json"), json).expect("writing results.json");
    let table = markdown(&results);
    std::fs::write(out.join("results.md"), &table).expect("writing results.md");
    println!("{table}");
    if keep {
        eprintln!("databases and repositories kept in {}", work.display());
    } else {
        let _ = std::fs::remove_dir_all(&work);
    }
}

fn tempdir(out: &Path) -> PathBuf {
    let dir = out.join(format!("work-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("creating the work directory");
    dir
}

fn bench_size(work: &Path, rows: u64, runs: usize) -> SizeResult {
    let dir = work.join(rows.to_string());
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let source = dir.join("source.db");

    // Bare bulk insert: the generator itself, one transaction, prepared statements.
    let (bare_insert, actual_rows) = best_of(runs, || {
        let path = dir.join("insert.db");
        let _ = std::fs::remove_file(&path);
        let mut conn = Connection::open(&path).unwrap();
        generate::fill(&mut conn, rows, 42).unwrap()
    });
    std::fs::rename(dir.join("insert.db"), &source).unwrap();
    let database_bytes = std::fs::metadata(&source).unwrap().len();

    let mut conn = Connection::open(&source).unwrap();
    baseline::bare_scan(&mut conn, &generate::TABLES, &generate::KEYS).unwrap(); // warm the page cache
    let (bare_scan, _) = best_of(runs, || {
        baseline::bare_scan(&mut conn, &generate::TABLES, &generate::KEYS).unwrap()
    });

    drop(conn);
    let table_rows = table_rows(&source);
    let (parallel_scan, _) = best_of(runs, || {
        baseline::parallel_scan(&source, &table_rows).unwrap()
    });
    let copy = |kind| {
        best_of(runs, || {
            baseline::sqlite_copy(&source, &dir.join("copied.db"), &generate::TABLES, kind).unwrap()
        })
        .0
    };
    let sqlite_insert = copy(baseline::CopyKind::Insert);
    let sqlite_transfer = copy(baseline::CopyKind::Transfer);

    let repo = dir.join("repo");
    let mut engine = bench_collection(&source, &repo);
    let (full_backup, backup_bytes) =
        best_of(runs, || match &engine.execute("BACKUP bench").unwrap()[0] {
            quiver::Outcome::BackupTaken { manifest, .. } => manifest.bytes(),
            other => panic!("unexpected outcome {other}"),
        });

    let backup_ladder = backup_ladder(&source, &table_rows, &dir, runs, &mut engine);
    let (point_query, scan_query) = bench_point_query(&mut engine, runs);

    let (restore, _) = best_of(runs, || {
        let target = dir.join("restored.db");
        let _ = std::fs::remove_file(&target);
        let mut engine = Engine::open_with(&target, options(&repo)).unwrap();
        engine.execute("RESTORE bench").unwrap();
    });
    assert_same_rows(&source, &dir.join("restored.db"), "restore");

    let base_repo = incremental_base(&dir, &source);
    let incremental = CHANGED_FRACTIONS
        .iter()
        .map(|&fraction| {
            let (changed_rows, time, bytes) =
                bench_incremental(&dir, &source, &base_repo, fraction, runs);
            IncrementalResult {
                changed_fraction: fraction,
                changed_rows,
                incremental_backup_s: secs(time),
                incremental_bytes: bytes,
                incremental_vs_full_backup: secs(time) / secs(full_backup),
                incremental_vs_scan: secs(time) / secs(bare_scan),
                incremental_bytes_vs_full: bytes as f64 / backup_bytes as f64,
            }
        })
        .collect();

    let compaction = bench_compaction(&dir, &source, runs, full_backup);
    let encryption = bench_encryption(&dir, &source, runs, full_backup, restore);

    SizeResult {
        rows: actual_rows,
        bare_insert_s: secs(bare_insert),
        bare_scan_s: secs(bare_scan),
        full_backup_s: secs(full_backup),
        restore_s: secs(restore),
        backup_bytes,
        database_bytes,
        backup_peak_rss_bytes: child_peak_rss(&source, &repo),
        full_backup_vs_scan: secs(full_backup) / secs(bare_scan),
        restore_vs_insert: secs(restore) / secs(bare_insert),
        parallel_scan_s: secs(parallel_scan),
        full_backup_vs_parallel_scan: secs(full_backup) / secs(parallel_scan),
        sqlite_insert_s: secs(sqlite_insert),
        sqlite_transfer_s: secs(sqlite_transfer),
        restore_vs_sqlite_insert: secs(restore) / secs(sqlite_insert),
        backup_ladder,
        point_query_s: secs(point_query),
        scan_query_s: secs(scan_query),
        point_vs_scan: secs(point_query) / secs(scan_query),
        incremental,
        compaction,
        encryption,
    }
}

/// The two stricter ratios alone, each operation and its limit run alternately (`runs`
/// rounds of limit, operation), so that the machine's drift falls on both alike: for
/// iterating on them. Prints the best of each.
fn limits(work: &Path, rows: u64, runs: usize) {
    let dir = work.join(rows.to_string());
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let source = dir.join("source.db");
    generate::fill(&mut Connection::open(&source).unwrap(), rows, 42).unwrap();
    let table_rows = table_rows(&source);
    let repo = dir.join("repo");
    let mut engine = bench_collection(&source, &repo);
    let target = dir.join("restored.db");
    let mut best = [Duration::MAX; 4];
    for _ in 0..runs.max(1) {
        let timed = |f: &mut dyn FnMut()| {
            let start = std::time::Instant::now();
            f();
            start.elapsed()
        };
        let round = [
            timed(&mut || {
                baseline::parallel_scan(&source, &table_rows).unwrap();
            }),
            timed(&mut || {
                engine.execute("BACKUP bench").unwrap();
            }),
            timed(&mut || {
                baseline::sqlite_copy(
                    &source,
                    &dir.join("copied.db"),
                    &generate::TABLES,
                    baseline::CopyKind::Insert,
                )
                .unwrap();
            }),
            timed(&mut || {
                let _ = std::fs::remove_file(&target);
                Engine::open_with(&target, options(&repo))
                    .unwrap()
                    .execute("RESTORE bench")
                    .unwrap();
            }),
        ];
        for (best, time) in best.iter_mut().zip(round) {
            *best = (*best).min(time);
        }
    }
    assert_same_rows(&source, &target, "restore");
    let [scan, backup, insert, restore] = best.map(secs);
    println!(
        "{rows} rows: parallel scan {scan:.3} s, full backup {backup:.3} s ({:.2}x); SQLite insert {insert:.3} s, restore {restore:.3} s ({:.2}x)",
        backup / scan,
        restore / insert
    );
    let rungs = backup_ladder(&source, &table_rows, &dir, runs, &mut engine);
    print!("{}", ladder_table(rows, &rungs));
}

/// The collection of [`bench_size`] encrypted (a key file of its own): its full backup and
/// restore, the restore checked against the source.
fn bench_encryption(
    dir: &Path,
    source: &Path,
    runs: usize,
    plain_backup: Duration,
    plain_restore: Duration,
) -> EncryptionResult {
    use std::os::unix::fs::PermissionsExt;
    let key = dir.join("bench.key");
    let bytes: Vec<u8> = (0..32u8)
        .map(|i| i.wrapping_mul(37).wrapping_add(11))
        .collect();
    std::fs::write(&key, bytes).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let repo = dir.join("repo-encrypted");
    let mut engine = Engine::open_with(source, options(&repo)).unwrap();
    engine
        .execute(&format!(
            "CREATE BACKUP COLLECTION bench ({}) WITH (ENCRYPTION = 'aes-256-gcm', ENCRYPTION_KEY_FILE = '{}')",
            collection_tables(),
            key.display()
        ))
        .unwrap();
    let (full_backup, backup_bytes) =
        best_of(runs, || match &engine.execute("BACKUP bench").unwrap()[0] {
            quiver::Outcome::BackupTaken { manifest, .. } => manifest.bytes(),
            other => panic!("unexpected outcome {other}"),
        });
    let target = dir.join("restored-encrypted.db");
    let (restore, _) = best_of(runs, || {
        let _ = std::fs::remove_file(&target);
        let mut engine = Engine::open_with(&target, options(&repo)).unwrap();
        engine.execute("RESTORE bench").unwrap();
    });
    assert_same_rows(source, &target, "encrypted restore");
    EncryptionResult {
        full_backup_s: secs(full_backup),
        restore_s: secs(restore),
        backup_bytes,
        full_backup_vs_plain: secs(full_backup) / secs(plain_backup),
        restore_vs_plain: secs(restore) / secs(plain_restore),
    }
}

/// A chain of [`CHAIN_INCREMENTALS`] incrementals of 1% changes over a full backup of a copy
/// of `source`: restore of its last backup, `COMPACT`, then the same restore again (checked
/// against the changed database both times). Each compaction run starts from a fresh copy of
/// the chain's repository.
fn bench_compaction(
    dir: &Path,
    source: &Path,
    runs: usize,
    full_backup: Duration,
) -> CompactionResult {
    let changed = dir.join("chain.db");
    std::fs::copy(source, &changed).unwrap();
    let chain_repo = dir.join("chain.quiver");
    let _ = std::fs::remove_dir_all(&chain_repo);
    let mut engine = Engine::open_with(&changed, options(&chain_repo)).unwrap();
    engine
        .execute(&format!(
            "CREATE BACKUP COLLECTION bench ({}) WITH (INCREMENTAL_BACKUP_ENABLED = 'true'); BACKUP bench",
            collection_tables()
        ))
        .unwrap();
    for round in 0..CHAIN_INCREMENTALS {
        changes::apply(&mut Connection::open(&changed).unwrap(), 0.01, 1000 + round).unwrap();
        engine.execute("BACKUP bench INCREMENTAL").unwrap();
    }
    drop(engine);
    let restore = |repo: &Path, check: &str| {
        let (time, _) = best_of(runs, || {
            let target = dir.join("chain-restored.db");
            let _ = std::fs::remove_file(&target);
            Engine::open_with(&target, options(repo))
                .unwrap()
                .execute("RESTORE bench")
                .unwrap();
        });
        assert_same_rows(&changed, &dir.join("chain-restored.db"), check);
        time
    };
    let restore_chain = restore(&chain_repo, "restore of a 30-incremental chain");
    let compacted = dir.join("compacted.quiver");
    let (compact, _) = best_of_prepared(
        runs,
        || {
            let _ = std::fs::remove_dir_all(&compacted);
            copy_dir(&chain_repo, &compacted);
            Engine::open_with(&changed, options(&compacted)).unwrap()
        },
        |mut engine| engine.execute("COMPACT bench").unwrap(),
    );
    let restore_compacted = restore(&compacted, "restore after compaction");
    CompactionResult {
        incrementals: CHAIN_INCREMENTALS,
        restore_chain_s: secs(restore_chain),
        compact_s: secs(compact),
        restore_compacted_s: secs(restore_compacted),
        restore_compacted_vs_chain: secs(restore_compacted) / secs(restore_chain),
        compact_vs_full_backup: secs(compact) / secs(full_backup),
    }
}

/// Times a point query on the latest backup's largest table, `order_items` (60% of the
/// rows; key `(order_id, line)`), against a full scan of it that reads every column of every
/// row. The point query's filter on the key's first column lets the Parquet scan skip all but
/// the row groups and pages that can hold it (statistics, page index).
fn bench_point_query(engine: &mut Engine, runs: usize) -> (Duration, Duration) {
    let rows = |engine: &mut Engine, sql: &str| -> Vec<arrow::record_batch::RecordBatch> {
        match engine.execute(sql).unwrap().remove(0) {
            quiver::Outcome::Rows(rows) => rows.batches,
            other => panic!("unexpected outcome {other}"),
        }
    };
    let int = |batches: &[arrow::record_batch::RecordBatch]| {
        arrow::array::AsArray::as_primitive::<arrow::datatypes::Int64Type>(
            batches[0].column(0).as_ref(),
        )
        .value(0)
    };
    let middle = int(&rows(
        engine,
        "QUERY SELECT max(order_id) / 2 FROM bench.order_items",
    ));
    let point = format!("QUERY SELECT * FROM bench.order_items WHERE order_id = {middle}");
    let scan = "QUERY SELECT count(*), max(order_id), max(line), max(sku), max(quantity), max(unit_price), max(meta) FROM bench.order_items";
    let (point_time, found) = best_of(runs, || {
        rows(engine, &point)
            .iter()
            .map(|b| b.num_rows())
            .sum::<usize>()
    });
    let (scan_time, scanned) = best_of(runs, || int(&rows(engine, scan)));
    assert!(found >= 1, "the point query finds order {middle}'s items");
    assert!(scanned > 0, "the scan counts the rows");
    (point_time, scan_time)
}

/// Each generated table with its key order and row count (counted, untimed).
fn table_rows(source: &Path) -> Vec<(&'static str, &'static str, u64)> {
    let conn = Connection::open(source).unwrap();
    generate::TABLES
        .iter()
        .zip(generate::KEYS)
        .map(|(&table, key)| {
            let rows = conn
                .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
                .unwrap();
            (table, key, rows)
        })
        .collect()
}

/// [`ladder::climb`] from the parallel bare scan of `source`'s tables to `engine`'s full
/// backup of them.
fn backup_ladder(
    source: &Path,
    table_rows: &[(&str, &str, u64)],
    dir: &Path,
    runs: usize,
    engine: &mut Engine,
) -> Vec<ladder::Rung> {
    ladder::climb(
        source,
        table_rows,
        dir,
        runs,
        &mut || {
            baseline::parallel_scan(source, table_rows).unwrap();
        },
        &mut || {
            engine.execute("BACKUP bench").unwrap();
        },
    )
}

/// The cost ladder of a full backup at `rows` rows as a markdown table.
fn ladder_table(rows: u64, rungs: &[ladder::Rung]) -> String {
    let base = rungs.first().map_or(1.0, |r| r.wall_s);
    let mut out = format!(
        "| {rows} rows: step | wall | / parallel scan | CPU (all threads) | CPU added |\n|---|---:|---:|---:|---:|\n"
    );
    let mut previous = None;
    for rung in rungs {
        let added = previous.map_or(String::new(), |p: f64| format!("{:+.3} s", rung.cpu_s - p));
        out.push_str(&format!(
            "| {} | {:.3} s | {:.2}x | {:.3} s | {added} |\n",
            rung.step,
            rung.wall_s,
            rung.wall_s / base,
            rung.cpu_s
        ));
        previous = Some(rung.cpu_s);
    }
    out
}

/// An engine on `source` whose repository `repo` has the collection `bench` of the
/// generated tables, just created.
fn bench_collection(source: &Path, repo: &Path) -> Engine {
    let mut engine = Engine::open_with(source, options(repo)).unwrap();
    engine
        .execute(&format!(
            "CREATE BACKUP COLLECTION bench ({})",
            collection_tables()
        ))
        .unwrap();
    engine
}

/// The collection's table list, for `CREATE BACKUP COLLECTION bench (...)`.
fn collection_tables() -> String {
    let list: Vec<String> = generate::TABLES
        .iter()
        .map(|t| format!("TABLE {t}"))
        .collect();
    list.join(", ")
}

/// A repository holding one full backup of `source` in a collection with incremental
/// backups enabled: the base every incremental run starts from.
fn incremental_base(dir: &Path, source: &Path) -> PathBuf {
    let repo = dir.join("incremental-base.quiver");
    Engine::open_with(source, options(&repo))
        .unwrap()
        .execute(&format!(
            "CREATE BACKUP COLLECTION bench ({}) WITH (INCREMENTAL_BACKUP_ENABLED = 'true'); BACKUP bench",
            collection_tables()
        ))
        .unwrap();
    repo
}

/// Measures `BACKUP bench INCREMENTAL` on a copy of `source` with `fraction` of its rows
/// changed since the full backup in `base_repo`. Every run starts from a fresh copy of
/// `base_repo`, so every run diffs against the same base. Then the incremental is restored
/// into a fresh database and checked against the changed one. Returns the rows changed, the
/// best time and the incremental's bytes.
fn bench_incremental(
    dir: &Path,
    source: &Path,
    base_repo: &Path,
    fraction: f64,
    runs: usize,
) -> (ChangedRows, Duration, u64) {
    let changed = dir.join("changed.db");
    std::fs::copy(source, &changed).unwrap();
    let changed_rows =
        changes::apply(&mut Connection::open(&changed).unwrap(), fraction, 42).unwrap();

    let repo = dir.join("incremental.quiver");
    let (incremental, manifest) = best_of_prepared(
        runs,
        || {
            let _ = std::fs::remove_dir_all(&repo);
            copy_dir(base_repo, &repo);
            Engine::open_with(&changed, options(&repo)).unwrap()
        },
        |mut engine| match engine
            .execute("BACKUP bench INCREMENTAL")
            .unwrap()
            .remove(0)
        {
            quiver::Outcome::BackupTaken { manifest, .. } => manifest,
            other => panic!("unexpected outcome {other}"),
        },
    );
    changed_rows.assert_found(manifest.changes());

    let restored = dir.join("incremental-restored.db");
    let _ = std::fs::remove_file(&restored);
    Engine::open_with(&restored, options(&repo))
        .unwrap()
        .execute("RESTORE bench")
        .unwrap();
    assert_same_rows(
        &changed,
        &restored,
        &format!(
            "restore of an incremental backup after {}% changed",
            fraction * 100.0
        ),
    );

    (changed_rows, incremental, manifest.bytes())
}

/// Copies the directory tree at `from` to `to` (files and directories only), flushing each
/// file to disk so that a measurement after it does not pay for the copy's writeback.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
            std::fs::File::open(&target).unwrap().sync_all().unwrap();
        }
    }
}

fn options(repo: &Path) -> EngineOptions {
    EngineOptions {
        repository: Some(repo.to_path_buf()),
        ..EngineOptions::default()
    }
}

/// Panics unless every generated table of the database at `actual` holds exactly the rows
/// of the one at `expected`: same count, same values and storage classes, same rowids,
/// compared in key order (a benchmark of a wrong result would be worthless). `check` names
/// the check in the message.
fn assert_same_rows(expected: &Path, actual: &Path, check: &str) {
    let (expected, actual) = (
        Connection::open(expected).unwrap(),
        Connection::open(actual).unwrap(),
    );
    for (table, key) in generate::TABLES.iter().zip(generate::KEYS) {
        let count = format!("SELECT count(*) FROM {table}");
        let counts: [u64; 2] =
            [&expected, &actual].map(|c| c.query_row(&count, [], |r| r.get(0)).unwrap());
        assert_eq!(
            counts[1], counts[0],
            "{check}: table {table} has {} rows, {} expected",
            counts[1], counts[0]
        );
        let select = format!("SELECT rowid, * FROM {table} ORDER BY {key}");
        let mut expected = expected.prepare(&select).unwrap();
        let mut actual = actual.prepare(&select).unwrap();
        let columns = expected.column_count();
        let (mut want, mut got) = (expected.query([]).unwrap(), actual.query([]).unwrap());
        let mut position = 0u64;
        while let (Some(want), Some(got)) = (want.next().unwrap(), got.next().unwrap()) {
            for i in 0..columns {
                let (w, g) = (want.get_ref(i).unwrap(), got.get_ref(i).unwrap());
                assert!(
                    w == g,
                    "{check}: table {table}, row {position} in key order, column {i} (0 is the rowid): {g:?}, {w:?} expected"
                );
            }
            position += 1;
        }
    }
}

/// Peak RSS of a process that only opens the engine and takes one full backup.
fn child_peak_rss(source: &Path, repo: &Path) -> Option<u64> {
    measure::child_peak_rss(&["child-backup", source.to_str()?, repo.to_str()?])
}

fn child_backup(source: &Path, repo: &Path) {
    let mut engine = Engine::open_with(source, options(repo)).unwrap();
    engine.execute("BACKUP bench").unwrap();
    println!("{}", measure::peak_rss().unwrap_or(0));
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn markdown(results: &[SizeResult]) -> String {
    let mut out = String::from(
        "| rows | bare scan | full backup | backup / scan (target <= 1.3) | bare insert | restore | restore / insert (target <= 1.5) | db size | backup size | backup peak RSS |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in results {
        out.push_str(&format!(
            "| {} | {:.3} s | {:.3} s | {:.2}x | {:.3} s | {:.3} s | {:.2}x | {} | {} | {} |\n",
            r.rows,
            r.bare_scan_s,
            r.full_backup_s,
            r.full_backup_vs_scan,
            r.bare_insert_s,
            r.restore_s,
            r.restore_vs_insert,
            human_bytes(r.database_bytes),
            human_bytes(r.backup_bytes),
            r.backup_peak_rss_bytes.map_or("n/a".into(), human_bytes),
        ));
    }
    out.push_str(
        "\n| rows | parallel bare scan | full backup | backup / parallel scan (target <= 1.3) | SQLite INSERT ... SELECT WHERE 1 | SQLite transfer (raw copy) | restore | restore / SQLite insert (target <= 1.2) |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in results {
        out.push_str(&format!(
            "| {} | {:.3} s | {:.3} s | {:.2}x | {:.3} s | {:.3} s | {:.3} s | {:.2}x |\n",
            r.rows,
            r.parallel_scan_s,
            r.full_backup_s,
            r.full_backup_vs_parallel_scan,
            r.sqlite_insert_s,
            r.sqlite_transfer_s,
            r.restore_s,
            r.restore_vs_sqlite_insert,
        ));
    }
    for r in results {
        out.push('\n');
        out.push_str(&ladder_table(r.rows, &r.backup_ladder));
    }
    out.push_str(
        "\n| rows | point query on order_items (`WHERE order_id = k`) | full scan of the table (every column) | point / scan |\n\
         |---:|---:|---:|---:|\n",
    );
    for r in results {
        out.push_str(&format!(
            "| {} | {:.4} s | {:.4} s | {:.3}x |\n",
            r.rows, r.point_query_s, r.scan_query_s, r.point_vs_scan
        ));
    }
    out.push_str(
        "\n| rows | changed | rows updated / inserted / deleted | incremental backup | incremental / full backup | incremental / scan (target at 1%: <= 1.2) | incremental size | of full backup size (target at 1%: <= 3%) |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in results {
        for i in &r.incremental {
            let c = i.changed_rows;
            out.push_str(&format!(
                "| {} | {}% | {} / {} / {} | {:.3} s | {:.2}x | {:.2}x | {} | {:.2}% |\n",
                r.rows,
                i.changed_fraction * 100.0,
                c.updated,
                c.inserted,
                c.deleted,
                i.incremental_backup_s,
                i.incremental_vs_full_backup,
                i.incremental_vs_scan,
                human_bytes(i.incremental_bytes),
                i.incremental_bytes_vs_full * 100.0,
            ));
        }
    }
    out.push_str(
        "\n| rows | chain | restore of the chain | compaction | compaction / full backup | restore after compaction | after / before |\n\
         |---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in results {
        let c = &r.compaction;
        out.push_str(&format!(
            "| {} | full + {} x 1% | {:.3} s | {:.3} s | {:.2}x | {:.3} s | {:.2}x |\n",
            r.rows,
            c.incrementals,
            c.restore_chain_s,
            c.compact_s,
            c.compact_vs_full_backup,
            c.restore_compacted_s,
            c.restore_compacted_vs_chain,
        ));
    }
    out.push_str(
        "\n| rows | full backup | encrypted | encrypted / plain (target <= 1.1) | restore | encrypted | encrypted / plain (target <= 1.1) | encrypted backup size |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in results {
        let e = &r.encryption;
        out.push_str(&format!(
            "| {} | {:.3} s | {:.3} s | {:.2}x | {:.3} s | {:.3} s | {:.2}x | {} |\n",
            r.rows,
            r.full_backup_s,
            e.full_backup_s,
            e.full_backup_vs_plain,
            r.restore_s,
            e.restore_s,
            e.restore_vs_plain,
            human_bytes(e.backup_bytes),
        ));
    }
    out
}

/// `bytes` in MiB, or in KiB below one MiB.
fn human_bytes(bytes: u64) -> String {
    match bytes as f64 / 1024.0 {
        kib if kib < 1024.0 => format!("{kib:.1} KiB"),
        kib => format!("{:.1} MiB", kib / 1024.0),
    }
}
