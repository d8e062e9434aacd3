//! Project automation, run as `cargo xtask <task>` (rust-analyzer's xtask pattern: plain Rust,
//! no extra tools to install).
//!
//! Tasks:
//! - `ci`: format check, clippy with warnings denied, the test suite.
//! - `bench [--rows N,N,...] [--runs R]`: the benchmarks in `benches/`, release build;
//!   results in `target/bench/results.{json,md}`.
//! - `fuzz <target> [--seconds N]`: run a cargo-fuzz target from `fuzz/` for N seconds
//!   (default 60). Needs `cargo install cargo-fuzz`; works on a stable toolchain through
//!   `RUSTC_BOOTSTRAP=1`, since the sanitizer flags it passes are nightly-only.

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("fuzz") => fuzz(&args[1..]),
        Some("bench") => bench(&args[1..]),
        _ => Err(format!(
            "usage: cargo xtask <task>\n\ntasks:\n  ci                          fmt check, clippy -D warnings, tests\n  bench [--rows N,N] [--runs R] benchmarks vs their baselines (release build)\n  fuzz <target> [--seconds N] run a fuzz target (targets: {})",
            FUZZ_TARGETS.join(", ")
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

const FUZZ_TARGETS: &[&str] = &["grammar", "manifest", "snapshot_file"];

fn ci() -> Result<(), String> {
    run(Command::new("cargo").args(["fmt", "--all", "--", "--check"]))?;
    run(Command::new("cargo").args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    run(Command::new("cargo").args(["test", "--workspace"]))
}

fn bench(args: &[String]) -> Result<(), String> {
    run(Command::new("cargo")
        .args([
            "run",
            "--release",
            "--quiet",
            "--package",
            "quiver-bench",
            "--",
        ])
        .args(args))
}

fn fuzz(args: &[String]) -> Result<(), String> {
    let target = args
        .first()
        .filter(|t| FUZZ_TARGETS.contains(&t.as_str()))
        .ok_or_else(|| format!("fuzz: name a target: {}", FUZZ_TARGETS.join(", ")))?;
    let seconds = match args.get(1).map(String::as_str) {
        None => 60,
        Some("--seconds") => args
            .get(2)
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or("fuzz: --seconds takes a whole number")?,
        Some(other) => return Err(format!("fuzz: unexpected argument `{other}`")),
    };
    run(Command::new("cargo")
        .current_dir(workspace_root().join("fuzz"))
        .env("RUSTC_BOOTSTRAP", "1")
        .args([
            "fuzz",
            "run",
            target,
            "--",
            &format!("-max_total_time={seconds}"),
        ]))
}

fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_path_buf()
}

fn run(command: &mut Command) -> Result<(), String> {
    let status = command
        .current_dir(
            command
                .get_current_dir()
                .map(ToOwned::to_owned)
                .unwrap_or_else(workspace_root),
        )
        .status()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{command:?} failed: {status}"))
    }
}
