//! `cargo xtask fuzz`: builds the libFuzzer targets of `fuzz/` and runs them.
//!
//! The build passes the same coverage instrumentation as cargo-fuzz (`sancov-module` with
//! inline 8-bit counters, a PC table and comparison tracing), all stable `-C` flags, so it
//! needs neither cargo-fuzz nor a nightly toolchain. What it leaves out is AddressSanitizer
//! (`-Zsanitizer`, nightly only): the targets are safe Rust, and what they look for are
//! panics, which libfuzzer-sys turns into crashes.
//!
//! Inputs, per target:
//! - `fuzz/seeds/<target>/`: committed starting points (valid statements, a manifest, a data
//!   file), so a short run starts deep in the input format rather than at random bytes.
//! - `fuzz/regressions/<target>/`: every input that ever crashed a target, committed with
//!   its fix; each run replays them all first.
//! - `fuzz/corpus/<target>/`: what runs found (not committed).
//! - `fuzz/artifacts/<target>/`: crashing inputs a run found (not committed).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The targets of `fuzz/Cargo.toml`.
pub const TARGETS: &[&str] = &["grammar", "manifest", "snapshot_file", "restore_plan"];

/// Rust flags of an instrumented build: cargo-fuzz's, minus the sanitizer.
const RUSTFLAGS: &[&str] = &[
    "--cfg",
    "fuzzing",
    "-Cpasses=sancov-module",
    "-Cllvm-args=-sanitizer-coverage-level=4",
    "-Cllvm-args=-sanitizer-coverage-inline-8bit-counters",
    "-Cllvm-args=-sanitizer-coverage-pc-table",
    "-Cllvm-args=-sanitizer-coverage-trace-compares",
    "-Cdebug-assertions",
    "-Coverflow-checks",
];

/// Where one target's inputs live.
pub struct Inputs {
    /// Committed seeds (read only).
    pub seeds: PathBuf,
    /// Committed crashing inputs, replayed first (read only).
    pub regressions: PathBuf,
    /// Where a run adds the inputs it finds.
    pub corpus: PathBuf,
    /// Where a run writes an input that crashes the target.
    pub artifacts: PathBuf,
}

impl Inputs {
    /// The usual places under `fuzz/`.
    pub fn of(fuzz_dir: &Path, target: &str) -> Inputs {
        Inputs {
            seeds: fuzz_dir.join("seeds").join(target),
            regressions: fuzz_dir.join("regressions").join(target),
            corpus: fuzz_dir.join("corpus").join(target),
            artifacts: fuzz_dir.join("artifacts").join(target),
        }
    }
}

/// Builds every target, instrumented, in release mode; returns the directory of the binaries.
pub fn build(fuzz_dir: &Path) -> Result<PathBuf, String> {
    let target_dir = fuzz_dir.join("target");
    // An explicit target keeps the flags off build scripts and proc macros, which are not
    // linked with libFuzzer and could not resolve its coverage hooks.
    let host = host_triple()?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut command = Command::new(cargo);
    command
        .current_dir(fuzz_dir)
        .args(["build", "--release", "--bins", "--manifest-path"])
        .arg(fuzz_dir.join("Cargo.toml"))
        .args(["--target", &host, "--target-dir"])
        .arg(&target_dir)
        // Flags from the caller (or from an outer `cargo test`) would change the build.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env("CARGO_ENCODED_RUSTFLAGS", RUSTFLAGS.join("\x1f"));
    crate::run(&mut command)?;
    Ok(target_dir.join(host).join("release"))
}

/// The target triple rustc builds for by default.
fn host_triple() -> Result<String, String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| OsString::from("rustc"));
    let output = Command::new(&rustc)
        .arg("-vV")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", rustc.to_string_lossy()))?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(str::to_owned)
        .ok_or_else(|| "rustc -vV names no host triple".to_string())
}

/// Where libFuzzer's output goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// To the terminal, as it comes (a developer watching a run).
    Shown,
    /// Kept, and shown only if the run fails (its last lines, with the crash).
    OnFailure,
}

