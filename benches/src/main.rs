//! quiver's benchmarks, each against its physical-limit baseline measured in the same run
//! on the same data. Run with `cargo xtask bench [--rows N,N,...] [--runs R]`.
//!
//! Figures: full backup vs a bare scan of the same tables; restore vs a bare bulk insert of
//! the same rows; peak RSS of a backup at each size (it must stay flat). Results go to
//! `target/bench/results.json` and `target/bench/results.md`; `--keep` keeps the generated
//! databases and repositories (for profiling).

mod baseline;
mod generate;
mod measure;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use quiver::{Engine, EngineOptions};
use rusqlite::Connection;
use serde::Serialize;

use crate::measure::best_of;

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
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("child-backup") {
        child_backup(Path::new(&args[1]), Path::new(&args[2]));
        return;
    }
    let mut sizes = vec![100_000u64, 1_000_000];
    let mut runs = 3;
    let mut out = PathBuf::from("target/bench");
    let mut keep = false;
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
            other => panic!(
                "unknown argument {other}; usage: quiver-bench [--rows N,N] [--runs R] [--out DIR] [--keep]"
            ),
        }
        i += 2;
    }
    std::fs::create_dir_all(&out).expect("creating the output directory");
    let work = tempdir(&out);
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

    let order = ["id", "id", "order_id, line"];
    let mut conn = Connection::open(&source).unwrap();
    baseline::bare_scan(&mut conn, &generate::TABLES, &order).unwrap(); // warm the page cache
    let (bare_scan, _) = best_of(runs, || {
        baseline::bare_scan(&mut conn, &generate::TABLES, &order).unwrap()
    });

    let repo = dir.join("repo");
    let mut engine = Engine::open_with(&source, options(&repo)).unwrap();
    let list: Vec<String> = generate::TABLES
        .iter()
        .map(|t| format!("TABLE {t}"))
        .collect();
    engine
        .execute(&format!(
            "CREATE BACKUP COLLECTION bench ({})",
            list.join(", ")
        ))
        .unwrap();
    let (full_backup, backup_bytes) =
        best_of(runs, || match &engine.execute("BACKUP bench").unwrap()[0] {
            quiver::Outcome::BackupTaken(manifest) => manifest.bytes(),
            other => panic!("unexpected outcome {other}"),
        });

    let (restore, _) = best_of(runs, || {
        let target = dir.join("restored.db");
        let _ = std::fs::remove_file(&target);
        let mut engine = Engine::open_with(&target, options(&repo)).unwrap();
        engine.execute("RESTORE bench").unwrap();
    });
    check_restored(&source, &dir.join("restored.db"));

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
    }
}

fn options(repo: &Path) -> EngineOptions {
    EngineOptions {
        repository: Some(repo.to_path_buf()),
        ..EngineOptions::default()
    }
}

/// The restored database holds the same rows as the source (a benchmark of a wrong result
/// would be worthless).
fn check_restored(source: &Path, restored: &Path) {
    let digest = |path: &Path| -> Vec<(i64, f64)> {
        let conn = Connection::open(path).unwrap();
        [
            "SELECT count(*), total(score) + total(length(email)) FROM customers",
            "SELECT count(*), total(total) + total(customer_id) FROM orders",
            "SELECT count(*), total(unit_price) + total(length(meta)) FROM order_items",
        ]
        .iter()
        .map(|sql| {
            conn.query_row(sql, [], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
        })
        .collect()
    };
    assert_eq!(
        digest(source),
        digest(restored),
        "restored data differs from the source"
    );
}

/// Peak RSS of a process that only opens the engine and takes one full backup.
fn child_peak_rss(source: &Path, repo: &Path) -> Option<u64> {
    let output = Command::new(std::env::current_exe().ok()?)
        .args(["child-backup", source.to_str()?, repo.to_str()?])
        .output()
        .ok()?;
    String::from_utf8(output.stdout).ok()?.trim().parse().ok()
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
            mib(r.database_bytes),
            mib(r.backup_bytes),
            r.backup_peak_rss_bytes.map_or("n/a".into(), mib),
        ));
    }
    out
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}
