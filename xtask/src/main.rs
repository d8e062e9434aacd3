//! Project automation, run as `cargo xtask <task>` (rust-analyzer's xtask pattern: plain Rust,
//! no extra tools to install).
//!
//! Tasks:
//! - `ci`: format check, dependency rules, clippy with warnings denied, the test suite.
//! - `deps`: the dependency rules ([`deps`]) over `cargo metadata`; also a test of xtask's.
//! - `bench [--rows N,N,...] [--runs R] [--postgres | --peers | --limits]`: the benchmarks in `benches/`,
//!   release build; results in `target/bench/results.{json,md}` (`--postgres`: on a
//!   PostgreSQL server, in `results-postgres.{json,md}`; `--peers`: beside sqlite3 .backup,
//!   VACUUM INTO, restic and Litestream, in `results-peers.{json,md}`; `--limits`: only the
//!   two stricter ratios and the backup's cost ladder, printed).
//! - `fuzz <target>|all [--seconds N] [--seed S] [--quiet]`: build the libFuzzer targets of
//!   `fuzz/` (stable toolchain, no cargo-fuzz needed), replay their committed regressions,
//!   and fuzz for N seconds each (default 60); `--quiet` shows libFuzzer's output only on a
//!   crash. See [`fuzz`].

mod deps;
mod fuzz;

use std::process::{Command, ExitCode};
use std::time::Duration;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("fuzz") => fuzz(&args[1..]),
        Some("bench") => bench(&args[1..]),
        Some("deps") => check_deps(),
        _ => Err(format!(
            "usage: cargo xtask <task>\n\ntasks:\n  ci                          fmt check, clippy -D warnings, dependency rules, tests\n  deps                        the dependency rules (docs/architecture.md) over cargo metadata\n  bench [--rows N,N] [--runs R] [--postgres | --peers | --limits]\n                              benchmarks vs their baselines (release build);\n                              --postgres: on a PostgreSQL server, vs COPY, pg_dump, pg_restore\n                              --peers: beside sqlite3 .backup, VACUUM INTO, restic, Litestream\n                              --limits: only the stricter ratios and the backup cost ladder\n  fuzz <target>|all [--seconds N] [--seed S] [--quiet]\n                              fuzz a target, or each (targets: {})",
            fuzz::TARGETS.join(", ")
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

fn ci() -> Result<(), String> {
    run(Command::new("cargo").args(["fmt", "--all", "--", "--check"]))?;
    check_deps()?;
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

/// The dependency rules of [`deps`]: fails naming each break.
fn check_deps() -> Result<(), String> {
    let found = deps::violations(&deps::workspace_graph()?);
    if found.is_empty() {
        return Ok(());
    }
    Err(format!(
        "dependency rules broken:\n  {}",
        found.join("\n  ")
    ))
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
    let targets: Vec<&str> = match args.first().map(String::as_str) {
        Some("all") => fuzz::TARGETS.to_vec(),
        Some(target) if fuzz::TARGETS.contains(&target) => vec![target],
        _ => {
            return Err(format!(
                "fuzz: name a target or `all`: {}",
                fuzz::TARGETS.join(", ")
            ));
        }
    };
    let mut session = fuzz::Session {
        duration: Duration::from_secs(60),
        seed: None,
        output: fuzz::Output::Shown,
    };
    let mut rest = args[1..].iter();
    while let Some(flag) = rest.next() {
        let mut number = |what: &str| {
            rest.next()
                .and_then(|n| n.parse::<u64>().ok())
                .ok_or(format!("fuzz: {what} takes a whole number"))
        };
        match flag.as_str() {
            "--seconds" => session.duration = Duration::from_secs(number("--seconds")?),
            "--seed" => {
                session.seed = Some(
                    u32::try_from(number("--seed")?).map_err(|_| "fuzz: --seed is too large")?,
                )
            }
            "--quiet" => session.output = fuzz::Output::OnFailure,
            other => return Err(format!("fuzz: unexpected argument `{other}`")),
        }
    }
    let fuzz_dir = workspace_root().join("fuzz");
    let bin_dir = fuzz::build(&fuzz_dir)?;
    for target in targets {
        let inputs = fuzz::Inputs::of(&fuzz_dir, target);
        fuzz::run(&bin_dir, target, &inputs, session)?;
    }
    Ok(())
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