/// How long and how a target is fuzzed.
#[derive(Debug, Clone, Copy)]
pub struct Session {
    /// Fuzzing time, after the regressions are replayed.
    pub duration: Duration,
    /// libFuzzer's random seed; `None` for a new one each run. CI fixes it, so that a run
    /// there tries the same inputs each time (up to the time limit) and a new finding comes
    /// from a developer's longer run, not from an unrelated change's CI.
    pub seed: Option<u32>,
    /// Where libFuzzer's output goes.
    pub output: Output,
}

/// Replays `target`'s regressions, then fuzzes it from its seeds and corpus. Fails if any
/// input crashes it; the crashing input is then in `inputs.artifacts`.
pub fn run(bin_dir: &Path, target: &str, inputs: &Inputs, session: Session) -> Result<(), String> {
    let Session {
        duration,
        seed,
        output,
    } = session;
    let binary = bin_dir.join(target);
    let regressions = files_in(&inputs.regressions)?;
    if !regressions.is_empty() {
        // Given files, libFuzzer runs each once and stops.
        run_fuzzer(Command::new(&binary).args(&regressions), output)
            .map_err(|e| format!("{target}: a committed regression input crashes it again: {e}"))?;
    }
    for dir in [&inputs.corpus, &inputs.artifacts] {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let mut command = Command::new(&binary);
    command
        .arg(format!("-max_total_time={}", duration.as_secs().max(1)))
        .arg(format!("-artifact_prefix={}/", inputs.artifacts.display()))
        // Inputs past 64 KiB find nothing small ones do not, and slow a short run down.
        .arg("-max_len=65536")
        .arg("-print_final_stats=1")
        .args(seed.map(|seed| format!("-seed={seed}")))
        // New inputs go to the first directory; the seeds are only read.
        .arg(&inputs.corpus);
    if inputs.seeds.is_dir() {
        command.arg(&inputs.seeds);
    }
    run_fuzzer(&mut command, output).map_err(|e| {
        format!(
            "{target}: the fuzzer found a crash ({e}); the input is in {}; fix it and add the input to {}",
            inputs.artifacts.display(),
            inputs.regressions.display()
        )
    })
}

fn run_fuzzer(command: &mut Command, output: Output) -> Result<(), String> {
    if output == Output::Shown {
        return crate::run(command);
    }
    let out = command
        .output()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    // libFuzzer reports on stderr; the crash and its stack are at the end.
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    let tail = lines[lines.len().saturating_sub(60)..].join("\n");
    Err(format!("{command:?} failed: {}\n{tail}", out.status))
}

/// The files directly in `dir` (none if it does not exist), sorted.
fn files_in(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
            .path();
        if path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CI runs every target briefly: the instrumented build must work, the committed
    /// regressions must not crash again, and a short run from the seeds must find nothing.
    #[test]
    fn every_fuzz_target_builds_replays_its_regressions_and_runs_briefly() {
        let fuzz_dir = crate::workspace_root().join("fuzz");
        let bin_dir = build(&fuzz_dir).unwrap();
        let scratch = std::env::temp_dir().join(format!("quiver-fuzz-{}", std::process::id()));
        for target in TARGETS {
            let committed = Inputs::of(&fuzz_dir, target);
            assert!(
                files_in(&committed.seeds).unwrap().len() >= 2,
                "{target} has no seeds in {}",
                committed.seeds.display()
            );
            // This run's findings stay out of the developer's corpus.
            let inputs = Inputs {
                corpus: scratch.join(target).join("corpus"),
                artifacts: scratch.join(target).join("artifacts"),
                ..committed
            };
            let session = Session {
                duration: Duration::from_secs(10),
                seed: Some(1),
                output: Output::OnFailure,
            };
            if let Err(e) = run(&bin_dir, target, &inputs, session) {
                panic!("{e}");
            }
        }
        let _ = std::fs::remove_dir_all(&scratch);
    }
}
