//! `quiver`: run backup-collection SQL against a SQLite database.

mod demo;
mod print;
mod progress;
mod shell;

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use quiver::{Engine, EngineOptions};

/// Backup collections for SQLite: named sets of tables, backed up together and restored on
/// their own.
///
/// Statements (YDB syntax; everything else is run by SQLite as it is):
///
///   CREATE BACKUP COLLECTION name ( TABLE t [, TABLE t ...] )
///       WITH ( STORAGE = 'cluster', INCREMENTAL_BACKUP_ENABLED = 'true' );
///   BACKUP name;                       full backup: one consistent snapshot of all its tables
///   BACKUP name INCREMENTAL;           only the rows inserted, updated, deleted since its latest backup
///   RESTORE name [AT 'backup-id'];     recreate its tables as of the latest (or that) backup,
///                                      full or incremental (its chain is merged)
///   ALTER BACKUP COLLECTION name ADD TABLE t | DROP TABLE t | SET (k = 'v') | RESET (k);
///   DROP BACKUP COLLECTION name;       removes the collection and all its backups
///
/// Backups go to a repository beside the database (<db>.quiver/) unless --repo says otherwise.
/// With neither SQL nor --file, quiver reads a script from standard input, or opens an
/// interactive shell when standard input is a terminal.
#[derive(Debug, Parser)]
#[command(
    name = "quiver",
    version,
    verbatim_doc_comment,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    /// The SQLite database file (created if missing).
    #[arg(long, value_name = "PATH", global = true)]
    db: Option<PathBuf>,

    /// The backup repository directory [default: <db>.quiver]
    #[arg(long, value_name = "DIR", global = true)]
    repo: Option<PathBuf>,

    /// Run the statements in this file.
    #[arg(short, long, value_name = "FILE", conflicts_with = "sql")]
    file: Option<PathBuf>,

    /// Print each statement before its result.
    #[arg(long)]
    echo: bool,

    /// No progress display on standard error.
    #[arg(short, long, global = true)]
    quiet: bool,

    /// Statements to run, separated by `;`.
    #[arg(value_name = "SQL")]
    sql: Option<String>,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the demo: three services' tables and collections in a fresh database; back them
    /// up, lose one service's tables, restore them, and show that they match.
    Demo,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprint!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the command; the error is the text to print, already rendered.
fn run(cli: Cli) -> Result<(), String> {
    if let Some(Command::Demo) = cli.command {
        return demo::run(cli.db, cli.repo, cli.quiet);
    }
    let Some(db) = cli.db else {
        return Err("error: --db <PATH> is required: the SQLite database to work on\n  = hint: quiver --db app.db \"BACKUP my_collection\"; see quiver --help\n".into());
    };
    let mut engine = open(db, cli.repo, cli.quiet)?;
    let script = match (cli.sql, cli.file) {
        (Some(sql), _) => sql,
        (None, Some(file)) => std::fs::read_to_string(&file)
            .map_err(|e| format!("error: cannot read {}: {e}\n", file.display()))?,
        (None, None) if std::io::stdin().is_terminal() => return shell::run(&mut engine),
        (None, None) => {
            let mut script = String::new();
            std::io::stdin()
                .read_to_string(&mut script)
                .map_err(|e| format!("error: cannot read standard input: {e}\n"))?;
            script
        }
    };
    print::run_script(&mut engine, &script, cli.echo)
}

/// Opens the engine, with a progress display unless `quiet`.
pub(crate) fn open(db: PathBuf, repo: Option<PathBuf>, quiet: bool) -> Result<Engine, String> {
    let options = EngineOptions {
        repository: repo,
        ..EngineOptions::default()
    };
    let mut engine = Engine::open_with(db, options).map_err(|e| e.render())?;
    if !quiet && std::io::stderr().is_terminal() {
        engine.on_progress(progress::Display::default().into_callback());
    }
    Ok(engine)
}
