//! Timing and memory measurement.

use std::time::{Duration, Instant};

/// Runs `f` `runs` times and returns the fastest run (the least disturbed by the machine)
/// with the last result.
pub fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    best_of_prepared(runs, || (), |()| f())
}

/// Like [`best_of`], but each run first calls `prepare`, untimed, and times only `f` on
/// what it returned.
pub fn best_of_prepared<P, T>(
    runs: usize,
    mut prepare: impl FnMut() -> P,
    mut f: impl FnMut(P) -> T,
) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs.max(1) {
        let prepared = prepare();
        let start = Instant::now();
        let value = f(prepared);
        best = best.min(start.elapsed());
        last = Some(value);
    }
    (best, last.expect("at least one run"))
}

/// This process's peak resident set size in bytes (VmHWM), where /proc has it.
pub fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The peak RSS a child run of this benchmark binary with `args` prints on its stdout (the
/// child modes measure one operation alone, in a process of its own).
pub fn child_peak_rss(args: &[&str]) -> Option<u64> {
    let output = std::process::Command::new(std::env::current_exe().ok()?)
        .args(args)
        .output()
        .ok()?;
    String::from_utf8(output.stdout).ok()?.trim().parse().ok()
}
