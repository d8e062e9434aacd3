//! Where a full backup's time goes, measured rather than sampled: the same tables read on
//! as many threads as BACKUP uses, adding one of BACKUP's steps at a time, each step timed
//! in wall-clock and in CPU time (every thread of the process). On two cores a backup
//! cannot take less wall time than half its CPU time, so the CPU column says what stands
//! between it and the parallel bare scan.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use quiver::catalog::{BackupKind, BackupSource};
use quiver::snapshot::SnapshotWriter;
use quiver::sqlite::SqliteSource;
use serde::Serialize;

/// Rows per batch: the engine's default.
const BATCH_ROWS: usize = 8192;

/// One rung: what it does on top of the one before, its best wall and CPU times.
#[derive(Debug, Clone, Serialize)]
pub struct Rung {
    /// What this rung does.
    pub step: &'static str,
    /// Best wall-clock time of the rung's runs.
    pub wall_s: f64,
    /// Least CPU time (user + system, every thread) of its runs.
    pub cpu_s: f64,
}

/// What each thread does with a table's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Work {
    /// Read them into Arrow batches (quiver's SQLite scan) and drop them.
    Batches,
    /// Batches, then each row's hash.
    Hashes,
    /// Hashed batches written to a Parquet file as BACKUP writes it, with zstd at `level`
    /// (`None`: no compression), flushed and fsynced.
    Parquet(Option<i32>),
}

/// The ladder over `source`'s `tables` (name, key order, rows): the parallel bare scan
/// (`bare`, measured by the caller's own function so that it is the same as the baseline's),
/// each of [`Work`]'s steps, and the full backup itself (`backup`). `dir` takes the rungs'
/// files. Best of `runs`, each rung's runs back to back.
pub fn climb(
    source: &Path,
    tables: &[(&str, &str, u64)],
    dir: &Path,
    runs: usize,
    bare: &mut dyn FnMut(),
    backup: &mut dyn FnMut(),
) -> Vec<Rung> {
    let mut rungs = vec![measure("parallel bare scan (the limit)", runs, bare)];
    let steps = [
        (Work::Batches, "+ into Arrow batches (quiver's scan)"),
        (Work::Hashes, "+ row hashes (xxh3)"),
        (
            Work::Parquet(None),
            "+ Parquet encoding, statistics, page index (no compression), written and fsynced",
        ),
        (Work::Parquet(Some(1)), "+ zstd level 1 (as BACKUP)"),
    ];
    for (work, step) in steps {
        let files = dir.join("ladder");
        rungs.push(measure(step, runs, &mut || {
            let _ = std::fs::remove_dir_all(&files);
            std::fs::create_dir_all(&files).unwrap();
            read_tables(source, tables, &files, work);
        }));
    }
    rungs.push(measure(
        "BACKUP (+ one scan, hash and encode thread per table, manifest, commit)",
        runs,
        backup,
    ));
    rungs
}

fn measure(step: &'static str, runs: usize, f: &mut dyn FnMut()) -> Rung {
    let (mut wall, mut cpu) = (Duration::MAX, Duration::MAX);
    for _ in 0..runs.max(1) {
        let (start, start_cpu) = (std::time::Instant::now(), cpu_time());
        f();
        wall = wall.min(start.elapsed());
        cpu = cpu.min(cpu_time().saturating_sub(start_cpu));
    }
    Rung {
        step,
        wall_s: wall.as_secs_f64(),
        cpu_s: cpu.as_secs_f64(),
    }
}

/// User + system time of every thread of this process so far.
fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// Reads `tables` as BACKUP does (aligned snapshots, one per thread, largest table first)
/// and does `work` with each one's batches.
fn read_tables(source: &Path, tables: &[(&str, &str, u64)], dir: &Path, work: Work) {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(tables.len())
        .max(1);
    let mut sorted = tables.to_vec();
    sorted.sort_by_key(|t| std::cmp::Reverse(t.2));
    let order: Vec<&str> = sorted.into_iter().map(|t| t.0).collect();
    let mut source = SqliteSource::open(source).unwrap();
    let snapshots = source.snapshots(threads).unwrap();
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for mut snapshot in snapshots {
            let (order, next) = (&order, &next);
            scope.spawn(move || {
                while let Some(table) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let schema = snapshot.describe(table).unwrap();
                    let file_schema = schema.file_schema(BackupKind::Full);
                    let mut writer = match work {
                        Work::Parquet(zstd_level) => {
                            let options = quiver::snapshot::WriteOptions {
                                zstd_level,
                                ..quiver::backup::data_file_options(&schema, None)
                            };
                            let path = dir.join(format!("{table}.parquet"));
                            Some(
                                SnapshotWriter::create(&path, file_schema.clone(), &options)
                                    .unwrap(),
                            )
                        }
                        _ => None,
                    };
                    snapshot
                        .scan(&schema, BATCH_ROWS, &mut |batch| {
                            if work != Work::Batches {
                                let hashed =
                                    quiver::diff::with_row_hashes(&batch, &file_schema).unwrap();
                                if let Some(writer) = &mut writer {
                                    writer.write(&hashed).unwrap();
                                }
                            }
                            Ok(())
                        })
                        .unwrap();
                    if let Some(writer) = writer {
                        writer.finish().unwrap();
                    }
                }
            });
        }
    });
}
